"""The native binding: protoipc's own protocol, one ``protoipc.v1.Envelope`` per frame, over any
frame channel (memory.py, zmq.py).

Behaves like packages/runtime/src/native-client.ts and native-server.ts, frame for frame:

- the client picks request ids (unique among its calls in flight), sends FRAME_KIND_REQUEST with
  the absolute deadline and metadata, FRAME_KIND_CANCEL when the caller gives up, a hello first
  and a heartbeat every interval; it matches replies, progress updates and stream items by id,
  checks their sequence numbers (a gap fails the call with ``Code.DATA_LOSS``), and fails a pending
  call with ``Code.UNAVAILABLE`` after 2.5 heartbeat intervals of silence since the later of its
  start and the last frame received;
- the server answers hellos and heartbeats, refuses what it cannot serve with an error frame
  (malformed frame → ``INVALID_ARGUMENT`` naming the request id peeked from the frame's first
  bytes, unknown method → ``UNIMPLEMENTED`` ``method <path> is not implemented``, deadline already
  passed → ``DEADLINE_EXCEEDED`` ``deadline passed N ms before <path> arrived; not executed``,
  without running the handler), runs the rest through the dispatcher, cancels the handlers of
  cancelled and expired calls, and drops a client silent for 3 heartbeat intervals, cancelling
  its handlers with ``Code.UNAVAILABLE``. A bad frame from one client never disturbs the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import DecodeError, Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.envelope import (
    FrameKind,
    decode_envelope,
    encode_envelope,
    error_to_status,
    peek_request_id,
    status_to_error,
)
from protoipc.errors import Code, IpcError
from protoipc.frames import ClientFrameChannel, FramePeer, ServerFrameChannel
from protoipc.transport import (
    AbortState,
    CallHandle,
    CallSink,
    ClientTransport,
    Dispatcher,
    OutgoingCall,
    ServerTransport,
)
from protoipc.v1 import envelope_pb2

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_MS",
    "DEFAULT_MAX_CALLS_PER_PEER",
    "NATIVE_PROTOCOL_VERSION",
    "NativeClientTransport",
    "NativeServerTransport",
    "SchemaMismatchHandler",
]

NATIVE_PROTOCOL_VERSION = 1
"""Version of the native protocol this runtime speaks (envelope.proto)."""

DEFAULT_HEARTBEAT_INTERVAL_MS = 1000
"""Default interval of the native binding's application heartbeats, in milliseconds."""

DEFAULT_MAX_CALLS_PER_PEER = 4096
"""Default most calls in flight per client on a server; more fail with RESOURCE_EXHAUSTED."""

SchemaMismatchHandler = Callable[[str, str, str], None]
"""Called with (service name, local hash, remote hash) when the peer's hello shows a different
schema hash for a service."""

_log = logging.getLogger("protoipc")

_HEARTBEAT_FRAME = encode_envelope(FrameKind.HEARTBEAT)

# Heartbeats a client sends without hearing anything back before it pauses them.
_MAX_UNANSWERED_HEARTBEATS = 3


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _error_frame(request_id: int, err: IpcError) -> bytes:
    return encode_envelope(FrameKind.ERROR, request_id=request_id, error=error_to_status(err))


def _check_heartbeat(heartbeat_interval_ms: int) -> None:
    if not heartbeat_interval_ms > 0:
        raise IpcError(
            f"heartbeat_interval_ms {heartbeat_interval_ms} must be > 0", Code.INVALID_ARGUMENT
        )


# -- client ---------------------------------------------------------------------------------------


class _PendingCall:
    """A call in flight on the client side; also its handle for the client core."""

    __slots__ = ("client", "id", "method", "sequence", "sink", "started_at")

    def __init__(
        self,
        client: NativeClientTransport,
        id: int,
        method: MethodDescriptor[Any, Any, Any],
        sink: CallSink,
        started_at: float,
    ) -> None:
        self.client = client
        self.id = id
        self.method = method
        self.sink = sink
        self.sequence = 0
        self.started_at = started_at

    def cancel(self, reason: IpcError) -> None:
        self.client._cancel_call(self.id)


class _NoopHandle:
    def cancel(self, reason: IpcError) -> None:
        pass


