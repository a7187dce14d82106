"""Router frames (proto/protoipc/v1/router.proto) and the peek at a native envelope the router
needs to route a call; mirrors packages/router/src/router-frames.ts."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from protoipc.envelope import FrameKind, encode_envelope
from protoipc.errors import Code, IpcError
from protoipc.v1 import envelope_pb2, router_pb2

__all__ = [
    "DEFAULT_ROUTER_HEARTBEAT_MS",
    "HEARTBEAT_FRAME",
    "HEARTBEAT_LIVENESS",
    "ROUTER_PROTOCOL_VERSION",
    "EnvelopeHead",
    "call_frame",
    "decode_router_frame",
    "ends_call",
    "error_envelope",
    "peek_envelope_head",
    "service_of_path",
]

DEFAULT_ROUTER_HEARTBEAT_MS = 5_000
"""Default heartbeat interval of the router, in milliseconds (AI Hydra's and MDP's)."""

HEARTBEAT_LIVENESS = 3
"""Heartbeats a peer may miss before it is expired (RFC 6/PPP)."""

ROUTER_PROTOCOL_VERSION = 1
"""Version of the router protocol (router.proto)."""

HEARTBEAT_FRAME = router_pb2.RouterFrame(heartbeat=router_pb2.RouterHeartbeat()).SerializeToString()
"""The heartbeat frame (the same bytes every time)."""


def decode_router_frame(data: bytes) -> router_pb2.RouterFrame:
    """Decodes one router frame.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when it is not a RouterFrame or carries nothing
    """
    frame = router_pb2.RouterFrame()
    try:
        frame.ParseFromString(data)
    except DecodeError as e:
        raise IpcError(
            f"malformed router frame of {len(data)} bytes: {e}", Code.INVALID_ARGUMENT
        ) from e
    if frame.WhichOneof("frame") is None:
        raise IpcError(f"router frame of {len(data)} bytes carries no frame", Code.INVALID_ARGUMENT)
    return frame


def call_frame(envelope: bytes, client: bytes = b"", service: str = "") -> bytes:
    """``RouterFrame{call: RouterCall{service, client, envelope}}``."""
    return router_pb2.RouterFrame(
        call=router_pb2.RouterCall(service=service, client=client, envelope=envelope)
    ).SerializeToString()


@dataclass(frozen=True, slots=True)
class EnvelopeHead:
    """What the router reads of a native envelope."""

    request_id: int
    kind: int
    method: str


def peek_envelope_head(data: bytes) -> EnvelopeHead:
    """The request id, kind and method of a native envelope.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when it is malformed or its kind is unspecified
    """
    env = envelope_pb2.Envelope()
    try:
        env.ParseFromString(data)
    except DecodeError as e:
        raise IpcError(
            f"malformed envelope of {len(data)} bytes in a router call: {e}", Code.INVALID_ARGUMENT
        ) from e
    if env.kind == FrameKind.UNSPECIFIED:
        raise IpcError(
            f"malformed envelope of {len(data)} bytes in a router call: kind is unspecified",
            Code.INVALID_ARGUMENT,
        )
    return EnvelopeHead(env.request_id, env.kind, env.method)


def service_of_path(path: str) -> str | None:
    """The service of ``"/pkg.Service/Method"``; ``None`` when it is not a method path."""
    slash = path.rfind("/")
    if not path.startswith("/") or slash <= 1:
        return None
    return path[1:slash]


def error_envelope(request_id: int, code: Code, message: str) -> bytes:
    """A native FRAME_KIND_ERROR envelope for call ``request_id``."""
    return encode_envelope(
        FrameKind.ERROR,
        request_id=request_id,
        error=envelope_pb2.Status(code=int(code), message=message),
    )


def ends_call(kind: int) -> bool:
    """Whether a frame of this kind ends its call (result, error, end of stream)."""
    return kind in (FrameKind.RESPONSE, FrameKind.ERROR, FrameKind.END)
