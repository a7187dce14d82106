"""The ZeroMQ transport: the native binding over a DEALER (client) and a ROUTER (server) socket,
``ipc://`` and ``tcp://``, on :mod:`zmq.asyncio`.

Behaves like packages/zeromq (dealer-channel.ts, router-channel.ts):

- one ZeroMQ message carries one or more frames, one per part (after the routing id at the
  ROUTER): the writer batches frames queued together (up to 32 frames or 256 KiB) into one
  multipart message, and the reader treats every part as a frame;
- a part over ``max_frame_bytes`` is refused before decoding (the ROUTER answers an error frame
  naming the request id peeked from the part's first bytes); libzmq itself refuses messages over
  ``2 × max_frame_bytes + 64 KiB`` (ZMQ_MAXMSGSIZE) before allocating them;
- each socket is owned by one reader task and one writer task, fed by a bounded writer queue
  (``write_queue_frames``; ``send`` waits while it is full);
- the DEALER reconnects by itself (ZMQ_RECONNECT_IVL 100 ms, backing off to at most the
  heartbeat interval), so a restarted server is found again before calls fail;
- the ROUTER is ROUTER_MANDATORY (a frame for a peer that is gone is dropped and counted, not
  silently swallowed) and ROUTER_HANDOVER; a peer whose queue stays full for
  ``peer_stall_timeout_ms`` has its frames dropped and counted, so it cannot hold up the others;
- sockets linger 0: closing drops unsent frames and never waits for a peer. A ROUTER's ``ipc://``
  socket file is made 0600 after binding and removed on close; bind inside a private (0700)
  directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import zmq
import zmq.asyncio

from protoipc.errors import Code, IpcError
from protoipc.frames import (
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_WRITE_QUEUE_FRAMES,
    FRAME_HEAD_BYTES,
    ClientFrameChannel,
    ClientFrameHandlers,
    FramePeer,
    ServerFrameChannel,
    ServerFrameHandlers,
    channel_closed_error,
    frame_too_large_error,
)
from protoipc.interceptor import Interceptor
from protoipc.native import (
    DEFAULT_HEARTBEAT_INTERVAL_MS,
    DEFAULT_MAX_CALLS_PER_PEER,
    NativeClientTransport,
    NativeServerTransport,
    SchemaMismatchHandler,
)
from protoipc.server import create_server
from protoipc.write_queue import WriteQueue

__all__ = [
    "DEFAULT_ZMQ_HIGH_WATER_MARK",
    "DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_FRAMES",
    "ZmqClientTransport",
    "ZmqDealerChannel",
    "ZmqRouterChannel",
    "ZmqServerTransport",
    "create_zmq_server_transport",
    "create_zmq_transport",
    "serve",
]

DEFAULT_ZMQ_HIGH_WATER_MARK = 1000
"""Default ZMQ_SNDHWM / ZMQ_RCVHWM, in messages per peer and direction (libzmq's default)."""

DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS = 1000
"""Default interval of ZMTP PING heartbeats (the transport keepalive), in milliseconds."""

MAX_BATCH_FRAMES = 32
"""Most frames a writer puts into one ZeroMQ message."""

MAX_BATCH_BYTES = 256 * 1024
"""A batch stops growing once it holds this many bytes."""

_MAX_MESSAGE_SIZE_HEADROOM_BYTES = 64 * 1024
_INT32_MAX = 2**31 - 1
_CLOSE_WAIT_S = 1.0
_ENDPOINT = re.compile(r"^(ipc|tcp)://.+")

_log = logging.getLogger("protoipc")
_monitor_ids = itertools.count(1)


def _check_endpoint(name: str, endpoint: str) -> str:
    if not isinstance(endpoint, str) or not _ENDPOINT.match(endpoint):
        raise IpcError(
            f"{name} of {endpoint!r} is not an ipc:// or tcp:// endpoint", Code.INVALID_ARGUMENT
        )
    return endpoint


def _check_int(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IpcError(
            f"{name} of {value!r} is not an integer from {low} to {high}", Code.INVALID_ARGUMENT
        )
    return value


def _describe(error: zmq.ZMQError) -> str:
    text = str(error)
    text = text[:1].lower() + text[1:]
    name: str | None = None
    if error.errno is not None:
        with contextlib.suppress(ValueError):
            name = zmq.Errno(error.errno).name
    return text if name is None or name in text else f"{text} ({name})"


@dataclass(frozen=True)
class _SocketOptions:
    """Options shared by both channels, checked."""

    max_frame_bytes: int
    write_queue_frames: int
    send_high_water_mark: int
    receive_high_water_mark: int
    zmtp_heartbeat_interval_ms: int
    zmtp_heartbeat_timeout_ms: int

    @staticmethod
    def resolve(
        max_frame_bytes: int,
        write_queue_frames: int,
        send_high_water_mark: int,
        receive_high_water_mark: int,
        zmtp_heartbeat_interval_ms: int,
        zmtp_heartbeat_timeout_ms: int | None,
    ) -> _SocketOptions:
        ivl = _check_int("zmtp_heartbeat_interval_ms", zmtp_heartbeat_interval_ms, 0, _INT32_MAX)
        return _SocketOptions(
            max_frame_bytes=_check_int("max_frame_bytes", max_frame_bytes, 1, _INT32_MAX // 4),
            write_queue_frames=_check_int("write_queue_frames", write_queue_frames, 1, _INT32_MAX),
            send_high_water_mark=_check_int(
                "send_high_water_mark", send_high_water_mark, 0, _INT32_MAX
            ),
            receive_high_water_mark=_check_int(
                "receive_high_water_mark", receive_high_water_mark, 0, _INT32_MAX
            ),
            zmtp_heartbeat_interval_ms=ivl,
            # ZMQ_HEARTBEAT_TTL travels in deciseconds in a 16-bit field (max 6553.5 s).
            zmtp_heartbeat_timeout_ms=_check_int(
                "zmtp_heartbeat_timeout_ms",
                zmtp_heartbeat_timeout_ms if zmtp_heartbeat_timeout_ms is not None else 3 * ivl,
                0,
                6_553_500,
            ),
        )

    def apply(self, sock: zmq.asyncio.Socket) -> None:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, 2 * self.max_frame_bytes + _MAX_MESSAGE_SIZE_HEADROOM_BYTES)
        sock.setsockopt(zmq.SNDHWM, self.send_high_water_mark)
        sock.setsockopt(zmq.RCVHWM, self.receive_high_water_mark)
        if self.zmtp_heartbeat_interval_ms > 0:
            sock.setsockopt(zmq.HEARTBEAT_IVL, self.zmtp_heartbeat_interval_ms)
            sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, self.zmtp_heartbeat_timeout_ms)
            sock.setsockopt(zmq.HEARTBEAT_TTL, self.zmtp_heartbeat_timeout_ms)


async def _stop_tasks(*tasks: asyncio.Task[None] | None) -> None:
    live = [t for t in tasks if t is not None]
    for t in live:
        t.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)


