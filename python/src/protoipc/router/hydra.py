"""The Hydra binding in Python: a generated client or server (a service with
``binding: BINDING_HYDRA``, such as ``hydra.v1.SimulationService``) speaking AI Hydra's exact JSON
envelope (PROTOCOLS.md §2) to a Hydra router, Hydra's own or protoipc's ``Router(protocol=
"hydra")`` (mirrors packages/router/src/hydra-transport.ts, byte for byte).

Mapping: a method's ``wire_name`` is the elem of its request and its response message's
``wire_name`` the elem of the reply; ``data`` is the message as Hydra JSON (hydra_json.py). Each
call carries a fresh ``request_id``; a reply is matched by it when the router keeps it (protoipc's
router), else, as Hydra's router strips it, by elem: the oldest pending call waiting for that
elem gets it. An ``error`` elem fails the call it answers with an :class:`IpcError` whose code is
named by ``error_type`` (``Code.UNKNOWN`` when it names none). Only unary methods exist on this
wire. Every peer registers by sending ``heartbeat`` at once and then every interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import zmq
import zmq.asyncio
from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError, code_to_string
from protoipc.router.frames import DEFAULT_ROUTER_HEARTBEAT_MS
from protoipc.router.hydra_json import (
    HydraIncoming,
    HydraSender,
    encode_hydra_envelope,
    message_from_hydra_json,
    message_to_hydra_json,
    message_wire_name,
    parse_hydra_incoming,
)
from protoipc.transport import (
    AbortState,
    CallHandle,
    CallSink,
    ClientTransport,
    Dispatcher,
    OutgoingCall,
    ServerTransport,
)

__all__ = [
    "HydraClientTransport",
    "HydraServerTransport",
    "create_hydra_client_transport",
    "create_hydra_server_transport",
]

_log = logging.getLogger("protoipc.router.hydra")

M = TypeVar("M", bound=Message)


def _default_client_id(sender: HydraSender) -> str:
    """Hydra MQClient's default client_id: ``"<sender>-<random 1000..9999>"``."""
    return f"{sender}-{random.randint(1000, 9999)}"  # noqa: S311 - a name, not a secret


class _HydraSocket:
    """The Hydra JSON socket of one peer: a DEALER whose routing id is the ``client_id``,
    heartbeats, one writer task, one reader task. Create it on the running loop."""

    def __init__(
        self,
        sender: HydraSender,
        address: str,
        client_id: str,
        heartbeat_interval_ms: int,
        on_incoming: Callable[[HydraIncoming], None],
    ) -> None:
        size = len(client_id.encode())
        if not 1 <= size <= 255:
            raise IpcError(f"client_id of {size} bytes must be 1..255 bytes", Code.INVALID_ARGUMENT)
        self.client_id = client_id
        self._sender: HydraSender = sender
        self._on_incoming = on_incoming
        self._ctx = zmq.asyncio.Context.instance()
        self._socket = self._ctx.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.ROUTING_ID, client_id.encode())
        self._socket.setsockopt(zmq.RECONNECT_IVL, 100)
        self._socket.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        self._socket.connect(address)
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._closed = False
        self._tasks = [
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._heartbeat_loop(heartbeat_interval_ms / 1000)),
        ]

    def send(self, elem: str, data: Any, request_id: str | None = None) -> None:
        """Queues one envelope of this peer (in order)."""
        if self._closed:
            return
        self._queue.append(
            encode_hydra_envelope(
                self._sender, elem, data, self.client_id, time.time(), request_id
            )
        )
        self._wake.set()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._socket.close(linger=0)

    async def _heartbeat_loop(self, interval_s: float) -> None:
        while True:
            self.send("heartbeat", {})
            await asyncio.sleep(interval_s)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._socket.send(self._queue.popleft())

    async def _read_loop(self) -> None:
        while True:
            parts = await self._socket.recv_multipart()
            for part in parts:
                try:
                    m = parse_hydra_incoming(part)
                except IpcError as e:
                    _log.warning("protoipc hydra: dropped a message: %s", e.raw_message)
                    continue
                try:
                    self._on_incoming(m)
                except Exception:  # noqa: BLE001 - one bad message must not stop the reader
                    _log.exception("protoipc hydra: handling a message failed")