_NOOP_HANDLE = _NoopHandle()


class NativeClientTransport(ClientTransport):
    """The client side of the native binding on a frame channel; owns ``channel`` and closes it
    in :meth:`aclose`.

    :param heartbeat_interval_ms: interval of application heartbeats, in milliseconds; default
        1000. A pending call fails with ``Code.UNAVAILABLE`` when nothing has arrived from the
        server for 2.5 intervals since the later of its start and the last frame, so a dead
        server is reported within 3 intervals of its last frame. While the server answers
        nothing, heartbeats pause after 3 unanswered ones (so no backlog builds up while it is
        away) and resume with the next frame from it.
    :param on_schema_mismatch: called when the server's hello shows a different schema hash for
        a service this client calls; default: a warning on the ``protoipc`` logger, once per
        service. Calls go on either way.
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``heartbeat_interval_ms`` <= 0
    """

    def __init__(
        self,
        channel: ClientFrameChannel,
        *,
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
        on_schema_mismatch: SchemaMismatchHandler | None = None,
    ) -> None:
        _check_heartbeat(heartbeat_interval_ms)
        self._channel = channel
        self._heartbeat_ms = heartbeat_interval_ms
        self._on_schema_mismatch = on_schema_mismatch
        self._calls: dict[int, _PendingCall] = {}
        self._next_id = 1
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_received = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._ticks = 0
        self._unanswered_heartbeats = 0
        self._local_hashes: dict[str, str] = {}
        self._server_hashes: Mapping[str, str] | None = None
        self._warned: set[str] = set()

    @property
    def heartbeat_interval_ms(self) -> int:
        """The interval of application heartbeats, in milliseconds."""
        return self._heartbeat_ms

    def _ensure_started(self, first: ServiceDescriptor) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        loop = asyncio.get_running_loop()
        self._channel.start(self)  # raises IpcError (bad endpoint, closed channel)
        self._loop = loop
        self._last_received = loop.time()
        self._local_hashes[first.type_name] = first.schema_hash
        hello = envelope_pb2.Hello(
            protocol_version=NATIVE_PROTOCOL_VERSION,
            schema_hashes={first.type_name: first.schema_hash},
            heartbeat_interval_ms=self._heartbeat_ms,
            max_frame_bytes=self._channel.max_frame_bytes,
        )
        self._post_control(encode_envelope(FrameKind.HELLO, hello=hello))
        # Checking four times per interval bounds detection at 2.75 intervals of silence.
        self._timer = loop.call_later(self._heartbeat_ms / 4000, self._tick)
        return loop

    def _tick(self) -> None:
        loop = self._loop
        if self._closed or loop is None:
            return
        self._timer = loop.call_later(self._heartbeat_ms / 4000, self._tick)
        now = loop.time()
        limit = self._heartbeat_ms * 2.5 / 1000
        if self._calls and now - self._last_received > limit:
            # A call's silence window starts when it does, so a call made while the connection
            # is being re-established (server restart) gets a full window too.
            for p in list(self._calls.values()):
                silent = now - max(self._last_received, p.started_at)
                if silent <= limit:
                    continue
                self._calls.pop(p.id, None)
                p.sink.on_error(
                    IpcError(
                        f"server unavailable: no frame for {round(silent * 1000)} ms "
                        f"(heartbeat interval {self._heartbeat_ms} ms)",
                        Code.UNAVAILABLE,
                    )
                )
        self._ticks += 1
        # While the server does not answer (down, restarting), at most a few heartbeats wait in
        # the queues: enough to wake it once it is back, never a backlog that grows by one
        # frame per interval for as long as it is away.
        if self._ticks % 4 == 0 and self._unanswered_heartbeats < _MAX_UNANSWERED_HEARTBEATS:
            self._unanswered_heartbeats += 1
            self._post_control(_HEARTBEAT_FRAME)

    def _post_control(self, frame: bytes) -> None:
        try:
            self._channel.post(frame)
        except IpcError:
            pass  # Control frames are best effort; liveness is judged by what arrives.

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        if self._closed:
            sink.on_error(IpcError("transport is closed", Code.UNAVAILABLE))
            return _NOOP_HANDLE
        method = call.method
        try:
            loop = self._ensure_started(call.service)
        except IpcError as e:
            sink.on_error(e)
            return _NOOP_HANDLE
        self._check_service_hash(call.service)
        request_id = self._next_id
        self._next_id += 1
        try:
            frame = encode_envelope(
                FrameKind.REQUEST,
                request_id=request_id,
                method=method.path,
                deadline_unix_ms=call.deadline_unix_ms,
                payload=call.message.SerializeToString(),
                metadata=call.metadata or None,
            )
        except Exception as e:  # noqa: BLE001 - reported to the caller, not raised
            sink.on_error(IpcError.from_exception(e, Code.INTERNAL))
            return _NOOP_HANDLE
        pending = _PendingCall(self, request_id, method, sink, loop.time())
        self._calls[request_id] = pending
        try:
            self._channel.post(frame)
        except IpcError as e:
            del self._calls[request_id]
            sink.on_error(e)
            return _NOOP_HANDLE
        return pending

    def _check_service_hash(self, service: ServiceDescriptor) -> None:
        name, local = service.type_name, service.schema_hash
        if name in self._local_hashes:
            return
        self._local_hashes[name] = local
        remote = self._server_hashes.get(name) if self._server_hashes is not None else None
        if remote is not None and remote != local:
            self._warn_mismatch(name, local, remote)

    def _cancel_call(self, request_id: int) -> None:
        """The caller gave up on call ``request_id``: tell the server, forget the call."""
        if self._calls.pop(request_id, None) is None:
            return
        self._post_control(encode_envelope(FrameKind.CANCEL, request_id=request_id))

    # ClientFrameHandlers

    def on_frame_error(self, error: IpcError) -> None:
        # A refused frame cannot be matched to a call: that call fails by its deadline or the
        # heartbeat. It still shows the server is alive.
        if self._loop is not None:
            self._last_received = self._loop.time()
        _log.warning("protoipc: dropped a frame from the server: %s", error)

    def on_closed(self) -> None:
        """A stream channel's connection closed: what was sent on it gets no answer, so its
        calls fail with ``Code.UNAVAILABLE`` at once (ZeroMQ channels never call this)."""
        err = IpcError("connection to the server closed", Code.UNAVAILABLE)
        calls, self._calls = self._calls, {}
        for p in calls.values():
            p.sink.on_error(err)

    def on_frame(self, frame: bytes) -> None:
        self._unanswered_heartbeats = 0
        if self._loop is not None:
            self._last_received = self._loop.time()
        try:
            env = decode_envelope(frame)
        except IpcError as e:
            _log.warning("protoipc: dropped a malformed frame from the server: %s", e)
            return
        kind: int = env.kind
        if kind == FrameKind.RESPONSE:
            p = self._calls.pop(env.request_id, None)
            if p is None:
                return  # cancelled or timed out already
            try:
                out = p.method.output.FromString(env.payload)
            except DecodeError as e:
                p.sink.on_error(_decode_failure(p.method, "response", e))
                return
            p.sink.on_result(out)
        elif kind == FrameKind.ERROR:
            if env.request_id == 0:
                err = status_to_error(env.error if env.HasField("error") else None)
                _log.warning("protoipc: the server reported: %s", err)
                return
            p = self._calls.pop(env.request_id, None)
            if p is not None:
                p.sink.on_error(status_to_error(env.error if env.HasField("error") else None))
        elif kind == FrameKind.PROGRESS or kind == FrameKind.STREAM_ITEM:
            p = self._calls.get(env.request_id)
            if p is None:
                return
            if env.sequence != p.sequence + 1:
                self._fail_with_gap(p, env.sequence)
                return
            p.sequence = env.sequence
            desc = p.method.progress if kind == FrameKind.PROGRESS else p.method.output
            if desc is None:
                del self._calls[p.id]
                p.sink.on_error(
                    IpcError(
                        f"{p.method.path} received a progress update but is not a progress method",
                        Code.INTERNAL,
                    )
                )
                return
            try:
                m = desc.FromString(env.payload)
            except DecodeError as e:
                del self._calls[p.id]
                self._post_control(encode_envelope(FrameKind.CANCEL, request_id=p.id))
                p.sink.on_error(_decode_failure(p.method, "update", e))
                return
            p.sink.on_update(m)
        elif kind == FrameKind.END:
            p = self._calls.get(env.request_id)
            if p is None:
                return
            if env.sequence != p.sequence:
                self._fail_with_gap(p, env.sequence + 1)
                return
            del self._calls[p.id]
            p.sink.on_result(None)
        elif kind == FrameKind.HELLO:
            hashes = dict(env.hello.schema_hashes)
            self._server_hashes = hashes
            for name, local in self._local_hashes.items():
                remote = hashes.get(name)
                if remote is not None and remote != local:
                    self._warn_mismatch(name, local, remote)
        elif kind == FrameKind.HEARTBEAT:
            return
        else:
            _log.warning("protoipc: unexpected frame kind %d from the server", kind)

    def _warn_mismatch(self, name: str, local: str, remote: str) -> None:
        if name in self._warned:
            return
        self._warned.add(name)
        if self._on_schema_mismatch is not None:
            self._on_schema_mismatch(name, local, remote)
        else:
            _log.warning(
                "protoipc: schema of %s differs between client (%s) and server (%s); "
                "regenerate both from the same proto files",
                name,
                local[:12],
                remote[:12],
            )

    def _fail_with_gap(self, p: _PendingCall, got: int) -> None:
        self._calls.pop(p.id, None)
        self._post_control(encode_envelope(FrameKind.CANCEL, request_id=p.id))
        lost = got - p.sequence - 1
        p.sink.on_error(
            IpcError(
                f"{p.method.path}: update {got} arrived after {p.sequence}; "
                f"{lost if lost > 0 else 'some'} update(s) lost",
                Code.DATA_LOSS,
            )
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        err = IpcError("transport closed while the call was pending", Code.UNAVAILABLE)
        calls, self._calls = self._calls, {}
        for p in calls.values():
            p.sink.on_error(err)
        await self._channel.aclose()


def _decode_failure(method: MethodDescriptor[Any, Any, Any], what: str, e: Exception) -> IpcError:
    err = IpcError(f"cannot decode the {what} of {method.path}: {e}", Code.INTERNAL)
    err.__cause__ = e
    return err


# -- server ---------------------------------------------------------------------------------------


class _PeerState:
    __slots__ = ("calls", "last_received", "peer")

    def __init__(self, peer: FramePeer, now: float) -> None:
        self.peer = peer
        self.calls: dict[int, _ServerCall] = {}
        self.last_received = now


class _ServerCall(AbortState):
    """A call being served: its deadline timer, its cancel state, and the sink the dispatcher
    reports to (an :class:`~protoipc.transport.IncomingCall`)."""

    __slots__ = (
        "_sequence",
        "_server",
        "_st",
        "_timer",
        "deadline_unix_ms",
        "done",
        "id",
        "metadata",
        "method",
    )

    def __init__(
        self,
        server: NativeServerTransport,
        st: _PeerState,
        request_id: int,
        method: MethodDescriptor[Any, Any, Any],
        deadline_unix_ms: int,
        metadata: Mapping[str, str],
    ) -> None:
        self._server = server
        self._st = st
        self.id = request_id
        self.method = method
        self.deadline_unix_ms = deadline_unix_ms
        self.metadata = metadata
        self.done = False
        self._reason: IpcError | None = None
        self._sequence = 0
        self._callbacks: list[Callable[[IpcError], None]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def peer(self) -> str:
        return self._st.peer.key

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Starts the deadline timer, unless the call has ended already."""
        if self.done:
            return
        delay = max(0.0, (self.deadline_unix_ms - _now_ms()) / 1000)
        self._timer = loop.call_later(delay, self._on_deadline)

    def abort(self, reason: IpcError) -> None:
        """Ends the call without answering and cancels the handler."""
        self._end()
        self._notify_abort(reason, self.method.path)

    def _on_deadline(self) -> None:
        self._timer = None
        if self.done:
            return
        err = IpcError(f"deadline exceeded while {self.method.path} ran", Code.DEADLINE_EXCEEDED)
        self.abort(err)
        self._server._post(self._st.peer, _error_frame(self.id, err))

    async def update(self, message: Message) -> None:
        if self.done:
            raise self._reason or IpcError("call has ended", Code.CANCELED)
        progress = self.method.kind == "progress"
        self._sequence += 1
        frame = encode_envelope(
            FrameKind.PROGRESS if progress else FrameKind.STREAM_ITEM,
            request_id=self.id,
            sequence=self._sequence,
            payload=message.SerializeToString(),
        )
        await self._server._channel.send(self._st.peer, frame)

    def result(self, message: Message | None) -> None:
        if self.done:
            return
        self._end()
        if message is None:
            frame = encode_envelope(FrameKind.END, request_id=self.id, sequence=self._sequence)
        else:
            frame = encode_envelope(
                FrameKind.RESPONSE, request_id=self.id, payload=message.SerializeToString()
            )
        if len(frame) > self._server._channel.max_frame_bytes:
            # Answer something the client can read rather than leave it waiting for its deadline.
            err = IpcError(
                f"response of {self.method.path}: frame of {len(frame)} bytes exceeds "
                f"maxFrameBytes {self._server._channel.max_frame_bytes}",
                Code.RESOURCE_EXHAUSTED,
            )
            frame = _error_frame(self.id, err)
        self._server._post(self._st.peer, frame)

    def error(self, error: IpcError) -> None:
        if self.done:
            return
        self._end()
        self._server._post(self._st.peer, _error_frame(self.id, error))

    def _end(self) -> None:
        if self.done:
            return
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._st.calls.pop(self.id, None)


class NativeServerTransport(ServerTransport):
    """The server side of the native binding on a frame channel; owns ``channel``.

    :param heartbeat_interval_ms: the interval the server advertises in its hello, in
        milliseconds; default 1000. A client that sends nothing for 3 intervals is presumed dead:
        its handlers are cancelled with ``Code.UNAVAILABLE`` and its state is dropped.
    :param max_calls_per_peer: most calls in flight per client; default 4096. More fail with
        ``Code.RESOURCE_EXHAUSTED``.
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``heartbeat_interval_ms`` <= 0
    """

    def __init__(
        self,
        channel: ServerFrameChannel,
        *,
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
        max_calls_per_peer: int = DEFAULT_MAX_CALLS_PER_PEER,
    ) -> None:
        _check_heartbeat(heartbeat_interval_ms)
        self._channel = channel
        self._heartbeat_ms = heartbeat_interval_ms
        self._max_calls_per_peer = max_calls_per_peer
        self._peers: dict[str, _PeerState] = {}
        self._dispatcher: Dispatcher | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def channel(self) -> ServerFrameChannel:
        """The frame channel (e.g. to read the bound address of a ZeroMQ channel)."""
        return self._channel

    async def listen(self, dispatcher: Dispatcher) -> None:
        if self._dispatcher is not None:
            raise IpcError("server transport is already listening", Code.FAILED_PRECONDITION)
        if self._closed:
            raise IpcError("server transport is closed", Code.UNAVAILABLE)
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        await self._channel.start(self)
        self._sweeper = self._loop.call_later(self._heartbeat_ms / 1000, self._sweep)

    def _post(self, peer: FramePeer, frame: bytes) -> None:
        try:
            self._channel.post(peer, frame)
        except IpcError:
            pass  # The peer is gone or the server closed; its calls end by cancel or sweep.

    # ServerFrameHandlers

    def on_frame_error(self, peer: FramePeer, error: IpcError, head: bytes) -> None:
        self._post(peer, _error_frame(peek_request_id(head), error))

    def on_frame(self, peer: FramePeer, frame: bytes) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        st = self._peers.get(peer.key)
        if st is None:
            st = _PeerState(peer, now)
            self._peers[peer.key] = st
        else:
            st.last_received = now
        try:
            env = decode_envelope(frame)
        except IpcError as e:
            self._post(peer, _error_frame(peek_request_id(frame[:16]), e))
            return
        kind: int = env.kind
        if kind == FrameKind.REQUEST:
            self._on_request(st, env, loop)
        elif kind == FrameKind.CANCEL:
            call = st.calls.get(env.request_id)
            if call is not None:
                call.abort(IpcError("call cancelled by the client", Code.CANCELED))
        elif kind == FrameKind.HEARTBEAT:
            self._post(peer, _HEARTBEAT_FRAME)
        elif kind == FrameKind.HELLO:
            hashes = self._dispatcher.schema_hashes() if self._dispatcher is not None else {}
            hello = envelope_pb2.Hello(
                protocol_version=NATIVE_PROTOCOL_VERSION,
                schema_hashes=hashes,
                heartbeat_interval_ms=self._heartbeat_ms,
                max_frame_bytes=self._channel.max_frame_bytes,
            )
            self._post(peer, encode_envelope(FrameKind.HELLO, hello=hello))
        else:
            self._post(
                peer,
                _error_frame(
                    env.request_id,
                    IpcError(f"unexpected frame kind {kind} from a client", Code.INVALID_ARGUMENT),
                ),
            )

    def _refuse(self, peer: FramePeer, request_id: int, err: IpcError) -> None:
        self._post(peer, _error_frame(request_id, err))

    def _on_request(
        self, st: _PeerState, env: envelope_pb2.Envelope, loop: asyncio.AbstractEventLoop
    ) -> None:
        request_id = env.request_id
        peer = st.peer
        dispatcher = self._dispatcher
        if dispatcher is None or self._closed:
            self._refuse(peer, request_id, IpcError("server is closing", Code.UNAVAILABLE))
            return
        if request_id == 0:
            self._refuse(
                peer, 0, IpcError("request without a request id", Code.INVALID_ARGUMENT)
            )
            return
        if request_id in st.calls:
            self._refuse(
                peer,
                request_id,
                IpcError(f"request id {request_id} is already in flight", Code.INVALID_ARGUMENT),
            )
            return
        if len(st.calls) >= self._max_calls_per_peer:
            self._refuse(
                peer,
                request_id,
                IpcError(
                    f"{len(st.calls)} calls in flight exceed maxCallsPerPeer "
                    f"{self._max_calls_per_peer}",
                    Code.RESOURCE_EXHAUSTED,
                ),
            )
            return
        method = dispatcher.lookup(env.method)
        if method is None:
            self._refuse(
                peer,
                request_id,
                IpcError(
                    f"method {env.method or '(empty)'} is not implemented", Code.UNIMPLEMENTED
                ),
            )
            return
        now = _now_ms()
        deadline = env.deadline_unix_ms
        if deadline == 0:
            deadline = now + dispatcher.timeout_ms(method)
        if deadline <= now:
            self._refuse(
                peer,
                request_id,
                IpcError(
                    f"deadline passed {now - deadline} ms before {method.path} arrived; "
                    "not executed",
                    Code.DEADLINE_EXCEEDED,
                ),
            )
            return
        try:
            request = method.input.FromString(env.payload)
        except DecodeError as e:
            self._refuse(
                peer,
                request_id,
                IpcError(f"malformed request for {method.path}: {e}", Code.INVALID_ARGUMENT),
            )
            return
        call = _ServerCall(self, st, request_id, method, deadline, dict(env.metadata))
        st.calls[request_id] = call
        dispatcher.invoke(request, call)
        # Arm the deadline timer only after the handler's first step: most calls finish in it, and
        # a timer armed and cancelled per call was a tenth of the server's CPU (bench profile).
        loop.call_soon(call.arm, loop)

    def _sweep(self) -> None:
        """Drops clients silent for 3 heartbeat intervals, cancelling their calls."""
        loop = self._loop
        if self._closed or loop is None:
            return
        self._sweeper = loop.call_later(self._heartbeat_ms / 1000, self._sweep)
        cutoff = loop.time() - 3 * self._heartbeat_ms / 1000
        for key, st in list(self._peers.items()):
            if st.last_received >= cutoff:
                continue
            err = IpcError("client stopped sending heartbeats", Code.UNAVAILABLE)
            for call in list(st.calls.values()):
                call.abort(err)
            del self._peers[key]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        err = IpcError("server closed", Code.UNAVAILABLE)
        peers, self._peers = self._peers, {}
        for st in peers.values():
            for call in list(st.calls.values()):
                self._post(st.peer, _error_frame(call.id, err))
                call.abort(err)
        await self._channel.aclose()