# -- DEALER ---------------------------------------------------------------------------------------


class ZmqDealerChannel(ClientFrameChannel):
    """A client frame channel over one DEALER socket connected to ``address``.

    The socket is created and connected by :meth:`start`; connecting is asynchronous and retried
    forever, so frames sent before the server is up wait in libzmq's queue (up to
    ``send_high_water_mark``), then in the writer queue (up to ``write_queue_frames``), then
    :meth:`send` waits. The binding owns the channel and closes it.
    """

    def __init__(
        self,
        address: str,
        options: _SocketOptions,
        *,
        reconnect_interval_ms: int,
        reconnect_max_interval_ms: int,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        self.address = _check_endpoint("address", address)
        self.max_frame_bytes = options.max_frame_bytes
        self._options = options
        self._reconnect_ivl = _check_int(
            "reconnect_interval_ms", reconnect_interval_ms, 1, _INT32_MAX
        )
        self._reconnect_max = _check_int(
            "reconnect_max_interval_ms", reconnect_max_interval_ms, 0, _INT32_MAX
        )
        self._context = context
        self._queue: WriteQueue[bytes] = WriteQueue(options.write_queue_frames)
        self._socket: zmq.asyncio.Socket | None = None
        self._handlers: ClientFrameHandlers | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, handlers: ClientFrameHandlers) -> None:
        if self._closed:
            raise channel_closed_error(f"dealer channel to {self.address}")
        if self._socket is not None:
            raise IpcError(
                f"dealer channel to {self.address} is started already", Code.FAILED_PRECONDITION
            )
        context = self._context or zmq.asyncio.Context.instance()
        sock = context.socket(zmq.DEALER)
        try:
            self._options.apply(sock)
            sock.setsockopt(zmq.RECONNECT_IVL, self._reconnect_ivl)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, self._reconnect_max)
            sock.connect(self.address)
        except zmq.ZMQError as e:
            sock.close(linger=0)
            self._closed = True
            self._queue.close(channel_closed_error(f"dealer channel to {self.address}"))
            raise IpcError(
                f"cannot connect to {self.address}: {_describe(e)}", Code.INVALID_ARGUMENT
            ) from e
        self._socket = sock
        self._handlers = handlers
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read_loop(sock, handlers))
        self._writer = loop.create_task(self._write_loop(sock))

    def post(self, frame: bytes) -> None:
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        self._queue.post(frame)

    async def send(self, frame: bytes) -> None:
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        await self._queue.put(frame)

    async def aclose(self) -> None:
        if self._closed and self._socket is None:
            return
        self._closed = True
        self._queue.close(channel_closed_error(f"dealer channel to {self.address}"))
        await _stop_tasks(self._reader, self._writer)
        self._reader = self._writer = None
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close(linger=0)

    async def _write_loop(self, sock: zmq.asyncio.Socket) -> None:
        """The only sender on the socket. Frames stay in the queue until sent, so the queue's
        bound holds while a send waits for room."""
        queue = self._queue
        while True:
            await queue.wait_ready()
            if queue.closed:
                return
            count = min(len(queue), MAX_BATCH_FRAMES)
            batch = [queue.peek(0)]
            size = len(batch[0])
            for i in range(1, count):
                if size >= MAX_BATCH_BYTES:
                    break
                frame = queue.peek(i)
                batch.append(frame)
                size += len(frame)
            try:
                # Waits for room (high-water mark) without blocking the loop.
                await sock.send_multipart(batch)
            except zmq.ZMQError as e:
                if self._closed:
                    return
                queue.shift(len(batch))
                self._report(
                    IpcError(
                        f"send to {self.address} failed ({_describe(e)}), "
                        f"{len(batch)} frame(s) dropped",
                        Code.UNAVAILABLE,
                    )
                )
                continue
            queue.shift(len(batch))

    async def _read_loop(self, sock: zmq.asyncio.Socket, handlers: ClientFrameHandlers) -> None:
        """The only receiver on the socket. Checks each part before handing it on."""
        max_frame_bytes = self.max_frame_bytes
        while True:
            try:
                parts = await sock.recv_multipart()
            except zmq.ZMQError as e:
                if not self._closed:
                    self._report(
                        IpcError(
                            f"receive from {self.address} failed ({_describe(e)}), reader stopped",
                            Code.UNAVAILABLE,
                        )
                    )
                return
            # One frame per part: a peer may batch frames queued together.
            for frame in parts:
                if len(frame) > max_frame_bytes:
                    self._report(frame_too_large_error(len(frame), max_frame_bytes))
                    continue
                try:
                    handlers.on_frame(frame)
                except Exception as e:  # noqa: BLE001 - a binding bug must not stop the reader
                    self._report(IpcError.from_exception(e, Code.INTERNAL))

    def _report(self, error: IpcError) -> None:
        handlers = self._handlers
        if handlers is None:
            return
        try:
            handlers.on_frame_error(error)
        except Exception:  # noqa: BLE001
            _log.exception("protoipc: frame error handler failed")


