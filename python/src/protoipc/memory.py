"""The in-memory transport: client and server in one process, for tests and embedding.

Mirrors packages/runtime/src/in-memory.ts: frames pass through the event loop (each delivered
by a later ``loop.call_soon``, in order) and through the same native binding and envelope codec
as the socket transports, so it doubles as the test harness of the call semantics.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

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
from protoipc.native import (
    DEFAULT_HEARTBEAT_INTERVAL_MS,
    DEFAULT_MAX_CALLS_PER_PEER,
    NativeClientTransport,
    NativeServerTransport,
)

__all__ = ["InMemoryTransport", "create_in_memory_transport"]


class _ServerChannel(ServerFrameChannel):
    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.handlers: ServerFrameHandlers | None = None
        self.clients: dict[str, ClientFrameHandlers] = {}
        self.closed = False

    async def start(self, handlers: ServerFrameHandlers) -> None:
        self.handlers = handlers

    def post(self, peer: FramePeer, frame: bytes) -> None:
        if self.closed:
            raise channel_closed_error("in-memory server channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        client = self.clients.get(peer.key)
        if client is None:
            return  # the client left; like a ZeroMQ ROUTER, drop
        asyncio.get_running_loop().call_soon(client.on_frame, frame)

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        self.post(peer, frame)

    async def aclose(self) -> None:
        self.closed = True
        self.handlers = None


class _ClientChannel(ClientFrameChannel):
    def __init__(self, server: _ServerChannel, peer: FramePeer) -> None:
        self.max_frame_bytes = server.max_frame_bytes
        self._server = server
        self._peer = peer
        self._closed = False

    def start(self, handlers: ClientFrameHandlers) -> None:
        self._server.clients[self._peer.key] = handlers

    def post(self, frame: bytes) -> None:
        if self._closed:
            raise channel_closed_error("in-memory client channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        asyncio.get_running_loop().call_soon(self._deliver, frame)

    def _deliver(self, frame: bytes) -> None:
        handlers = self._server.handlers
        if handlers is not None and not self._closed:
            handlers.on_frame(self._peer, frame)

    async def send(self, frame: bytes) -> None:
        self.post(frame)

    async def aclose(self) -> None:
        self._closed = True
        self._server.clients.pop(self._peer.key, None)


@dataclass(frozen=True)
class InMemoryTransport:
    """A server transport and a way to connect clients to it, inside one process."""

    server: NativeServerTransport
    """The server side; pass it to :func:`protoipc.create_server`."""
    _channel: _ServerChannel
    _heartbeat_interval_ms: int
    _counter: list[int]

    def connect(self) -> NativeClientTransport:
        """Connects a new client; each has its own connection (peer). The caller owns it and
        closes it with ``aclose``."""
        self._counter[0] += 1
        peer = FramePeer(f"mem-{self._counter[0]}")
        return NativeClientTransport(
            _ClientChannel(self._channel, peer),
            heartbeat_interval_ms=self._heartbeat_interval_ms,
        )


def create_in_memory_transport(
    *,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    max_calls_per_peer: int = DEFAULT_MAX_CALLS_PER_PEER,
) -> InMemoryTransport:
    """Creates an in-process transport. Nothing is bound; nothing needs closing but the clients
    and the server.

    :param heartbeat_interval_ms: application heartbeat interval of both sides, in milliseconds
    :param max_frame_bytes: largest frame either way, in bytes; default 4 MiB. A larger frame
        fails its call with ``Code.RESOURCE_EXHAUSTED``.
    :param max_calls_per_peer: most calls in flight per client
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``heartbeat_interval_ms`` or
        ``max_frame_bytes`` is < 1
    """
    if max_frame_bytes < 1:
        raise IpcError(f"max_frame_bytes {max_frame_bytes} must be >= 1", Code.INVALID_ARGUMENT)
    channel = _ServerChannel(max_frame_bytes)
    server = NativeServerTransport(
        channel,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_calls_per_peer=max_calls_per_peer,
    )
    return InMemoryTransport(server, channel, heartbeat_interval_ms, [0])

