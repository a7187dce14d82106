"""Transports: the contracts between the call core (client.py, server.py) and a transport with
its binding (native.py over memory.py or zmq.py).

Mirrors packages/runtime/src/call.ts. Everything here runs on one event loop: a transport calls
its sinks on the loop thread, and expects to be called on it.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import IpcError

_log = logging.getLogger("protoipc")

__all__ = [
    "CallHandle",
    "CallSink",
    "ClientTransport",
    "Dispatcher",
    "IncomingCall",
    "OutgoingCall",
    "ServerTransport",
]


class CallSink(Protocol):
    """Receives the events of one client call from a transport, until ``on_result`` or
    ``on_error``."""

    def on_update(self, message: Message) -> None:
        """One progress update or stream item, in order."""

    def on_result(self, message: Message | None) -> None:
        """The final result (``None`` at the end of a server stream). Ends the call."""

    def on_error(self, error: IpcError) -> None:
        """The call failed. Ends the call."""


class CallHandle(Protocol):
    """What a transport returns for a started call."""

    def cancel(self, reason: IpcError) -> None:
        """The caller gave up (cancellation or deadline): the transport tells the server (whose
        handler is cancelled) and forgets the call. The sink is not called again."""


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    """One call a client starts on a transport."""

    service: ServiceDescriptor
    """The service of ``method`` (its name and schema hash go into the native hello)."""
    method: MethodDescriptor[Any, Any, Any]
    message: Message
    deadline_unix_ms: int
    """Absolute deadline, milliseconds since the Unix epoch; enforced by the client core."""
    metadata: Mapping[str, str]
    """Request metadata; keys lowercase."""


class ClientTransport(abc.ABC):
    """The client side of a transport with its binding: starts calls on one connection.

    Created by :func:`protoipc.zmq.create_zmq_transport` or
    :func:`protoipc.memory.create_in_memory_transport`. The creator owns it and closes it with
    :meth:`aclose` (or ``async with``).
    """

    @abc.abstractmethod
    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        """Starts one call; ``sink`` gets its events until exactly one of ``on_result`` /
        ``on_error``, unless the call is cancelled through the returned handle first. May call
        ``sink.on_error`` before returning (closed transport, frame too large). Call it on the
        event loop's thread."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Fails every pending call with ``Code.UNAVAILABLE`` and releases the connection.
        Idempotent."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class IncomingCall(Protocol):
    """What a server transport knows of one incoming call, and where the dispatcher reports its
    updates and outcome."""

    @property
    def method(self) -> MethodDescriptor[Any, Any, Any]:
        """The method called."""

    @property
    def deadline_unix_ms(self) -> int:
        """Absolute deadline, milliseconds since the Unix epoch."""

    @property
    def metadata(self) -> Mapping[str, str]:
        """Request metadata (headers)."""

    @property
    def peer(self) -> str:
        """An opaque description of the caller, e.g. a ZeroMQ routing id in hex."""

    @property
    def cancelled(self) -> bool:
        """Whether the call ended before the handler answered (cancel, deadline, peer gone,
        server closed)."""

    @property
    def cancel_reason(self) -> IpcError | None:
        """Why the call was cancelled; ``None`` while it was not."""

    def on_abort(self, callback: Callable[[IpcError], None]) -> None:
        """Registers ``callback`` to run once, on the loop, when the call is cancelled; at once
        when it is already."""

    async def update(self, message: Message) -> None:
        """Sends one progress update or stream item; returns once queued (waits while the
        transport's writer queue is full).

        :raises IpcError: ``Code.CANCELED`` (or the cancel reason) once the call has ended
        """

    def result(self, message: Message | None) -> None:
        """Answers with the final result, or ``None`` at the end of a server stream. A no-op
        once the call has ended."""

    def error(self, error: IpcError) -> None:
        """Answers with an error. A no-op once the call has ended."""


class AbortState:
    """The cancellation half of an incoming call, shared by the server transports' call classes:
    the first abort reason, and the ``on_abort`` callbacks that run once with it.

    A subclass sets ``_reason`` and ``_callbacks`` (``None`` and ``[]``) at construction and
    calls :meth:`_notify_abort` from its own ``abort`` once it has ended the
    call on its wire.
    """

    __slots__ = ("_reason", "_callbacks")

    _reason: IpcError | None
    _callbacks: list[Callable[[IpcError], None]]

    @property
    def cancelled(self) -> bool:
        """Whether the call ended before the handler answered."""
        return self._reason is not None

    @property
    def cancel_reason(self) -> IpcError | None:
        """Why the call was cancelled; ``None`` while it was not."""
        return self._reason

    def on_abort(self, callback: Callable[[IpcError], None]) -> None:
        """Registers ``callback`` to run once when the call is aborted; at once when it is
        already."""
        if self._reason is not None:
            callback(self._reason)
        else:
            self._callbacks.append(callback)

    def _notify_abort(self, reason: IpcError, what: str) -> bool:
        """Records ``reason`` and runs the callbacks; ``False`` (and nothing runs) when the call
        was aborted already. A failing callback is logged (naming ``what``) and does not stop the
        others."""
        if self._reason is not None:
            return False
        self._reason = reason
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            try:
                cb(reason)
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                _log.exception("protoipc: an abort callback of %s failed", what)
        return True


class Dispatcher(Protocol):
    """What a server transport needs from the server: method lookup and handler invocation."""

    def lookup(self, path: str) -> MethodDescriptor[Any, Any, Any] | None:
        """The registered method with the given path, ``"/pkg.Service/Method"``."""

    def timeout_ms(self, method: MethodDescriptor[Any, Any, Any]) -> int:
        """The deadline a request for ``method`` gets when it carries none, in milliseconds:
        the method's ``timeout_ms``, else its service's ``default_timeout_ms``."""

    def schema_hashes(self) -> Mapping[str, str]:
        """Hex schema hashes of the registered services, by full name (sent in the hello)."""

    def invoke(self, request: Message, call: IncomingCall) -> None:
        """Starts the handler of ``call.method`` for one decoded request and reports the outcome
        to ``call``. Never raises: every failure goes to ``call.error``."""


class ServerTransport(abc.ABC):
    """The server side of a transport with its binding: accepts calls and hands them to a
    dispatcher. The server that listens on it owns it (``Server.close`` closes it)."""

    @abc.abstractmethod
    async def listen(self, dispatcher: Dispatcher) -> None:
        """Starts accepting calls (binds); returns once bound.

        :raises IpcError: ``Code.UNAVAILABLE`` when the endpoint cannot be bound
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Stops accepting, cancels running handlers with ``Code.UNAVAILABLE``, releases
        sockets. Idempotent."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