# -- ROUTER ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ZmqPeer(FramePeer):
    routing_id: bytes = b""


class ZmqRouterChannel(ServerFrameChannel):
    """A server frame channel over one ROUTER socket bound to ``bind``. A peer's key is its
    routing id in hex (libzmq assigns 5-byte ids: ``006b8b4567``). The binding owns it."""

    def __init__(
        self,
        bind: str,
        options: _SocketOptions,
        *,
        peer_stall_timeout_ms: int,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        self.bind = _check_endpoint("bind", bind)
        self.max_frame_bytes = options.max_frame_bytes
        self.address: str | None = None
        """The endpoint actually bound (``tcp://127.0.0.1:*`` resolved), once started."""
        self.dropped_frames = 0
        """Frames accepted and then dropped: their peer was gone, or stalled for
        ``peer_stall_timeout_ms``."""
        self._options = options
        self._stall_timeout_s = (
            _check_int("peer_stall_timeout_ms", peer_stall_timeout_ms, 1, _INT32_MAX) / 1000
        )
        self._context = context
        self._queue: WriteQueue[tuple[_ZmqPeer, bytes]] = WriteQueue(options.write_queue_frames)
        self._socket: zmq.asyncio.Socket | None = None
        self._monitor: zmq.asyncio.Socket | None = None
        self._handlers: ServerFrameHandlers | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._stalled: set[bytes] = set()
        self._ipc_file: tuple[str, int, int] | None = None
        self._started = False
        self._closed = False
        self._closing: asyncio.Future[None] | None = None

    async def start(self, handlers: ServerFrameHandlers) -> None:
        if self._closed:
            raise channel_closed_error(f"router channel on {self.bind}")
        if self._started:
            raise IpcError(
                f"router channel on {self.bind} is started already", Code.FAILED_PRECONDITION
            )
        self._started = True
        context = self._context or zmq.asyncio.Context.instance()
        sock = context.socket(zmq.ROUTER)
        monitor: zmq.asyncio.Socket | None = None
        try:
            self._options.apply(sock)
            # EHOSTUNREACH instead of a silent drop for a gone peer, EAGAIN for a full one.
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            # A reconnecting client that sets its own routing id takes over the old connection.
            sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
            sock.bind(self.bind)
            # MONITOR_STOPPED arrives once libzmq released the socket, so `aclose` can wait for
            # the endpoint to be free before returning.
            # (A unique inproc name: pyzmq's default derives it from the socket's fd, which a new
            # socket may reuse while libzmq still holds the old name.)
            monitor = sock.get_monitor_socket(
                zmq.EVENT_MONITOR_STOPPED,
                addr=f"inproc://protoipc-monitor-{os.getpid()}-{next(_monitor_ids)}",
            )
        except zmq.ZMQError as e:
            if monitor is not None:
                monitor.close(linger=0)
            sock.close(linger=0)
            self._closed = True
            self._queue.close(channel_closed_error(f"router channel on {self.bind}"))
            raise IpcError(f"cannot bind {self.bind}: {_describe(e)}", Code.UNAVAILABLE) from e
        self._socket = sock
        self._monitor = monitor
        self.address = sock.getsockopt_string(zmq.LAST_ENDPOINT) or self.bind
        self._protect_ipc_file(self.address)
        self._handlers = handlers
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read_loop(sock, handlers))
        self._writer = loop.create_task(self._write_loop(sock))

    def post(self, peer: FramePeer, frame: bytes) -> None:
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        self._queue.post((_as_zmq_peer(peer), frame))

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        await self._queue.put((_as_zmq_peer(peer), frame))

    async def aclose(self) -> None:
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._teardown())
        await asyncio.shield(self._closing)

    async def _teardown(self) -> None:
        self._closed = True
        self._queue.close(channel_closed_error(f"router channel on {self.bind}"))
        await _stop_tasks(self._reader, self._writer)
        sock, self._socket = self._socket, None
        monitor, self._monitor = self._monitor, None
        if sock is not None:
            sock.close(linger=0)
        if monitor is not None:
            with contextlib.suppress(asyncio.TimeoutError, zmq.ZMQError):
                await asyncio.wait_for(monitor.recv_multipart(), _CLOSE_WAIT_S)
            monitor.close(linger=0)
        self._remove_ipc_file()

    def _protect_ipc_file(self, endpoint: str) -> None:
        path = _ipc_path(endpoint)
        if path is None:
            return
        try:
            os.chmod(path, 0o600)
            st = os.lstat(path)
            self._ipc_file = (path, st.st_dev, st.st_ino)
        except OSError:
            pass  # The directory's permissions are the real protection.

    def _remove_ipc_file(self) -> None:
        file, self._ipc_file = self._ipc_file, None
        if file is None:
            return
        path, dev, ino = file
        try:
            st = os.lstat(path)
            # Someone may have bound the path again since; their file is not ours to remove.
            if st.st_dev == dev and st.st_ino == ino:
                os.unlink(path)
        except OSError:
            pass

    async def _write_loop(self, sock: zmq.asyncio.Socket) -> None:
        """The only sender on the socket. Consecutive frames for one peer leave together as
        ``[routing id, frame, frame, ...]``; they leave the queue once sent or dropped."""
        queue = self._queue
        loop = asyncio.get_running_loop()
        stall_since = 0.0
        retries = 0
        while True:
            await queue.wait_ready()
            if queue.closed:
                return
            peer, first = queue.peek(0)
            parts = [peer.routing_id, first]
            size = len(first)
            for i in range(1, min(len(queue), MAX_BATCH_FRAMES)):
                if size >= MAX_BATCH_BYTES:
                    break
                next_peer, frame = queue.peek(i)
                if next_peer.routing_id != peer.routing_id:
                    break
                parts.append(frame)
                size += len(frame)
            frames = len(parts) - 1
            try:
                await sock.send_multipart(parts, flags=zmq.NOBLOCK)
            except zmq.Again:
                if peer.routing_id not in self._stalled:
                    now = loop.time()
                    if retries == 0:
                        stall_since = now
                    if now - stall_since < self._stall_timeout_s:
                        # The peer reads too slowly: a few loop turns first, then timers
                        # doubling from 1 ms to 64 ms.
                        delay_ms = 0 if retries < 8 else min(2 ** (retries - 8), 64)
                        await asyncio.sleep(delay_ms / 1000)
                        retries += 1
                        continue
                    # Waited the stall timeout once: its later frames must not make the others
                    # wait that long again; they are dropped at once until one gets through.
                    if len(self._stalled) > 4096:
                        self._stalled.clear()
                    self._stalled.add(peer.routing_id)
                self._drop(frames)
                retries = 0
                continue
            except zmq.ZMQError as e:
                if self._closed:
                    return
                # EHOSTUNREACH: the peer is gone. Anything else: drop too, and go on.
                if e.errno != zmq.EHOSTUNREACH:
                    _log.warning("protoipc: router send failed: %s", _describe(e))
                self._stalled.discard(peer.routing_id)
                self._drop(frames)
                retries = 0
                continue
            queue.shift(frames)
            retries = 0
            if self._stalled:
                self._stalled.discard(peer.routing_id)

    def _drop(self, frames: int) -> None:
        self._queue.shift(frames)
        self.dropped_frames += frames

    async def _read_loop(self, sock: zmq.asyncio.Socket, handlers: ServerFrameHandlers) -> None:
        """The only receiver on the socket. Checks each part before handing it on."""
        max_frame_bytes = self.max_frame_bytes
        while True:
            try:
                message = await sock.recv_multipart()
            except zmq.ZMQError as e:
                if not self._closed:
                    _log.error("protoipc: router receive failed, reader stopped: %s", _describe(e))
                return
            routing_id = message[0]
            peer = _ZmqPeer(routing_id.hex(), routing_id)
            if len(message) < 2:
                self._report(
                    peer,
                    IpcError(
                        f"message of {len(message)} parts, expected 2 (routing id and a frame)",
                        Code.INVALID_ARGUMENT,
                    ),
                    b"",
                )
                continue
            # One frame per part after the routing id: a peer may batch frames.
            for frame in message[1:]:
                if len(frame) > max_frame_bytes:
                    error = frame_too_large_error(len(frame), max_frame_bytes)
                    self._report(peer, error, frame[:FRAME_HEAD_BYTES])
                    continue
                try:
                    handlers.on_frame(peer, frame)
                except Exception as e:  # noqa: BLE001 - a binding bug must not stop the reader
                    error = IpcError.from_exception(e, Code.INTERNAL)
                    self._report(peer, error, frame[:FRAME_HEAD_BYTES])

    def _report(self, peer: FramePeer, error: IpcError, head: bytes) -> None:
        handlers = self._handlers
        if handlers is None:
            return
        try:
            handlers.on_frame_error(peer, error, head)
        except Exception:  # noqa: BLE001
            _log.exception("protoipc: frame error handler failed")


