"""A peer of the native router in Python, and client / server transports through it: the native
binding over frame channels that wrap each envelope in a RouterCall (mirrors
packages/router/src/router-peer.ts and router-transport.ts).

The peer registers with a role and services, sends heartbeats at the negotiated interval, notices a
silent router after 3 missed heartbeats, and registers again as soon as a router answers (also when
the router says it does not know the peer, after a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import zmq
import zmq.asyncio

from protoipc.envelope import FrameKind, encode_envelope
from protoipc.errors import Code, IpcError
from protoipc.frames import (
    DEFAULT_MAX_FRAME_BYTES,
    ClientFrameChannel,
    ClientFrameHandlers,
    FramePeer,
    ServerFrameChannel,
    ServerFrameHandlers,
    channel_closed_error,
    frame_too_large_error,
)
from protoipc.native import NativeClientTransport, NativeServerTransport
from protoipc.router.frames import (
    DEFAULT_ROUTER_HEARTBEAT_MS,
    HEARTBEAT_FRAME,
    HEARTBEAT_LIVENESS,
    ROUTER_PROTOCOL_VERSION,
    call_frame,
    decode_router_frame,
    ends_call,
    peek_envelope_head,
)
from protoipc.transport import Dispatcher
from protoipc.v1 import router_pb2

__all__ = [
    "Broadcast",
    "RouterPeer",
    "RouterServerTransport",
    "create_router_client_transport",
    "create_router_server_transport",
]

_CALL_HEARTBEAT_MS = 1000
_HEARTBEAT_ENVELOPE = encode_envelope(FrameKind.HEARTBEAT)


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One broadcast as a client receives it."""

    topic: str
    sequence: int
    missed: int
    """Broadcasts of this topic missed just before this one: a visible gap when > 0."""
    payload: bytes
    publisher: str
    """Routing id of the publishing server, in hex."""