def _error_from_hydra(data: Mapping[str, Any]) -> IpcError:
    """An ``error`` elem's data (``ErrorOccurred``) as an IpcError."""
    error_type = data.get("error_type")
    message = data.get("error_message")
    code = Code.UNKNOWN
    for c in Code:
        if code_to_string(c) == error_type:
            code = c
    return IpcError(message if isinstance(message, str) else "server error", code)


class _Pending:
    __slots__ = ("acked", "method", "reply_elem", "request_id", "sink")

    def __init__(
        self, request_id: str, method: MethodDescriptor[Any, Any, Any], reply_elem: str,
        sink: CallSink,
    ) -> None:  # fmt: skip
        self.request_id = request_id
        self.method = method
        self.reply_elem = reply_elem
        self.sink = sink
        self.acked = False


class _Forget:
    def __init__(self, pending: dict[str, _Pending], request_id: str | None) -> None:
        self._pending = pending
        self._request_id = request_id

    def cancel(self, reason: IpcError) -> None:
        # Hydra has no cancel on the wire: a cancelled call is forgotten here.
        if self._request_id is not None:
            self._pending.pop(self._request_id, None)


class HydraClientTransport(ClientTransport):
    """A client transport speaking Hydra's envelope; made by
    :func:`create_hydra_client_transport`. :attr:`client_id` is its ``client_id`` and routing
    id."""

    def __init__(self, address: str, client_id: str, heartbeat_interval_ms: int) -> None:
        self._pending: dict[str, _Pending] = {}
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._next = 1
        self._closed = False
        self._socket = _HydraSocket(
            "HydraClient", address, client_id, heartbeat_interval_ms, self._on_incoming
        )
        self.client_id = client_id

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        method = call.method
        if self._closed:
            sink.on_error(IpcError("transport is closed", Code.UNAVAILABLE))
            return _Forget(self._pending, None)
        elem = method.wire_name
        reply_elem = message_wire_name(method.output.DESCRIPTOR)
        if method.kind != "unary" or elem is None or reply_elem is None:
            sink.on_error(
                IpcError(
                    f"{method.path} cannot be called over hydra: it needs to be unary with a "
                    "wire_name on the method and its response",
                    Code.UNIMPLEMENTED,
                )
            )
            return _Forget(self._pending, None)
        request_id = f"{self.client_id}-{self._next}"
        self._next += 1
        data = message_to_hydra_json(call.message)
        self._pending[request_id] = _Pending(request_id, method, reply_elem, sink)
        self._socket.send(elem, data, request_id)
        return _Forget(self._pending, request_id)

    def subscribe(self, cls: type[M], listener: Callable[[M], None]) -> Callable[[], None]:
        """Receives server messages sent under ``cls``'s ``wire_name`` elem that answer no call of
        this client (Hydra's broadcasts: status_update, game_state_update, ...), decoded as
        ``cls``; one that does not decode is logged and dropped. Returns the unsubscribe
        function."""
        elem = message_wire_name(cls.DESCRIPTOR)

        def on(e: str, data: dict[str, Any]) -> None:
            if e != elem:
                return
            try:
                message = message_from_hydra_json(cls, data)
            except IpcError as err:
                _log.warning("protoipc hydra: dropped %s: %s", e, err.raw_message)
                return
            listener(message)

        self._listeners.append(on)
        return lambda: self._listeners.remove(on) if on in self._listeners else None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        err = IpcError("transport closed while the call was pending", Code.UNAVAILABLE)
        pending = list(self._pending.values())
        self._pending.clear()
        for p in pending:
            p.sink.on_error(err)
        await self._socket.aclose()

    def _settle(self, p: _Pending, elem: str, data: dict[str, Any]) -> None:
        del self._pending[p.request_id]
        if elem == "error":
            p.sink.on_error(_error_from_hydra(data))
            return
        try:
            result = message_from_hydra_json(p.method.output, data)
        except IpcError as e:
            p.sink.on_error(IpcError(e.raw_message, Code.INTERNAL))
            return
        p.sink.on_result(result)

    def _on_incoming(self, m: HydraIncoming) -> None:
        if m.kind != "message":
            # The router's answer to our oldest message it has not answered yet.
            p = next((x for x in self._pending.values() if not x.acked), None)
            if p is None:
                return
            p.acked = True
            if m.kind == "error":
                del self._pending[p.request_id]
                p.sink.on_error(IpcError(m.error, Code.UNAVAILABLE))
            return
        if m.sender != "HydraServer":
            return
        data = m.data or {}
        by_id = None if m.request_id is None else self._pending.get(m.request_id)
        if by_id is not None:
            self._settle(by_id, m.elem, data)
            return
        if m.request_id is None:
            # Hydra's router stripped the id: the oldest call waiting for this elem takes it.
            p = next(
                (
                    x
                    for x in self._pending.values()
                    if x.reply_elem == m.elem or (m.elem == "error" and x.acked)
                ),
                None,
            )
            if p is not None:
                self._settle(p, m.elem, data)
                return
        for listener in list(self._listeners):
            listener(m.elem, data)