def _as_zmq_peer(peer: FramePeer) -> _ZmqPeer:
    if isinstance(peer, _ZmqPeer):
        return peer
    try:
        routing_id = bytes.fromhex(peer.key)
    except ValueError:
        routing_id = b""
    if not 1 <= len(routing_id) <= 255:
        raise IpcError(
            f"peer key {peer.key!r} is not a routing id in hex (1 to 255 bytes)",
            Code.INVALID_ARGUMENT,
        )
    return _ZmqPeer(peer.key, routing_id)


def _ipc_path(endpoint: str) -> str | None:
    if not endpoint.startswith("ipc://"):
        return None
    path = endpoint[len("ipc://") :]
    return None if path.startswith("@") else path


# -- transports -----------------------------------------------------------------------------------


class ZmqClientTransport(NativeClientTransport):
    """The native binding's client side over a DEALER channel (see
    :func:`create_zmq_transport`)."""

    def __init__(
        self,
        channel: ZmqDealerChannel,
        *,
        heartbeat_interval_ms: int,
        on_schema_mismatch: SchemaMismatchHandler | None,
    ) -> None:
        super().__init__(
            channel,
            heartbeat_interval_ms=heartbeat_interval_ms,
            on_schema_mismatch=on_schema_mismatch,
        )
        self.address = channel.address
        """The endpoint the transport connects to, as given."""


