"""The router in Python: the same protocol and rules as ``@protoipc/router``'s ``createRouter``
(packages/router/src/router.ts, hydra-router.ts), on asyncio and pyzmq.

Native mode (router.proto): peers register with a role and services and are acknowledged with the
negotiated heartbeat interval; a peer silent for 3 intervals is expired; requests go round robin
to the servers of their service and every later frame of a call is routed by (client, request id);
calls of a server that left fail with ``Code.UNAVAILABLE``; broadcasts fan out to every client
with per-topic sequence numbers. Hydra mode: AI Hydra's JSON envelope (PROTOCOLS.md §2), with
request ids kept and replies routed by them.

One slow peer never stalls the others: each peer has its own bounded queue (``max_queued_frames``;
when full, the newest frame for that peer is dropped and counted, and a request for a full server
goes to the next one or fails with ``Code.RESOURCE_EXHAUSTED``); the writer serves peers round
robin and parks one whose libzmq queue is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import zmq
import zmq.asyncio

from protoipc.envelope import FrameKind, encode_envelope
from protoipc.errors import Code, IpcError
from protoipc.router.frames import (
    DEFAULT_ROUTER_HEARTBEAT_MS,
    HEARTBEAT_FRAME,
    HEARTBEAT_LIVENESS,
    ROUTER_PROTOCOL_VERSION,
    call_frame,
    decode_router_frame,
    ends_call,
    error_envelope,
    peek_envelope_head,
    service_of_path,
)
from protoipc.v1 import router_pb2

__all__ = [
    "DEFAULT_MAX_QUEUED_FRAMES_PER_PEER",
    "PeerInfo",
    "Router",
    "RouterCounters",
]

DEFAULT_MAX_QUEUED_FRAMES_PER_PEER = 4096
"""Frames queued per peer before frames for it are dropped."""

_MAX_BATCH = 64
_BLOCKED_RETRY_S = 0.005
_HYDRA_ELEMS = frozenset(
    "heartbeat status error ok start_simulation stop_simulation pause_simulation resume_simulation"
    " reset_simulation simulation_started simulation_stopped simulation_paused simulation_resumed"
    " simulation_reset get_status status_update game_state_update performance_update get_config"
    " set_config config_update".split()
)
_HYDRA_SENDERS = frozenset({"HydraClient", "HydraServer", "HydraRouter"})
_HYDRA_OK = json.dumps({"status": "ok"}).encode()
_HYDRA_NO_SERVER = json.dumps({"error": "No AI Hydra server connected"}).encode()


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A registered peer, as the router reports it."""

    id: str
    """Routing id in hex."""
    role: Literal["client", "server"]
    services: tuple[str, ...]
    name: str
    heartbeat_interval_ms: int


@dataclass(slots=True)
class RouterCounters:
    """Counters of a router since it started (the TypeScript names in snake_case)."""

    received_messages: int = 0
    sent_frames: int = 0
    dropped_queue_full: int = 0
    dropped_unreachable: int = 0
    peer_stalls: int = 0
    routed_requests: int = 0
    stale_call_frames: int = 0
    broadcasts: int = 0
    unregistered_frames: int = 0
    malformed_frames: int = 0
    expired_peers: int = 0
    failed_calls: int = 0


@dataclass(eq=False, slots=True)
class _Peer:
    id: bytes
    key: str
    role: Literal["client", "server"]
    services: tuple[str, ...]
    name: str
    heartbeat_ms: int
    last_seen: float
    next_heartbeat_at: float
    wants_events: bool
    calls: set[str] = field(default_factory=set)


@dataclass(eq=False, slots=True)
class _Call:
    client: _Peer
    server: _Peer
    request_id: int


@dataclass(eq=False, slots=True)
class _Queue:
    id: bytes
    frames: deque[bytes] = field(default_factory=deque)
    ready: bool = False
    blocked: bool = False
    dropped: int = 0


