"""Frame channels: the contract between a binding (which turns calls into frames, native.py) and
a transport (which moves frames: memory.py, zmq.py). A frame is one opaque message: one ZeroMQ
message part, one in-memory hand-off. Channels know nothing of method semantics.

Mirrors packages/runtime/src/frame-channel.ts. Sending comes in two forms, because Python
coroutines cost a task when nobody awaits them: :meth:`~ClientFrameChannel.send` waits while the
writer queue is full (backpressure, for progress updates and stream items);
:meth:`~ClientFrameChannel.post` never waits: when the queue is full the frame waits in line
behind the frames already waiting, in order, and is never dropped (for requests, final answers and
control frames, whose number is bounded by the calls in flight).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Protocol

from protoipc.errors import Code, IpcError

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_WRITE_QUEUE_FRAMES",
    "FRAME_HEAD_BYTES",
    "ClientFrameChannel",
    "ClientFrameHandlers",
    "FramePeer",
    "ServerFrameChannel",
    "ServerFrameHandlers",
    "channel_closed_error",
    "frame_too_large_error",
]

DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Default largest frame, in bytes, that a channel sends or accepts: 4 MiB, as gRPC's default."""

DEFAULT_WRITE_QUEUE_FRAMES = 1024
"""Default number of frames a channel's writer queue holds before ``send`` waits."""

FRAME_HEAD_BYTES = 64
"""Most bytes of a refused frame handed to ``on_frame_error`` as its head."""


def frame_too_large_error(size: int, max_frame_bytes: int) -> IpcError:
    """``Code.RESOURCE_EXHAUSTED``: ``frame of N bytes exceeds maxFrameBytes M`` (the wording of
    the TypeScript runtime, so both report the same text)."""
    return IpcError(
        f"frame of {size} bytes exceeds maxFrameBytes {max_frame_bytes}",
        Code.RESOURCE_EXHAUSTED,
    )


def channel_closed_error(what: str) -> IpcError:
    """``Code.UNAVAILABLE``: ``<what> is closed``."""
    return IpcError(f"{what} is closed", Code.UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class FramePeer:
    """A peer of a server channel: one connected client."""

    key: str
    """Stable key of the peer while it is connected, e.g. its ZeroMQ routing id in hex."""


class ClientFrameHandlers(Protocol):
    """What a client channel delivers to (the client side of the binding)."""

    def on_frame(self, frame: bytes) -> None:
        """One frame from the server, in arrival order."""

    def on_frame_error(self, error: IpcError) -> None:
        """A frame was refused before decoding (e.g. too large); the channel goes on reading."""


class ServerFrameHandlers(Protocol):
    """What a server channel delivers to (the server side of the binding)."""

    def on_frame(self, peer: FramePeer, frame: bytes) -> None:
        """One frame from ``peer``, in arrival order per peer."""

    def on_frame_error(self, peer: FramePeer, error: IpcError, head: bytes) -> None:
        """A frame from ``peer`` was refused before decoding; ``head`` is its first
        :data:`FRAME_HEAD_BYTES` bytes, so the binding can still name the call in its reply."""


class ClientFrameChannel(abc.ABC):
    """One connection from a client to a server that carries frames. The binding that gets it
    owns it and closes it."""

    max_frame_bytes: int
    """Largest frame accepted in either direction, in bytes."""

    @abc.abstractmethod
    def start(self, handlers: ClientFrameHandlers) -> None:
        """Starts reading (and connects). Called once, on the loop, before the first send."""

    @abc.abstractmethod
    def post(self, frame: bytes) -> None:
        """Queues one frame without waiting (see the module docs for the policy when full).

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when the frame exceeds
            ``max_frame_bytes``; ``Code.UNAVAILABLE`` when the channel is closed
        """

    @abc.abstractmethod
    async def send(self, frame: bytes) -> None:
        """Queues one frame; waits while the writer queue is full.

        :raises IpcError: as :meth:`post`
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Stops reading and writing, drops queued frames, releases the socket. Idempotent."""


class ServerFrameChannel(abc.ABC):
    """The listening side: many peers, frames addressed per peer. The binding owns it."""

    max_frame_bytes: int
    """Largest frame accepted in either direction, in bytes."""

    @abc.abstractmethod
    async def start(self, handlers: ServerFrameHandlers) -> None:
        """Binds and starts reading; returns once bound.

        :raises IpcError: ``Code.UNAVAILABLE`` when the endpoint cannot be bound
        """

    @abc.abstractmethod
    def post(self, peer: FramePeer, frame: bytes) -> None:
        """Queues one frame for ``peer`` without waiting.

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when the frame exceeds
            ``max_frame_bytes``; ``Code.UNAVAILABLE`` when the channel is closed
        """

    @abc.abstractmethod
    async def send(self, peer: FramePeer, frame: bytes) -> None:
        """Queues one frame for ``peer``; waits while the writer queue is full.

        :raises IpcError: as :meth:`post`
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Stops reading and writing, drops queued frames, releases the socket. Idempotent."""