def create_hydra_client_transport(
    address: str,
    *,
    client_id: str | None = None,
    heartbeat_interval_ms: int = DEFAULT_ROUTER_HEARTBEAT_MS,
) -> HydraClientTransport:
    """A client transport speaking Hydra's envelope to the router at ``address``
    (``tcp://127.0.0.1:5556``): it registers by heartbeat at once and maps calls of a
    ``BINDING_HYDRA`` service onto elems. Call it on the running event loop.

    :param client_id: the ``client_id`` and routing id; default ``"HydraClient-<1000..9999>"``
        as Hydra's MQClient does
    :param heartbeat_interval_ms: interval of the registering heartbeats; default 5000 (Hydra's)
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``client_id`` is not 1..255 bytes

    Calls fail with ``Code.UNAVAILABLE`` when the router answers "No AI Hydra server connected"
    or the transport closes, with ``Code.UNIMPLEMENTED`` for a method without ``wire_name``, a
    response without ``wire_name``, or a streaming method.
    """
    return HydraClientTransport(
        address, client_id or _default_client_id("HydraClient"), heartbeat_interval_ms
    )


class _HydraCall(AbortState):
    """One call being served (an :class:`~protoipc.transport.IncomingCall`)."""

    def __init__(
        self,
        server: HydraServerTransport,
        method: MethodDescriptor[Any, Any, Any],
        reply_elem: str,
        request_id: str | None,
        deadline_unix_ms: int,
    ) -> None:
        self._server = server
        self.method = method
        self._reply_elem = reply_elem
        self._request_id = request_id
        self.deadline_unix_ms = deadline_unix_ms
        self.metadata: Mapping[str, str] = {}
        self.peer = "hydra"
        self._done = False
        self._reason: IpcError | None = None
        self._callbacks: list[Callable[[IpcError], None]] = []
        delay_s = max(0.0, deadline_unix_ms / 1000 - time.time())
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            delay_s, self._on_deadline
        )

    def abort(self, reason: IpcError) -> None:
        """Ends the call without answering and cancels the handler."""
        self._end()
        self._notify_abort(reason, self.method.path)

    async def update(self, message: Message) -> None:
        raise IpcError(f"{self.method.path}: hydra has no progress updates", Code.UNIMPLEMENTED)

    def result(self, message: Message | None) -> None:
        if self._done:
            return
        self._end()
        if message is None:
            self._server._send_error(
                IpcError(f"{self.method.path} answered nothing", Code.INTERNAL),
                self.method.path,
                self._request_id,
            )
            return
        self._server._send(self._reply_elem, message_to_hydra_json(message), self._request_id)

    def error(self, error: IpcError) -> None:
        if self._done:
            return
        self._end()
        self._server._send_error(error, self.method.path, self._request_id)

    def _on_deadline(self) -> None:
        self._timer = None
        if self._done:
            return
        err = IpcError(f"deadline exceeded while {self.method.path} ran", Code.DEADLINE_EXCEEDED)
        self._server._send_error(err, self.method.path, self._request_id)
        self.abort(err)

    def _end(self) -> None:
        if self._done:
            return
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server._calls.discard(self)