class Router:
    """A router bound to ``bind`` once :meth:`start` returns; :meth:`aclose` stops it.

    :param bind: ``tcp://0.0.0.0:5556``, ``tcp://127.0.0.1:*`` (free port, see :attr:`address`)
    :param protocol: ``"native"`` (router.proto, default) or ``"hydra"`` (AI Hydra's JSON envelope)
    :param heartbeat_interval_ms: heartbeat interval in milliseconds; default 5000; peers are
        expired after 3 missed heartbeats; a peer may ask for a longer interval
    :param max_queued_frames: frames queued per peer before frames for it are dropped; default
        4096; a dropped frame of a call ends the call (``RESOURCE_EXHAUSTED`` to the client, a
        cancel to the server), a dropped broadcast shows as a gap
    :param curve_secret_key: with ``curve_public_key``, Z85 keys enabling CURVE (peers without it
        are refused)
    :param on_peer_joined: called with a :class:`PeerInfo` when a peer registers
    :param on_peer_left: called with a :class:`PeerInfo` and the reason when a peer leaves
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when an option is out of range
    """

    def __init__(
        self,
        bind: str,
        *,
        protocol: Literal["native", "hydra"] = "native",
        heartbeat_interval_ms: int = DEFAULT_ROUTER_HEARTBEAT_MS,
        max_queued_frames: int = DEFAULT_MAX_QUEUED_FRAMES_PER_PEER,
        curve_public_key: str | None = None,
        curve_secret_key: str | None = None,
        on_peer_joined: Callable[[PeerInfo], None] | None = None,
        on_peer_left: Callable[[PeerInfo, str], None] | None = None,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        for name, value in (
            ("heartbeat_interval_ms", heartbeat_interval_ms),
            ("max_queued_frames", max_queued_frames),
        ):
            if not 1 <= value <= 2**31 - 1:
                raise IpcError(
                    f"{name} {value} must be an integer in 1..{2**31 - 1}", Code.INVALID_ARGUMENT
                )
        self._bind = bind
        self.protocol = protocol
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self._max_queued = max_queued_frames
        self._curve = (
            (curve_public_key, curve_secret_key)
            if curve_public_key is not None and curve_secret_key is not None
            else None
        )
        self._on_joined = on_peer_joined
        self._on_left = on_peer_left
        self._context = context or zmq.asyncio.Context.instance()
        self.counters = RouterCounters()
        self.address: str | None = None
        self._socket: zmq.asyncio.Socket | None = None
        self._queues: dict[str, _Queue] = {}
        self._ready: deque[_Queue] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._peers: dict[str, _Peer] = {}
        self._services: dict[str, list[_Peer]] = {}
        self._next: dict[str, int] = {}
        self._calls: dict[str, _Call] = {}
        self._topics: dict[str, int] = {}
        self._hydra_pending: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._closed = False

    # lifecycle

    async def start(self) -> None:
        """Binds and starts routing.

        :raises IpcError: ``Code.UNAVAILABLE`` when the endpoint cannot be bound
        """
        socket = self._context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        batch = _MAX_BATCH if self.protocol == "native" else 1
        socket.setsockopt(zmq.SNDHWM, max(1, -(-self._max_queued // batch)))
        if self._curve is not None:
            socket.curve_server = True
            socket.curve_publickey = self._curve[0].encode()
            socket.curve_secretkey = self._curve[1].encode()
        try:
            socket.bind(self._bind)
        except zmq.ZMQError as e:
            socket.close(linger=0)
            raise IpcError(f"cannot bind {self._bind}: {e.strerror}", Code.UNAVAILABLE) from e
        self._socket = socket
        endpoint = socket.getsockopt(zmq.LAST_ENDPOINT)
        self.address = endpoint.decode() if isinstance(endpoint, bytes) else self._bind
        self._tasks = [
            asyncio.create_task(self._read_loop(socket)),
            asyncio.create_task(self._write_loop(socket)),
            asyncio.create_task(self._tick_loop()),
        ]

    async def aclose(self) -> None:
        """Stops: closes the socket, drops queued frames and registrations. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._socket is not None:
            self._socket.close(linger=0)
        self._queues.clear()
        self._peers.clear()

    def peers(self) -> list[PeerInfo]:
        """The registered peers."""
        return [_info(p) for p in self._peers.values()]

    def queue_of(self, key: str) -> tuple[int, int]:
        """Frames queued for the peer ``key`` (routing id in hex) and frames dropped for it."""
        q = self._queues.get(key)
        return (0, 0) if q is None else (len(q.frames), q.dropped)

    # sending

    def _send(self, peer_id: bytes, key: str, frame: bytes, force: bool = False) -> bool:
        if self._closed:
            return False
        q = self._queues.get(key)
        if q is None:
            q = self._queues[key] = _Queue(peer_id)
        if not force and len(q.frames) >= self._max_queued:
            q.dropped += 1
            self.counters.dropped_queue_full += 1
            return False
        q.frames.append(frame)
        if not q.ready and not q.blocked:
            q.ready = True
            self._ready.append(q)
            self._wake.set()
        return True

    async def _write_loop(self, socket: zmq.asyncio.Socket) -> None:
        loop = asyncio.get_running_loop()
        batch = _MAX_BATCH if self.protocol == "native" else 1
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ready:
                q = self._ready.popleft()
                q.ready = False
                if not q.frames:
                    continue
                n = min(batch, len(q.frames))
                parts = [q.id, *(q.frames[i] for i in range(n))]
                try:
                    await socket.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    self.counters.peer_stalls += 1
                    q.blocked = True
                    loop.call_later(_BLOCKED_RETRY_S, self._unblock, q)
                    continue
                except zmq.ZMQError:
                    self.counters.dropped_unreachable += len(q.frames)
                    q.frames.clear()
                    self._queues.pop(q.id.hex(), None)
                    continue
                for _ in range(n):
                    q.frames.popleft()
                self.counters.sent_frames += n
                if q.frames and not q.blocked:
                    q.ready = True
                    self._ready.append(q)
                # Let the reader run between batches.
                await asyncio.sleep(0)

    def _unblock(self, q: _Queue) -> None:
        q.blocked = False
        if q.frames and not q.ready:
            q.ready = True
            self._ready.append(q)
            self._wake.set()

    # receiving

    async def _read_loop(self, socket: zmq.asyncio.Socket) -> None:
        while True:
            parts = await socket.recv_multipart()
            self.counters.received_messages += 1
            if len(parts) < 2:
                continue
            peer_id = parts[0]
            key = peer_id.hex()
            try:
                if self.protocol == "native":
                    for part in parts[1:]:
                        self._on_native(peer_id, key, part)
                else:
                    self._on_hydra(peer_id, key, parts[1:])
            except Exception as e:  # a routing bug must not stop the router
                self.counters.malformed_frames += 1
                import warnings

                warnings.warn(f"protoipc router: message handler failed: {e}", stacklevel=1)

    def _on_native(self, peer_id: bytes, key: str, data: bytes) -> None:
        try:
            frame = decode_router_frame(data)
        except IpcError:
            self.counters.malformed_frames += 1
            return
        which = frame.WhichOneof("frame")
        if which == "register":
            self._register(peer_id, key, frame.register)
            return
        peer = self._peers.get(key)
        if peer is None:
            self._refuse_unregistered(peer_id, key, frame)
            return
        peer.last_seen = time.monotonic()
        if which == "heartbeat":
            return
        if which == "disconnect":
            self._remove(peer, "goodbye")
        elif which == "call":
            if peer.role == "client":
                self._from_client(peer, frame.call)
            else:
                self._from_server(peer, frame.call)
        elif which == "broadcast" and peer.role == "server":
            self._broadcast(peer, frame.broadcast)
        else:
            self.counters.malformed_frames += 1

    def _refuse_unregistered(
        self, peer_id: bytes, key: str, frame: router_pb2.RouterFrame
    ) -> None:
        self.counters.unregistered_frames += 1
        which = frame.WhichOneof("frame")
        if which == "disconnect":
            return
        if which == "call":
            try:
                head = peek_envelope_head(frame.call.envelope)
            except IpcError:
                self.counters.malformed_frames += 1
            else:
                if head.kind == FrameKind.REQUEST:
                    self._send(
                        peer_id,
                        key,
                        call_frame(
                            error_envelope(
                                head.request_id,
                                Code.UNAVAILABLE,
                                "peer is not registered with the router",
                            )
                        ),
                    )
        self._send(peer_id, key, _disconnect("peer is not registered"))

    def _register(self, peer_id: bytes, key: str, r: router_pb2.RouterRegister) -> None:
        role: Literal["client", "server"] | None = (
            "client"
            if r.role == router_pb2.PEER_ROLE_CLIENT
            else "server"
            if r.role == router_pb2.PEER_ROLE_SERVER
            else None
        )
        if role is None:
            self.counters.malformed_frames += 1
            self._send(
                peer_id,
                key,
                _disconnect(f"registration refused: role {r.role} is not client or server"),
            )
            return
        heartbeat_ms = max(self.heartbeat_interval_ms, r.heartbeat_interval_ms)
        now = time.monotonic()
        services = tuple(r.services)
        peer = self._peers.get(key)
        joined = peer is None or peer.role != role or peer.services != services
        if peer is not None and joined:
            self._remove(peer, "registered again with another role or services")
        if peer is None or joined:
            peer = _Peer(
                peer_id, key, role, services, r.name, heartbeat_ms, now,
                now + heartbeat_ms / 1000, r.peer_events,
            )  # fmt: skip
            self._peers[key] = peer
            if role == "server":
                for s in services:
                    self._services.setdefault(s, []).append(peer)
        else:
            peer.last_seen = now
            peer.heartbeat_ms = heartbeat_ms
            peer.wants_events = r.peer_events
            peer.name = r.name
        ack = router_pb2.RouterFrame(
            register_ack=router_pb2.RouterRegisterAck(
                protocol_version=ROUTER_PROTOCOL_VERSION,
                heartbeat_interval_ms=heartbeat_ms,
                peer_id=peer_id,
            )
        )
        self._send(peer_id, key, ack.SerializeToString())
        if joined:
            self._notify(peer, router_pb2.PEER_EVENT_KIND_JOINED, "")
            if self._on_joined is not None:
                self._on_joined(_info(peer))

    def _remove(self, peer: _Peer, reason: str) -> None:
        if self._peers.get(peer.key) is not peer:
            return
        del self._peers[peer.key]
        if peer.role == "server":
            for s in peer.services:
                servers = [p for p in self._services.get(s, []) if p is not peer]
                if servers:
                    self._services[s] = servers
                else:
                    self._services.pop(s, None)
        for call_key in list(peer.calls):
            call = self._calls.pop(call_key, None)
            if call is None:
                continue
            if peer.role == "server":
                call.client.calls.discard(call_key)
                self.counters.failed_calls += 1
                self._send(
                    call.client.id,
                    call.client.key,
                    call_frame(
                        error_envelope(
                            call.request_id,
                            Code.UNAVAILABLE,
                            f"server {peer.name or peer.key} left the router ({reason})",
                        )
                    ),
                )
            else:
                call.server.calls.discard(call_key)
                cancel = encode_envelope(FrameKind.CANCEL, request_id=call.request_id)
                self._send(call.server.id, call.server.key, call_frame(cancel, peer.id))
        peer.calls.clear()
        q = self._queues.pop(peer.key, None)
        if q is not None:
            self.counters.dropped_unreachable += len(q.frames)
            q.frames.clear()
        self._notify(peer, router_pb2.PEER_EVENT_KIND_LEFT, reason)
        if self._on_left is not None:
            self._on_left(_info(peer), reason)

    def _notify(self, peer: _Peer, kind: router_pb2.PeerEventKind, reason: str) -> None:
        frame: bytes | None = None
        for other in self._peers.values():
            if not other.wants_events or other is peer:
                continue
            if frame is None:
                frame = router_pb2.RouterFrame(
                    peer_event=router_pb2.RouterPeerEvent(
                        kind=kind,
                        peer_id=peer.id,
                        role=(
                            router_pb2.PEER_ROLE_CLIENT
                            if peer.role == "client"
                            else router_pb2.PEER_ROLE_SERVER
                        ),
                        services=peer.services,
                        name=peer.name,
                        reason=reason,
                    )
                ).SerializeToString()
            self._send(other.id, other.key, frame)

    def _pick_server(self, service: str) -> _Peer | Literal["full"] | None:
        servers = self._services.get(service)
        if not servers:
            return None
        start = self._next.get(service, 0)
        for i in range(len(servers)):
            s = servers[(start + i) % len(servers)]
            q = self._queues.get(s.key)
            if q is None or len(q.frames) < self._max_queued:
                self._next[service] = start + i + 1
                return s
        return "full"

    def _from_client(self, client: _Peer, call: router_pb2.RouterCall) -> None:
        try:
            head = peek_envelope_head(call.envelope)
        except IpcError:
            self.counters.malformed_frames += 1
            return
        call_key = f"{client.key}:{head.request_id}"
        if head.kind == FrameKind.REQUEST:
            service = call.service or service_of_path(head.method)
            server = None if service is None else self._pick_server(service)
            if server is None or server == "full":
                code = Code.RESOURCE_EXHAUSTED if server == "full" else Code.UNAVAILABLE
                message = (
                    f"every server of {service} has its queue of {self._max_queued} frames full"
                    if server == "full"
                    else f"no server registered for service {service or head.method!r}"
                )
                self._send(
                    client.id,
                    client.key,
                    call_frame(error_envelope(head.request_id, code, message)),
                )
                return
            record = _Call(client, server, head.request_id)
            self._calls[call_key] = record
            client.calls.add(call_key)
            server.calls.add(call_key)
            self.counters.routed_requests += 1
            self._send(server.id, server.key, call_frame(call.envelope, client.id))
            return
        found = self._calls.get(call_key)
        if found is None:
            self.counters.stale_call_frames += 1
            return
        if head.kind == FrameKind.CANCEL:
            self._forget(call_key, found)
        self._send(found.server.id, found.server.key, call_frame(call.envelope, client.id))

    def _from_server(self, server: _Peer, call: router_pb2.RouterCall) -> None:
        try:
            head = peek_envelope_head(call.envelope)
        except IpcError:
            self.counters.malformed_frames += 1
            return
        call_key = f"{call.client.hex()}:{head.request_id}"
        found = self._calls.get(call_key)
        if found is None or found.server is not server:
            self.counters.stale_call_frames += 1
            return
        if ends_call(head.kind):
            self._forget(call_key, found)
        if self._send(found.client.id, found.client.key, call_frame(call.envelope)):
            return
        # The caller's queue is full: end the call loudly on both sides instead of letting the
        # caller wait for a result that was dropped.
        if not ends_call(head.kind):
            self._forget(call_key, found)
        self.counters.failed_calls += 1
        client = found.client
        message = (
            f"router queue of client {client.name or client.key} is full "
            f"(max_queued_frames {self._max_queued}); call dropped"
        )
        self._send(
            client.id,
            client.key,
            call_frame(error_envelope(head.request_id, Code.RESOURCE_EXHAUSTED, message)),
            force=True,
        )
        if not ends_call(head.kind):
            cancel = encode_envelope(FrameKind.CANCEL, request_id=head.request_id)
            self._send(server.id, server.key, call_frame(cancel, client.id))

    def _forget(self, call_key: str, call: _Call) -> None:
        self._calls.pop(call_key, None)
        call.client.calls.discard(call_key)
        call.server.calls.discard(call_key)

    def _broadcast(self, server: _Peer, b: router_pb2.RouterBroadcast) -> None:
        sequence = self._topics.get(b.topic, 0) + 1
        self._topics[b.topic] = sequence
        self.counters.broadcasts += 1
        frame = router_pb2.RouterFrame(
            broadcast=router_pb2.RouterBroadcast(
                topic=b.topic, sequence=sequence, payload=b.payload, publisher=server.id
            )
        ).SerializeToString()
        for peer in self._peers.values():
            if peer.role == "client":
                self._send(peer.id, peer.key, frame)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_ms / 4000)
            now = time.monotonic()
            for peer in list(self._peers.values()):
                silent_ms = int((now - peer.last_seen) * 1000)
                if silent_ms > HEARTBEAT_LIVENESS * peer.heartbeat_ms:
                    self.counters.expired_peers += 1
                    self._remove(peer, f"heartbeat expired after {silent_ms} ms")
                    continue
                if self.protocol == "native" and now >= peer.next_heartbeat_at:
                    peer.next_heartbeat_at = now + peer.heartbeat_ms / 1000
                    self._send(peer.id, peer.key, HEARTBEAT_FRAME)
            # Hydra request ids never answered are forgotten after 10 intervals.
            while self._hydra_pending:
                rid, (_, at) = next(iter(self._hydra_pending.items()))
                if now - at <= 10 * self.heartbeat_interval_ms / 1000:
                    break
                del self._hydra_pending[rid]

    # Hydra mode (PROTOCOLS.md §2)

    def _on_hydra(self, peer_id: bytes, key: str, parts: list[bytes]) -> None:
        msg = _hydra_envelope(parts)
        if msg is None:
            self.counters.malformed_frames += 1  # Hydra drops invalid envelopes silently.
            return
        now = time.monotonic()
        sender: str = msg["sender"]
        known = self._peers.get(key)
        if known is not None:
            known.last_seen = now
        request_id = msg.get("request_id") if isinstance(msg.get("request_id"), str) else None
        if msg["elem"] == "heartbeat":
            role: Literal["client", "server"] = "server" if sender == "HydraServer" else "client"
            if known is None or known.role != role:
                peer = _Peer(
                    peer_id, key, role, (), msg["client_id"], self.heartbeat_interval_ms, now,
                    now, False,
                )  # fmt: skip
                self._peers[key] = peer
                if self._on_joined is not None:
                    self._on_joined(_info(peer))
            return
        if sender == "HydraClient":
            servers = [p for p in self._peers.values() if p.role == "server"]
            if not servers:
                self._send(peer_id, key, _HYDRA_NO_SERVER)
                return
            if request_id is not None:
                self._hydra_pending.pop(request_id, None)
                self._hydra_pending[request_id] = (key, now)
                if len(self._hydra_pending) > 65_536:
                    self._hydra_pending.popitem(last=False)
            forward = _hydra_forward("HydraClient", msg["elem"], msg["data"], request_id)
            for s in servers:
                self._send(s.id, s.key, forward)
            self.counters.routed_requests += 1
            self._send(peer_id, key, _HYDRA_OK)
        elif sender == "HydraServer":
            target = None if request_id is None else self._hydra_pending.pop(request_id, None)
            if target is not None:
                client_key = target[0]
                self._send(
                    bytes.fromhex(client_key),
                    client_key,
                    _hydra_forward("HydraServer", msg["elem"], msg["data"], request_id),
                )
                return
            self.counters.broadcasts += 1
            forward = _hydra_forward("HydraServer", msg["elem"], msg["data"], None)
            for p in self._peers.values():
                if p.role == "client" and p.key != key:
                    self._send(p.id, p.key, forward)
        else:
            self.counters.malformed_frames += 1


def _disconnect(reason: str) -> bytes:
    return router_pb2.RouterFrame(
        disconnect=router_pb2.RouterDisconnect(reason=reason)
    ).SerializeToString()


def _info(peer: _Peer) -> PeerInfo:
    return PeerInfo(peer.key, peer.role, peer.services, peer.name, peer.heartbeat_ms)


def _hydra_envelope(parts: list[bytes]) -> dict[str, Any] | None:
    """The envelope if it is valid by Hydra's rules (validation.py), else ``None``."""
    if len(parts) != 1:
        return None
    try:
        msg = json.loads(parts[0])
    except ValueError:
        return None
    if not isinstance(msg, dict):
        return None
    ts = msg.get("timestamp")
    rid = msg.get("request_id")
    ok = (
        msg.get("sender") in _HYDRA_SENDERS
        and msg.get("elem") in _HYDRA_ELEMS
        and msg.get("elem") != "ok"
        and isinstance(msg.get("data"), dict)
        and isinstance(msg.get("client_id"), str)
        and msg["client_id"] != ""
        and isinstance(ts, (int, float))
        and not isinstance(ts, bool)
        and 0 <= ts <= 4102444800
        and (rid is None or isinstance(rid, str))
    )
    return msg if ok else None


def _hydra_forward(sender: str, elem: str, data: Any, request_id: str | None) -> bytes:
    out: dict[str, Any] = {"sender": sender, "elem": elem, "data": data}
    if request_id is not None:
        out["request_id"] = request_id
    return json.dumps(out).encode()
