"""Errors: the one exception type every protoipc call raises, and its gRPC-numbered codes.

Mirrors packages/runtime/src/error.ts: the same codes, the same ``[code] message`` text, the same
``google.protobuf.Any`` details, so an error means the same thing in both languages.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping, Sequence
from typing import TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import Message

__all__ = ["Code", "IpcError", "code_to_string"]

M = TypeVar("M", bound=Message)


class Code(enum.IntEnum):
    """Status codes, numbered like gRPC's (``google.rpc.Code``).

    ``0`` (OK) is never an error and has no member. A code received from the wire outside
    1..16 becomes :attr:`UNKNOWN`.
    """

    CANCELED = 1
    """The call was cancelled, usually by the caller (task cancellation, ``call.cancel()``)."""
    UNKNOWN = 2
    """An error with no better code, e.g. a handler raised something that is not an IpcError."""
    INVALID_ARGUMENT = 3
    """The request is invalid, whatever the state of the server (also: a malformed frame)."""
    DEADLINE_EXCEEDED = 4
    """The deadline passed before the call completed."""
    NOT_FOUND = 5
    """A requested entity was not found."""
    ALREADY_EXISTS = 6
    """The entity a client tried to create exists already."""
    PERMISSION_DENIED = 7
    """The caller may not do this."""
    RESOURCE_EXHAUSTED = 8
    """A limit was hit: frame size, queue length, calls in flight."""
    FAILED_PRECONDITION = 9
    """The system is not in a state in which the call can run."""
    ABORTED = 10
    """The call was aborted, e.g. by a concurrency conflict."""
    OUT_OF_RANGE = 11
    """A value is past the valid range."""
    UNIMPLEMENTED = 12
    """The server does not implement the method."""
    INTERNAL = 13
    """An invariant of the runtime or the server broke."""
    UNAVAILABLE = 14
    """The peer cannot be reached: not running, died, or stopped answering heartbeats."""
    DATA_LOSS = 15
    """Data was lost or corrupted: a gap in a progress or stream sequence."""
    UNAUTHENTICATED = 16
    """The caller did not prove who it is."""


def code_to_string(code: int) -> str:
    """The lowercase snake_case name of a code, as gRPC prints it: ``deadline_exceeded``.

    A number that is not a :class:`Code` gives ``code_<n>``.
    """
    try:
        return Code(code).name.lower()
    except ValueError:
        return f"code_{code}"


def _to_any(detail: Message | any_pb2.Any) -> any_pb2.Any:
    if isinstance(detail, any_pb2.Any):
        return detail
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


class IpcError(Exception):
    """The one error type protoipc calls raise, on every binding: a :class:`Code`, a message and
    typed details.

    ``str(err)`` is ``"[code_name] raw_message"`` (``"[deadline_exceeded] deadline of 100 ms
    exceeded calling /pkg.Svc/M"``); :attr:`raw_message` is what crosses the wire.

    :param message: developer-facing text, lowercase, naming the limit and the value where there
        is one
    :param code: the status code; :attr:`Code.UNKNOWN` when omitted
    :param details: typed details, messages (packed into ``google.protobuf.Any``) or ``Any``
    :param metadata: response metadata the peer sent with the error, if any
    """

    code: Code
    """The status code."""
    raw_message: str
    """The message without the ``[code]`` prefix; this is what crosses the wire."""
    details: list[any_pb2.Any]
    """Typed details, packed; read them with :meth:`find_details`."""
    metadata: Mapping[str, str]
    """Response metadata, if the peer sent any; empty otherwise."""

    def __init__(
        self,
        message: str,
        code: Code = Code.UNKNOWN,
        *,
        details: Sequence[Message | any_pb2.Any] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"[{code_to_string(code)}] {message}")
        self.code = code
        self.raw_message = message
        self.details = [_to_any(d) for d in details]
        self.metadata = dict(metadata) if metadata is not None else {}

    def find_details(self, message_type: type[M]) -> list[M]:
        """Returns the details of type ``message_type``, unpacked, in order."""
        out: list[M] = []
        full_name = message_type.DESCRIPTOR.full_name
        for packed in self.details:
            if packed.TypeName() == full_name:
                value = message_type()
                if packed.Unpack(value):
                    out.append(value)
        return out

    @staticmethod
    def from_exception(exc: BaseException, fallback: Code = Code.UNKNOWN) -> IpcError:
        """Normalises anything raised into an IpcError.

        An IpcError is returned as is; :class:`asyncio.CancelledError` becomes
        :attr:`Code.CANCELED`, :class:`TimeoutError` :attr:`Code.DEADLINE_EXCEEDED`; anything
        else ``fallback`` with ``str(exc)`` as the message (the exception's type name when that is
        empty) and ``exc`` as ``__cause__``.
        """
        if isinstance(exc, IpcError):
            return exc
        if isinstance(exc, asyncio.CancelledError):
            err = IpcError("operation was cancelled", Code.CANCELED)
        elif isinstance(exc, TimeoutError):
            err = IpcError("operation timed out", Code.DEADLINE_EXCEEDED)
        else:
            err = IpcError(str(exc) or type(exc).__name__, fallback)
        err.__cause__ = exc
        return err

