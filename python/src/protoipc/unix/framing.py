"""The framer contract: how a byte stream is cut into frames. Mirrors
packages/unix/src/framer.ts. Stream transports take any :class:`Framer`."""

from __future__ import annotations

from typing import Protocol

__all__ = ["DEFAULT_STREAM_MAX_FRAME_BYTES", "FrameDecoder", "Framer"]

DEFAULT_STREAM_MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Default largest frame a framer accepts, in bytes: 16 MiB."""


class FrameDecoder(Protocol):
    """Incremental decoder: feed bytes as they arrive, get whole frames out. One per
    connection."""

    def push(self, data: bytes) -> list[bytes]:
        """Appends a chunk; returns the frames it completed (maybe none), in order.

        :raises IpcError: ``Code.INVALID_ARGUMENT`` on a malformed header,
            ``Code.RESOURCE_EXHAUSTED`` when a declared length exceeds ``max_frame_bytes``
            (checked before allocating). After a raise the decoder is unusable: the connection
            answers with an error and closes.
        """
        ...

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for an incomplete frame."""
        ...


class Framer(Protocol):
    """Cuts a byte stream into frames and frames into bytes. Stateless; shared by
    connections."""

    @property
    def max_frame_bytes(self) -> int:
        """Largest payload accepted or sent, in bytes."""
        ...

    def create_decoder(self) -> FrameDecoder:
        """New decoder for one connection."""
        ...

    def encode(self, payload: bytes) -> list[bytes]:
        """The bytes to write for one frame (header + payload; may be several chunks).

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when ``payload`` exceeds
            ``max_frame_bytes``
        """
        ...