class ZmqServerTransport(NativeServerTransport):
    """The native binding's server side over a ROUTER channel (see
    :func:`create_zmq_server_transport`)."""

    def __init__(
        self, channel: ZmqRouterChannel, *, heartbeat_interval_ms: int, max_calls_per_peer: int
    ) -> None:
        super().__init__(
            channel,
            heartbeat_interval_ms=heartbeat_interval_ms,
            max_calls_per_peer=max_calls_per_peer,
        )
        self._router = channel

    @property
    def address(self) -> str | None:
        """The endpoint actually bound (a ``tcp://host:*`` wildcard resolved to its port), once
        listening; ``None`` before."""
        return self._router.address

    @property
    def dropped_frames(self) -> int:
        """Frames dropped because their peer was gone or stalled."""
        return self._router.dropped_frames


def create_zmq_transport(
    address: str,
    *,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    write_queue_frames: int = DEFAULT_WRITE_QUEUE_FRAMES,
    send_high_water_mark: int = DEFAULT_ZMQ_HIGH_WATER_MARK,
    receive_high_water_mark: int = DEFAULT_ZMQ_HIGH_WATER_MARK,
    zmtp_heartbeat_interval_ms: int = DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS,
    zmtp_heartbeat_timeout_ms: int | None = None,
    reconnect_interval_ms: int | None = None,
    reconnect_max_interval_ms: int | None = None,
    on_schema_mismatch: SchemaMismatchHandler | None = None,
    context: zmq.asyncio.Context | None = None,
) -> ZmqClientTransport:
    """A client transport speaking the native binding over a DEALER socket connected to
    ``address`` (``ipc:///path/to/socket`` or ``tcp://host:port``).

    The socket is created on the first call (on the running loop) and connects in the
    background, retrying forever; calls made before the server is up wait, and fail with
    ``Code.UNAVAILABLE`` when nothing answers for 2.5 heartbeat intervals. The caller owns the
    transport: ``await transport.aclose()`` (or ``async with``) fails pending calls with
    ``Code.UNAVAILABLE`` and closes the socket.

    :param heartbeat_interval_ms: application heartbeat interval, in milliseconds; default 1000
    :param max_frame_bytes: largest frame sent or accepted, in bytes; default 4 MiB. A larger
        request fails with ``Code.RESOURCE_EXHAUSTED``
    :param write_queue_frames: frames queued before senders wait; default 1024
    :param send_high_water_mark: ZMQ_SNDHWM, in messages; default 1000
    :param receive_high_water_mark: ZMQ_RCVHWM, in messages; default 1000
    :param zmtp_heartbeat_interval_ms: ZMTP PING interval (transport keepalive), in
        milliseconds; default 1000; 0 disables it
    :param zmtp_heartbeat_timeout_ms: ZMQ_HEARTBEAT_TIMEOUT/TTL, in milliseconds; default 3 ×
        ``zmtp_heartbeat_interval_ms``
    :param reconnect_interval_ms: ZMQ_RECONNECT_IVL, in milliseconds; default 100 (at most the
        heartbeat interval)
    :param reconnect_max_interval_ms: ZMQ_RECONNECT_IVL_MAX, in milliseconds; default the
        heartbeat interval capped at 2000, so a restarted server is found before the liveness
        window fails the calls waiting for it
    :param on_schema_mismatch: see :class:`~protoipc.native.NativeClientTransport`
    :param context: the ZeroMQ context; default ``zmq.asyncio.Context.instance()``
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when an option is out of range or ``address``
        is not an ``ipc://`` or ``tcp://`` endpoint
    """
    options = _SocketOptions.resolve(
        max_frame_bytes,
        write_queue_frames,
        send_high_water_mark,
        receive_high_water_mark,
        zmtp_heartbeat_interval_ms,
        zmtp_heartbeat_timeout_ms,
    )
    heartbeat = _check_int("heartbeat_interval_ms", heartbeat_interval_ms, 1, _INT32_MAX)
    ivl = reconnect_interval_ms if reconnect_interval_ms is not None else min(100, heartbeat)
    ivl_max = (
        reconnect_max_interval_ms
        if reconnect_max_interval_ms is not None
        else max(ivl, min(2000, heartbeat))
    )
    channel = ZmqDealerChannel(
        address,
        options,
        reconnect_interval_ms=ivl,
        reconnect_max_interval_ms=ivl_max,
        context=context,
    )
    return ZmqClientTransport(
        channel, heartbeat_interval_ms=heartbeat, on_schema_mismatch=on_schema_mismatch
    )