class HydraServerTransport(ServerTransport):
    """A server transport speaking Hydra's envelope; made by
    :func:`create_hydra_server_transport`. :attr:`client_id` is its ``client_id`` and routing
    id."""

    def __init__(
        self,
        address: str,
        services: Sequence[ServiceDescriptor],
        client_id: str,
        heartbeat_interval_ms: int,
    ) -> None:
        self.client_id = client_id
        self._address = address
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._by_elem: dict[str, MethodDescriptor[Any, Any, Any]] = {}
        for s in services:
            for m in s.methods:
                if m.wire_name is not None:
                    self._by_elem[m.wire_name] = m
        self._socket: _HydraSocket | None = None
        self._dispatcher: Dispatcher | None = None
        self._calls: set[_HydraCall] = set()

    async def listen(self, dispatcher: Dispatcher) -> None:
        """Connects and registers by heartbeat; answers each client message whose elem is a
        method's ``wire_name`` with the response's elem (and the request's ``request_id``), or
        with an ``error`` elem (``ErrorOccurred`` data) when the handler fails or the elem or
        data is unknown or invalid.

        :raises IpcError: ``Code.FAILED_PRECONDITION`` when listening already
        """
        if self._socket is not None:
            raise IpcError("hydra server transport is listening already", Code.FAILED_PRECONDITION)
        self._dispatcher = dispatcher
        self._socket = _HydraSocket(
            "HydraServer",
            self._address,
            self.client_id,
            self._heartbeat_interval_ms,
            self._on_incoming,
        )

    def broadcast(self, message: Message) -> None:
        """Sends ``message`` to every client, under its message's ``wire_name`` elem.

        :raises IpcError: ``Code.FAILED_PRECONDITION`` before :meth:`listen` or when the
            message has no ``wire_name``
        """
        elem = message_wire_name(message.DESCRIPTOR)
        if self._socket is None:
            raise IpcError("broadcast before listen", Code.FAILED_PRECONDITION)
        if elem is None:
            raise IpcError(
                f"{message.DESCRIPTOR.full_name} has no wire_name to broadcast under",
                Code.FAILED_PRECONDITION,
            )
        self._socket.send(elem, message_to_hydra_json(message))

    async def aclose(self) -> None:
        for call in list(self._calls):
            call.abort(IpcError("server closed", Code.UNAVAILABLE))
        self._calls.clear()
        if self._socket is not None:
            await self._socket.aclose()

    def _send(self, elem: str, data: Any, request_id: str | None) -> None:
        if self._socket is not None:
            self._socket.send(elem, data, request_id)

    def _send_error(self, err: IpcError, component: str, request_id: str | None) -> None:
        self._send(
            "error",
            {
                "error_type": code_to_string(err.code),
                "error_message": err.raw_message,
                "component": component,
                "recoverable": True,
            },
            request_id,
        )

    def _on_incoming(self, m: HydraIncoming) -> None:
        dispatcher = self._dispatcher
        if m.kind != "message" or m.sender != "HydraClient" or dispatcher is None:
            return
        method = self._by_elem.get(m.elem)
        if method is None or dispatcher.lookup(method.path) is None:
            err = IpcError(f"no method for elem {m.elem}", Code.UNIMPLEMENTED)
            self._send_error(err, m.elem, m.request_id)
            return
        reply_elem = message_wire_name(method.output.DESCRIPTOR) or m.elem
        try:
            request = message_from_hydra_json(method.input, m.data)
        except IpcError as e:
            self._send_error(e, method.path, m.request_id)
            return
        deadline = int(time.time() * 1000) + dispatcher.timeout_ms(method)
        call = _HydraCall(self, method, reply_elem, m.request_id, deadline)
        self._calls.add(call)
        dispatcher.invoke(request, call)


def create_hydra_server_transport(
    address: str,
    services: Sequence[ServiceDescriptor],
    *,
    client_id: str | None = None,
    heartbeat_interval_ms: int = DEFAULT_ROUTER_HEARTBEAT_MS,
) -> HydraServerTransport:
    """A server transport speaking Hydra's envelope to the router at ``address``, serving the
    methods of ``services`` (their methods' ``wire_name`` are the elems answered). It connects
    on ``listen``; :meth:`HydraServerTransport.broadcast` sends typed broadcasts.

    :param client_id: the ``client_id`` and routing id; default ``"HydraServer-<1000..9999>"``
    :param heartbeat_interval_ms: interval of the registering heartbeats; default 5000 (Hydra's)
    :raises IpcError: (on ``listen``) ``Code.INVALID_ARGUMENT`` when ``client_id`` is not
        1..255 bytes
    """
    return HydraServerTransport(
        address, services, client_id or _default_client_id("HydraServer"), heartbeat_interval_ms
    )
