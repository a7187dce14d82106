"""The native binding's envelope codec: one ``protoipc.v1.Envelope`` per frame.

A thin layer over protoc's generated ``envelope_pb2`` (proto/protoipc/v1/envelope.proto) that
checks what the generated code does not: integers below 2^53 (so the TypeScript runtime can read
them as doubles), a frame kind other than ``FRAME_KIND_UNSPECIFIED``, and one error type
(:class:`~protoipc.errors.IpcError`) for every malformed frame. Bytes equal those of the
TypeScript codec (packages/runtime/src/envelope-codec.ts); test/golden/envelope-vectors.json pins
them for both runtimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, cast

from google.protobuf.message import DecodeError

from protoipc.errors import Code, IpcError
from protoipc.v1 import envelope_pb2

__all__ = [
    "MAX_SAFE_INTEGER",
    "Envelope",
    "FrameKind",
    "decode_envelope",
    "encode_envelope",
    "error_to_status",
    "peek_request_id",
    "status_to_error",
]

Envelope = envelope_pb2.Envelope
"""One decoded frame (the generated message class)."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest request id, deadline or sequence number a sender may use (envelope.proto)."""


class FrameKind:
    """What an envelope carries: the values of ``protoipc.v1.FrameKind`` without the prefix
    (``FrameKind.REQUEST == envelope_pb2.FRAME_KIND_REQUEST``), typed as the generated enum so
    they compare with ``Envelope.kind``."""

    UNSPECIFIED: Final = envelope_pb2.FRAME_KIND_UNSPECIFIED
    REQUEST: Final = envelope_pb2.FRAME_KIND_REQUEST
    RESPONSE: Final = envelope_pb2.FRAME_KIND_RESPONSE
    ERROR: Final = envelope_pb2.FRAME_KIND_ERROR
    PROGRESS: Final = envelope_pb2.FRAME_KIND_PROGRESS
    STREAM_ITEM: Final = envelope_pb2.FRAME_KIND_STREAM_ITEM
    END: Final = envelope_pb2.FRAME_KIND_END
    CANCEL: Final = envelope_pb2.FRAME_KIND_CANCEL
    HEARTBEAT: Final = envelope_pb2.FRAME_KIND_HEARTBEAT
    HELLO: Final = envelope_pb2.FRAME_KIND_HELLO

    @staticmethod
    def name_of(kind: int) -> str:
        """``"REQUEST"`` for ``FrameKind.REQUEST``; the number as text for an unknown kind."""
        try:
            return envelope_pb2.FrameKind.Name(kind).removeprefix("FRAME_KIND_")
        except ValueError:
            return str(kind)

    @staticmethod
    def from_name(name: str) -> envelope_pb2.FrameKind:
        """The kind named ``name`` (``"REQUEST"``).

        :raises ValueError: when there is no such kind
        """
        return cast(envelope_pb2.FrameKind, envelope_pb2.FrameKind.Value(f"FRAME_KIND_{name}"))


def _check_int(name: str, value: int) -> None:
    if not 0 <= value <= MAX_SAFE_INTEGER:
        raise IpcError(f"envelope {name} {value} is not an integer in [0, 2^53)", Code.INTERNAL)


def encode_envelope(
    kind: envelope_pb2.FrameKind,
    *,
    request_id: int = 0,
    method: str = "",
    deadline_unix_ms: int = 0,
    sequence: int = 0,
    payload: bytes = b"",
    error: envelope_pb2.Status | None = None,
    hello: envelope_pb2.Hello | None = None,
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """Encodes one envelope. Fields left at their defaults are omitted from the wire.

    Map entries (``metadata``, ``hello.schema_hashes``) are written in key order, deterministic
    across runs and runtimes.

    :raises IpcError: ``Code.INTERNAL`` when an integer field is negative or >= 2^53
    """
    _check_int("request_id", request_id)
    _check_int("deadline_unix_ms", deadline_unix_ms)
    _check_int("sequence", sequence)
    env = Envelope(
        request_id=request_id,
        kind=kind,
        method=method,
        deadline_unix_ms=deadline_unix_ms,
        sequence=sequence,
        payload=payload,
        error=error,
        hello=hello,
        metadata=metadata,
    )
    maps = bool(metadata) or hello is not None
    return env.SerializeToString(deterministic=maps)


def _malformed(why: str) -> IpcError:
    return IpcError(f"malformed envelope: {why}", Code.INVALID_ARGUMENT)


def _decode_reason(e: DecodeError) -> str:
    # upb says "Error parsing message with type 'protoipc.v1.Envelope': wire format was corrupt".
    text = str(e)
    _, sep, reason = text.partition("': ")
    reason = reason if sep else text
    return reason[:1].lower() + reason[1:] if reason else "cannot parse"


def decode_envelope(frame: bytes) -> envelope_pb2.Envelope:
    """Decodes one envelope; unknown fields are skipped, so a newer peer's additions pass.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` (message ``malformed envelope: ...``) when the
        frame is not a well-formed Envelope, an integer is >= 2^53, or the kind is
        ``FRAME_KIND_UNSPECIFIED``
    """
    env = Envelope()
    try:
        env.ParseFromString(frame)
    except DecodeError as e:
        raise _malformed(_decode_reason(e)) from e
    if env.kind == envelope_pb2.FRAME_KIND_UNSPECIFIED:
        raise _malformed("frame kind is unspecified")
    if (
        env.request_id > MAX_SAFE_INTEGER
        or env.deadline_unix_ms > MAX_SAFE_INTEGER
        or env.sequence > MAX_SAFE_INTEGER
    ):
        raise _malformed("varint exceeds 2^53")
    return env


def peek_request_id(head: bytes) -> int:
    """Reads the request id of a frame that will not be decoded (e.g. one refused for its size)
    from its first bytes: field 1, written first by every conformant encoder.

    :returns: the id, or 0 when the head does not start with it
    """
    if len(head) < 2 or head[0] != 0x08:
        return 0
    value = 0
    shift = 0
    for b in head[1:11]:
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value if value <= MAX_SAFE_INTEGER else 0
        shift += 7
    return 0


def error_to_status(err: IpcError) -> envelope_pb2.Status:
    """The wire form of ``err``: its code, raw message and details."""
    return envelope_pb2.Status(code=int(err.code), message=err.raw_message, details=err.details)


def status_to_error(status: envelope_pb2.Status | None) -> IpcError:
    """The IpcError of a wire status; a code outside 1..16 becomes ``Code.UNKNOWN``."""
    if status is None:
        return IpcError("error frame without a status", Code.INTERNAL)
    code = Code(status.code) if 1 <= status.code <= 16 else Code.UNKNOWN
    return IpcError(status.message, code, details=list(status.details))