def create_zmq_server_transport(
    bind: str,
    *,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    write_queue_frames: int = DEFAULT_WRITE_QUEUE_FRAMES,
    send_high_water_mark: int = DEFAULT_ZMQ_HIGH_WATER_MARK,
    receive_high_water_mark: int = DEFAULT_ZMQ_HIGH_WATER_MARK,
    zmtp_heartbeat_interval_ms: int = DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS,
    zmtp_heartbeat_timeout_ms: int | None = None,
    peer_stall_timeout_ms: int = 5000,
    max_calls_per_peer: int = DEFAULT_MAX_CALLS_PER_PEER,
    context: zmq.asyncio.Context | None = None,
) -> ZmqServerTransport:
    """A server transport speaking the native binding over a ROUTER socket, bound to ``bind``
    (``ipc:///path/to/socket``, ``tcp://host:port``; ``tcp://127.0.0.1:*`` picks a free port,
    read it from ``transport.address``) when the server listens.

    For ``ipc://``, the path must lie in a private (0700) directory; the socket file is made 0600
    and removed on close. The server that listens on the transport owns it: closing it cancels
    running handlers with ``Code.UNAVAILABLE``, closes the socket and waits (at most 1 s) until
    libzmq has released the endpoint, so it can be bound again at once.

    :param heartbeat_interval_ms: advertised application heartbeat interval, in milliseconds;
        a client silent for 3 intervals is dropped and its handlers cancelled; default 1000
    :param max_frame_bytes: largest frame sent or accepted, in bytes; default 4 MiB. A larger
        request is answered ``Code.RESOURCE_EXHAUSTED`` naming its request id
    :param peer_stall_timeout_ms: how long frames for a peer whose queue is full are retried
        before they are dropped (and counted), in milliseconds; default 5000
    :param max_calls_per_peer: most calls in flight per client; default 4096
    :param context: the ZeroMQ context; default ``zmq.asyncio.Context.instance()``
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when an option is out of range or ``bind`` is
        not an ``ipc://`` or ``tcp://`` endpoint (binding errors surface from
        ``server.listen()`` as ``Code.UNAVAILABLE``)

    Other parameters as for :func:`create_zmq_transport`.
    """
    options = _SocketOptions.resolve(
        max_frame_bytes,
        write_queue_frames,
        send_high_water_mark,
        receive_high_water_mark,
        zmtp_heartbeat_interval_ms,
        zmtp_heartbeat_timeout_ms,
    )
    heartbeat = _check_int("heartbeat_interval_ms", heartbeat_interval_ms, 1, _INT32_MAX)
    channel = ZmqRouterChannel(
        bind, options, peer_stall_timeout_ms=peer_stall_timeout_ms, context=context
    )
    return ZmqServerTransport(
        channel, heartbeat_interval_ms=heartbeat, max_calls_per_peer=max_calls_per_peer
    )


async def serve(
    *handlers: object,
    bind: str,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    interceptors: Sequence[Interceptor] = (),
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serves ``handlers`` (instances of generated ``<Service>Handler`` subclasses) on ``bind``
    until cancelled, then closes the server::

        await protoipc.zmq.serve(Backend(), bind="tcp://127.0.0.1:5555")

    :param on_ready: called with the bound address once listening
    :raises IpcError: ``Code.UNAVAILABLE`` when ``bind`` cannot be bound
    """
    server = create_server(
        create_zmq_server_transport(
            bind, heartbeat_interval_ms=heartbeat_interval_ms, max_frame_bytes=max_frame_bytes
        ),
        interceptors=interceptors,
    )
    try:
        for handler in handlers:
            server.register(handler)
        await server.listen()
        if on_ready is not None:
            transport = server.transport
            address = transport.address if isinstance(transport, ZmqServerTransport) else None
            on_ready(address or bind)
        await asyncio.Event().wait()
    finally:
        await server.close()
