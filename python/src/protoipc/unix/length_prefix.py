"""The length-prefix framer: ``[magic][u32 big-endian length N][N bytes of payload]``.

Mirrors packages/unix/src/length-prefix-framer.ts: protoipc's native binding over stream sockets
(no magic) and PoppoBuilder's command frames (magic ``POPPO``, PROTOCOLS.md §4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protoipc.errors import Code, IpcError
from protoipc.unix.framing import DEFAULT_STREAM_MAX_FRAME_BYTES, FrameDecoder, Framer

__all__ = ["LengthPrefixFramer", "create_length_prefix_framer"]

_LENGTH_BYTES = 4
_MAX_U32 = 0xFFFF_FFFF
_MAX_MAGIC_BYTES = 64


def create_length_prefix_framer(
    *, magic: bytes = b"", max_frame_bytes: int = DEFAULT_STREAM_MAX_FRAME_BYTES
) -> LengthPrefixFramer:
    """A framer for ``[magic][u32 big-endian length][payload]``.

    The decoder checks each magic byte as it arrives (garbage is refused after at most one wrong
    byte) and checks a declared length against ``max_frame_bytes`` before allocating anything
    for the payload.

    :param magic: bytes every frame starts with (``b"POPPO"`` for PoppoBuilder); none by default;
        at most 64 bytes
    :param max_frame_bytes: largest payload, in bytes; default 16 MiB
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``max_frame_bytes`` is not in 0..2^32-1 or
        ``magic`` is longer than 64 bytes
    """
    if max_frame_bytes < 0 or max_frame_bytes > _MAX_U32:
        raise IpcError(
            f"max_frame_bytes {max_frame_bytes} is not an integer in 0..{_MAX_U32}",
            Code.INVALID_ARGUMENT,
        )
    if len(magic) > _MAX_MAGIC_BYTES:
        raise IpcError(
            f"magic of {len(magic)} bytes exceeds the limit of {_MAX_MAGIC_BYTES} bytes",
            Code.INVALID_ARGUMENT,
        )
    return LengthPrefixFramer(bytes(magic), max_frame_bytes)


class LengthPrefixFramer:
    """See :func:`create_length_prefix_framer`. Stateless; shared by connections."""

    def __init__(self, magic: bytes, max_frame_bytes: int) -> None:
        self._magic = magic
        self._max_frame_bytes = max_frame_bytes

    @property
    def max_frame_bytes(self) -> int:
        """Largest payload accepted or sent, in bytes."""
        return self._max_frame_bytes

    @property
    def magic(self) -> bytes:
        """The bytes every frame starts with (may be empty)."""
        return self._magic

    def create_decoder(self) -> FrameDecoder:
        """New decoder for one connection."""
        return _LengthPrefixDecoder(self._magic, self._max_frame_bytes)

    def encode(self, payload: bytes) -> list[bytes]:
        """``[magic + length, payload]``.

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when ``payload`` exceeds
            ``max_frame_bytes``
        """
        n = len(payload)
        if n > self._max_frame_bytes:
            raise IpcError(
                f"frame of {n} bytes exceeds max_frame_bytes {self._max_frame_bytes}",
                Code.RESOURCE_EXHAUSTED,
            )
        return [self._magic + n.to_bytes(_LENGTH_BYTES, "big"), bytes(payload)]


class _LengthPrefixDecoder:
    """One connection's decoder: a header being read, then a payload being filled."""

    def __init__(self, magic: bytes, max_frame_bytes: int) -> None:
        self._magic = magic
        self._max = max_frame_bytes
        self._header_len = len(magic) + _LENGTH_BYTES
        self._header = bytearray()
        self._payload: bytearray | None = None
        self._need = 0
        self._failed: IpcError | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._header) + (0 if self._payload is None else len(self._payload))

    def push(self, data: bytes) -> list[bytes]:
        """Appends a chunk; returns the frames it completed (maybe none), in order.

        :raises IpcError: ``Code.INVALID_ARGUMENT`` on a magic mismatch,
            ``Code.RESOURCE_EXHAUSTED`` when a declared length exceeds ``max_frame_bytes``;
            the decoder then stays failed
        """
        if self._failed is not None:
            raise self._failed
        try:
            return self._decode(memoryview(data))
        except IpcError as e:
            self._failed = e
            self._payload = None
            raise

    def _decode(self, view: memoryview) -> list[bytes]:
        frames: list[bytes] = []
        magic_len = len(self._magic)
        at = 0
        end = len(view)
        while at < end:
            if self._payload is None:
                take = min(self._header_len - len(self._header), end - at)
                part = view[at : at + take]
                filled = len(self._header)
                if filled < magic_len:
                    self._check_magic(part[: magic_len - filled], filled)
                self._header += part
                at += take
                if len(self._header) < self._header_len:
                    break
                n = int.from_bytes(self._header[magic_len:], "big")
                self._header.clear()
                if n > self._max:
                    raise IpcError(
                        f"frame of {n} bytes exceeds max_frame_bytes {self._max}",
                        Code.RESOURCE_EXHAUSTED,
                    )
                if end - at >= n:
                    frames.append(bytes(view[at : at + n]))
                    at += n
                    continue
                self._payload = bytearray()
                self._need = n
            take = min(self._need - len(self._payload), end - at)
            self._payload += view[at : at + take]
            at += take
            if len(self._payload) == self._need:
                frames.append(bytes(self._payload))
                self._payload = None
        return frames

    def _check_magic(self, part: memoryview, magic_at: int) -> None:
        for i, b in enumerate(part):
            if b != self._magic[magic_at + i]:
                seen = bytes(self._header[:magic_at]) + bytes(part[: i + 1])
                raise IpcError(
                    f"frame magic mismatch: expected {self._magic.hex(' ')}, got {seen.hex(' ')}",
                    Code.INVALID_ARGUMENT,
                )


if TYPE_CHECKING:
    _conforms: Framer = LengthPrefixFramer(b"", 0)