class RouterPeer:
    """A connection to the router at ``address`` as a ``role`` peer; :meth:`start` connects.

    :param services: full names of the services a server offers
    :param heartbeat_interval_ms: interval asked for; default: the router's
    :param routing_id: default ``"<role>-<16 random hex digits>"``, kept across reconnects
    :param curve_server_key: with ``curve_public_key`` and ``curve_secret_key``, CURVE (Z85 keys)
    """

    def __init__(
        self,
        address: str,
        role: Literal["client", "server"],
        *,
        services: Sequence[str] = (),
        heartbeat_interval_ms: int | None = None,
        name: str = "",
        routing_id: str | None = None,
        peer_events: bool | None = None,
        curve_server_key: str | None = None,
        curve_public_key: str | None = None,
        curve_secret_key: str | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        self.address = address
        self.role = role
        self.routing_id = (routing_id or f"{role}-{secrets.token_hex(8)}").encode()
        self.id = self.routing_id.hex()
        self.max_frame_bytes = max_frame_bytes
        self.heartbeat_interval_ms = heartbeat_interval_ms or DEFAULT_ROUTER_HEARTBEAT_MS
        self.registered = False
        self.registrations = 0
        self._curve = (curve_server_key, curve_public_key, curve_secret_key)
        self._context = context or zmq.asyncio.Context.instance()
        self._register = router_pb2.RouterFrame(
            register=router_pb2.RouterRegister(
                protocol_version=ROUTER_PROTOCOL_VERSION,
                role=(
                    router_pb2.PEER_ROLE_CLIENT if role == "client" else router_pb2.PEER_ROLE_SERVER
                ),
                services=list(services),
                heartbeat_interval_ms=heartbeat_interval_ms or 0,
                peer_events=peer_events if peer_events is not None else role == "server",
                name=name,
            )
        ).SerializeToString()
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._registered_event = asyncio.Event()
        self._socket: zmq.asyncio.Socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_received = 0.0
        self._last_sent = 0.0
        self._last_register = 0.0
        self._last_sequence: dict[str, int] = {}
        self._closed = False
        self.on_call: Callable[[bytes, bytes], None] | None = None
        """Called with (client routing id, envelope) for each call frame."""
        self.on_broadcast: Callable[[Broadcast], None] | None = None
        self.on_registered: Callable[[], None] | None = None
        """Called each time the router acknowledges the registration."""
        self.on_peer_left: Callable[[str, str], None] | None = None
        """Called with (routing id in hex, role) when the router reports a peer left."""

    def start(self) -> None:
        """Connects and registers; idempotent. Must run on the event loop."""
        if self._socket is not None or self._closed:
            return
        s = self._context.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTING_ID, self.routing_id)
        s.setsockopt(zmq.IMMEDIATE, 1)
        s.setsockopt(zmq.RECONNECT_IVL, 100)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        server_key, public_key, secret_key = self._curve
        if server_key is not None and public_key is not None and secret_key is not None:
            s.curve_serverkey = server_key.encode()
            s.curve_publickey = public_key.encode()
            s.curve_secretkey = secret_key.encode()
        s.connect(self.address)
        self._socket = s
        self._last_received = time.monotonic()
        self._send_register()
        self._tasks = [
            asyncio.create_task(self._read_loop(s)),
            asyncio.create_task(self._write_loop(s)),
            asyncio.create_task(self._tick_loop()),
        ]

    def _rearm(self) -> None:
        """Restarts the tick loop, so a newly granted interval applies at once."""
        if len(self._tasks) == 3:
            self._tasks[2].cancel()
            self._tasks[2] = asyncio.create_task(self._tick_loop())

    async def ready(self, timeout_ms: int = 30_000) -> None:
        """Waits until the router acknowledged the registration.

        :raises IpcError: ``Code.DEADLINE_EXCEEDED`` when ``timeout_ms`` passes first
        """
        try:
            await asyncio.wait_for(self._registered_event.wait(), timeout_ms / 1000)
        except TimeoutError as e:
            raise IpcError(
                f"no registration ack from {self.address} within {timeout_ms} ms",
                Code.DEADLINE_EXCEEDED,
            ) from e

    def send_call(self, envelope: bytes, client: bytes = b"") -> None:
        """Queues one native envelope (``client``: the caller's routing id, on servers)."""
        self._write(call_frame(envelope, client))

    def publish(self, topic: str, payload: bytes) -> None:
        """Publishes a broadcast (servers); the router numbers it per topic."""
        frame = router_pb2.RouterFrame(
            broadcast=router_pb2.RouterBroadcast(topic=topic, payload=payload)
        )
        self._write(frame.SerializeToString())

    async def aclose(self) -> None:
        """Says goodbye (best effort) and closes the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        socket = self._socket
        if socket is not None and self.registered:
            bye = router_pb2.RouterFrame(disconnect=router_pb2.RouterDisconnect(reason="goodbye"))
            with contextlib.suppress(zmq.ZMQError):
                await socket.send(bye.SerializeToString(), flags=zmq.NOBLOCK)
        self.registered = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if socket is not None:
            socket.close(linger=0)

    def _send_register(self) -> None:
        self._last_register = time.monotonic()
        if self._register in self._queue:
            return
        self._queue.appendleft(self._register)
        self._wake.set()

    def _write(self, frame: bytes) -> None:
        if self._closed:
            return
        self._queue.append(frame)
        self._wake.set()

    async def _write_loop(self, socket: zmq.asyncio.Socket) -> None:
        backoff = 0.001
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue[i] for i in range(min(64, len(self._queue)))]
                try:
                    await socket.send_multipart(batch, flags=zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    # Not connected yet or the router reads slowly: wait, then try again.
                    await asyncio.sleep(backoff)
                    backoff = min(0.1, backoff * 2)
                    continue
                backoff = 0.001
                for _ in batch:
                    self._queue.popleft()
                self._last_sent = time.monotonic()
                await asyncio.sleep(0)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_ms / 4000)
            now = time.monotonic()
            interval_s = self.heartbeat_interval_ms / 1000
            if self.registered and now - self._last_received > HEARTBEAT_LIVENESS * interval_s:
                self._lost()
            if not self.registered:
                if now - self._last_register >= interval_s:
                    self._send_register()
                continue
            if now - self._last_sent >= interval_s and not self._queue:
                self._last_sent = now
                self._write(HEARTBEAT_FRAME)

    def _lost(self) -> None:
        self.registered = False
        self._registered_event.clear()

    async def _read_loop(self, socket: zmq.asyncio.Socket) -> None:
        while True:
            parts = await socket.recv_multipart()
            self._last_received = time.monotonic()
            for part in parts:
                self._on_frame(part)

    def _on_frame(self, data: bytes) -> None:
        try:
            frame = decode_router_frame(data)
        except IpcError:
            return
        which = frame.WhichOneof("frame")
        if which == "register_ack":
            granted = frame.register_ack.heartbeat_interval_ms or self.heartbeat_interval_ms
            if granted != self.heartbeat_interval_ms:
                self.heartbeat_interval_ms = granted
                self._rearm()
            self.registrations += 1
            self._last_sequence.clear()
            self.registered = True
            self._registered_event.set()
            if self.on_registered is not None:
                self.on_registered()
        elif which == "disconnect":
            self._lost()
            self._send_register()
        elif which == "call":
            if self.on_call is not None:
                self.on_call(frame.call.client, frame.call.envelope)
        elif which == "broadcast":
            b = frame.broadcast
            last = self._last_sequence.get(b.topic)
            missed = b.sequence - last - 1 if last is not None and b.sequence > last + 1 else 0
            self._last_sequence[b.topic] = b.sequence
            if self.on_broadcast is not None:
                self.on_broadcast(
                    Broadcast(b.topic, b.sequence, missed, b.payload, b.publisher.hex())
                )
        elif which == "peer_event":
            e = frame.peer_event
            if e.kind == router_pb2.PEER_EVENT_KIND_LEFT and self.on_peer_left is not None:
                role = "client" if e.role == router_pb2.PEER_ROLE_CLIENT else "server"
                self.on_peer_left(e.peer_id.hex(), role)


class _ClientChannel(ClientFrameChannel):
    def __init__(self, peer: RouterPeer) -> None:
        self.max_frame_bytes = peer.max_frame_bytes
        self._peer = peer
        self._handlers: ClientFrameHandlers | None = None
        self._closed = False
        self._heartbeat_owed = False

        def deliver(_client: bytes, envelope: bytes) -> None:
            if self._handlers is not None:
                self._handlers.on_frame(envelope)

        def registered() -> None:
            # A heartbeat the binding sent before the router answered is answered now.
            if self._heartbeat_owed and self._handlers is not None:
                self._heartbeat_owed = False
                self._handlers.on_frame(_HEARTBEAT_ENVELOPE)

        peer.on_call = deliver
        peer.on_registered = registered

    def start(self, handlers: ClientFrameHandlers) -> None:
        self._handlers = handlers
        self._peer.start()

    def post(self, frame: bytes) -> None:
        if self._closed:
            raise channel_closed_error("router client channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        kind = peek_envelope_head(frame).kind
        if kind == FrameKind.HELLO:
            return
        if kind == FrameKind.HEARTBEAT:
            # The router answers for the servers while this peer is registered.
            handlers = self._handlers
            if self._peer.registered and handlers is not None:
                asyncio.get_running_loop().call_soon(handlers.on_frame, _HEARTBEAT_ENVELOPE)
            else:
                self._heartbeat_owed = True
            return
        self._peer.send_call(frame)

    async def send(self, frame: bytes) -> None:
        self.post(frame)

    async def aclose(self) -> None:
        self._closed = True
        await self._peer.aclose()


def create_router_client_transport(
    address: str,
    *,
    heartbeat_interval_ms: int | None = None,
    call_heartbeat_interval_ms: int = _CALL_HEARTBEAT_MS,
    name: str = "",
    **peer_options: object,
) -> NativeClientTransport:
    """A client transport registering with the router at ``address`` as a client (when the first
    call starts); calls any service a registered server offers, with the native binding's
    semantics. The caller owns it and closes it with ``aclose``."""
    peer = RouterPeer(
        address,
        "client",
        heartbeat_interval_ms=heartbeat_interval_ms,
        name=name,
        **peer_options,  # type: ignore[arg-type]
    )
    return NativeClientTransport(
        _ClientChannel(peer), heartbeat_interval_ms=call_heartbeat_interval_ms
    )


class _ServerChannel(ServerFrameChannel):
    def __init__(self, peer: RouterPeer, call_heartbeat_ms: int, register_timeout_ms: int) -> None:
        self.max_frame_bytes = peer.max_frame_bytes
        self._peer = peer
        self._call_heartbeat_ms = call_heartbeat_ms
        self._register_timeout_ms = register_timeout_ms
        self._callers: dict[str, tuple[FramePeer, bytes, set[int]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self, handlers: ServerFrameHandlers) -> None:
        def on_call(client: bytes, envelope: bytes) -> None:
            key = client.hex()
            st = self._callers.get(key)
            if st is None:
                st = self._callers[key] = (FramePeer(key), client, set())
            try:
                head = peek_envelope_head(envelope)
            except IpcError:
                pass  # the binding answers a malformed frame with an error frame
            else:
                if head.kind == FrameKind.REQUEST:
                    st[2].add(head.request_id)
                elif head.kind == FrameKind.CANCEL:
                    st[2].discard(head.request_id)
            handlers.on_frame(st[0], envelope)

        def on_peer_left(key: str, role: str) -> None:
            st = self._callers.pop(key, None) if role == "client" else None
            if st is None:
                return
            # The caller is gone: its handlers are cancelled now, not after the binding's sweep.
            for request_id in st[2]:
                handlers.on_frame(st[0], encode_envelope(FrameKind.CANCEL, request_id=request_id))

        self._peer.on_call = on_call
        self._peer.on_peer_left = on_peer_left

        async def keep_alive() -> None:
            # The router vouches for callers it has not reported gone.
            while True:
                await asyncio.sleep(self._call_heartbeat_ms / 1000)
                if not self._peer.registered:
                    continue
                for key, st in list(self._callers.items()):
                    if not st[2]:
                        del self._callers[key]
                    else:
                        handlers.on_frame(st[0], _HEARTBEAT_ENVELOPE)

        self._task = asyncio.create_task(keep_alive())
        self._peer.start()
        await self._peer.ready(self._register_timeout_ms)

    def post(self, peer: FramePeer, frame: bytes) -> None:
        if self._closed:
            raise channel_closed_error("router server channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        head = peek_envelope_head(frame)
        if head.kind in (FrameKind.HEARTBEAT, FrameKind.HELLO):
            return
        st = self._callers.get(peer.key)
        if st is None:
            return  # the caller left; the router would drop it
        if ends_call(head.kind):
            st[2].discard(head.request_id)
        self._peer.send_call(frame, st[1])

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        self.post(peer, frame)

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._peer.aclose()


class RouterServerTransport(NativeServerTransport):
    """A server transport registering with the router as a server of the registered services
    when the server listens; ``listen`` returns once the router acknowledged."""

    def __init__(
        self,
        address: str,
        *,
        services: Sequence[str] | None = None,
        call_heartbeat_interval_ms: int = _CALL_HEARTBEAT_MS,
        register_timeout_ms: int = 30_000,
        **peer_options: object,
    ) -> None:
        self._address = address
        self._services = services
        self._peer_options = peer_options
        self._call_heartbeat_ms = call_heartbeat_interval_ms
        self._register_timeout_ms = register_timeout_ms
        self.peer: RouterPeer | None = None
        self._pending_channel = _LazyChannel()
        super().__init__(self._pending_channel, heartbeat_interval_ms=call_heartbeat_interval_ms)

    async def listen(self, dispatcher: Dispatcher) -> None:
        services = (
            list(self._services) if self._services is not None else list(dispatcher.schema_hashes())
        )
        self.peer = RouterPeer(
            self._address,
            "server",
            services=services,
            **self._peer_options,  # type: ignore[arg-type]
        )
        self._pending_channel.target = _ServerChannel(
            self.peer, self._call_heartbeat_ms, self._register_timeout_ms
        )
        await super().listen(dispatcher)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publishes a broadcast to every client of the router.

        :raises IpcError: ``Code.FAILED_PRECONDITION`` before ``listen``
        """
        if self.peer is None:
            raise IpcError("publish before listen: not registered", Code.FAILED_PRECONDITION)
        self.peer.publish(topic, payload)


class _LazyChannel(ServerFrameChannel):
    """The server channel, created once the services are known (at ``listen``)."""

    def __init__(self) -> None:
        self.max_frame_bytes = DEFAULT_MAX_FRAME_BYTES
        self.target: _ServerChannel | None = None

    def _get(self) -> _ServerChannel:
        if self.target is None:
            raise channel_closed_error("router server channel")
        return self.target

    async def start(self, handlers: ServerFrameHandlers) -> None:
        await self._get().start(handlers)

    def post(self, peer: FramePeer, frame: bytes) -> None:
        self._get().post(peer, frame)

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        self._get().post(peer, frame)

    async def aclose(self) -> None:
        if self.target is not None:
            await self.target.aclose()


def create_router_server_transport(address: str, **options: object) -> RouterServerTransport:
    """A server transport through the router at ``address`` (see :class:`RouterServerTransport`);
    the server that listens on it owns it."""
    return RouterServerTransport(address, **options)  # type: ignore[arg-type]
