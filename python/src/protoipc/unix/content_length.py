"""The Content-Length framer: LSP's base protocol (and crystalmath's, PROTOCOLS.md §3).

Mirrors packages/unix/src/content-length-framer.ts: a header block of ``Name: value`` lines
(CRLF or bare LF), an empty line, then ``Content-Length`` bytes of payload. The header name is
matched case-insensitively, other headers are ignored, the length must satisfy
1 <= N <= ``max_frame_bytes`` and is checked before the payload is allocated; the header block is
bounded by ``max_header_bytes``.
"""

from __future__ import annotations

import re

from protoipc.errors import Code, IpcError
from protoipc.unix.framing import DEFAULT_STREAM_MAX_FRAME_BYTES, FrameDecoder, Framer

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "ContentLengthFramer",
    "create_content_length_framer",
]

DEFAULT_MAX_HEADER_BYTES = 8 * 1024
"""Default largest header block (all header lines with their line ends), in bytes: 8 KiB."""

_DIGITS = re.compile(rb"[0-9]{1,16}")


def create_content_length_framer(
    *,
    max_frame_bytes: int = DEFAULT_STREAM_MAX_FRAME_BYTES,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> ContentLengthFramer:
    """A framer for LSP-style ``Content-Length: N\\r\\n\\r\\n<N bytes>`` frames.

    :param max_frame_bytes: largest payload, in bytes; default 16 MiB
    :param max_header_bytes: largest header block, in bytes; default 8 KiB
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when a limit is not a positive integer
    """
    for name, value in (("max_frame_bytes", max_frame_bytes), ("max_header_bytes", max_header_bytes)):
        if value < 1:
            raise IpcError(f"{name} {value} is not a positive integer", Code.INVALID_ARGUMENT)
    return ContentLengthFramer(max_frame_bytes, max_header_bytes)


class ContentLengthFramer:
    """See :func:`create_content_length_framer`. Stateless; shared by connections."""

    def __init__(self, max_frame_bytes: int, max_header_bytes: int) -> None:
        self._max_frame_bytes = max_frame_bytes
        self._max_header_bytes = max_header_bytes

    @property
    def max_frame_bytes(self) -> int:
        """Largest payload accepted or sent, in bytes."""
        return self._max_frame_bytes

    def create_decoder(self) -> FrameDecoder:
        """New decoder for one connection."""
        return _ContentLengthDecoder(self._max_frame_bytes, self._max_header_bytes)

    def encode(self, payload: bytes) -> list[bytes]:
        """``Content-Length: N\\r\\n\\r\\n`` and the payload.

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when ``payload`` exceeds
            ``max_frame_bytes``
        """
        if len(payload) > self._max_frame_bytes:
            raise IpcError(
                f"frame of {len(payload)} bytes exceeds maxFrameBytes {self._max_frame_bytes}",
                Code.RESOURCE_EXHAUSTED,
            )
        return [b"Content-Length: %d\r\n\r\n" % len(payload), payload]


def _header_end(buf: bytes | bytearray, start: int, end: int) -> int:
    """The index just past the empty line ending a header block in ``buf[start:end]``, else -1."""
    i = buf.find(b"\n", start, end)
    while i >= 0:
        if i + 1 < end and buf[i + 1] == 0x0A:
            return i + 2
        if i + 2 < end and buf[i + 1] == 0x0D and buf[i + 2] == 0x0A:
            return i + 3
        i = buf.find(b"\n", i + 1, end)
    return -1


class _ContentLengthDecoder:
    """One connection's decoder: a header block being collected, then a payload being filled."""

    def __init__(self, max_frame_bytes: int, max_header_bytes: int) -> None:
        self._max_frame_bytes = max_frame_bytes
        self._max_header_bytes = max_header_bytes
        self._header = bytearray()
        self._payload: bytearray | None = None
        self._need = 0
        self._failed: IpcError | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._header) + (len(self._payload) if self._payload is not None else 0)

    def push(self, data: bytes) -> list[bytes]:
        """Appends a chunk; returns the frames it completed. See :class:`FrameDecoder`."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._decode(data)
        except IpcError as e:
            self._failed = e
            self._payload = None
            self._header.clear()
            raise

    def _decode(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        at = 0
        n_data = len(data)
        while at < n_data:
            if self._payload is None:
                if not self._header:
                    limit = min(n_data, at + self._max_header_bytes)
                    end = _header_end(data, at, limit)
                    if end < 0:
                        if n_data - at >= self._max_header_bytes:
                            self._too_long()
                        self._header += data[at:]
                        break
                    n = self._parse(data[at:end])
                    at = end
                else:
                    before = len(self._header)
                    take = min(self._max_header_bytes - before, n_data - at)
                    self._header += data[at : at + take]
                    end = _header_end(self._header, max(0, before - 2), len(self._header))
                    if end < 0:
                        if len(self._header) >= self._max_header_bytes:
                            self._too_long()
                        break
                    n = self._parse(bytes(self._header[:end]))
                    at += end - before
                    self._header.clear()
                if n_data - at >= n:
                    frames.append(data[at : at + n])
                    at += n
                    continue
                self._payload = bytearray()
                self._need = n
            payload = self._payload
            take = min(self._need - len(payload), n_data - at)
            payload += data[at : at + take]
            at += take
            if len(payload) == self._need:
                frames.append(bytes(payload))
                self._payload = None
        return frames

    def _too_long(self) -> None:
        raise IpcError(
            f"header block without an empty line within maxHeaderBytes {self._max_header_bytes}",
            Code.RESOURCE_EXHAUSTED,
        )

    def _parse(self, block: bytes) -> int:
        length: int | None = None
        for raw in block.split(b"\n"):
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                continue
            colon = line.find(b":")
            if colon <= 0:
                text = line.decode("latin-1")
                raise IpcError(f'malformed header line "{text}"', Code.INVALID_ARGUMENT)
            if line[:colon].strip().lower() != b"content-length":
                continue
            value = line[colon + 1 :].strip()
            if _DIGITS.fullmatch(value) is None:
                text = value.decode("latin-1")
                raise IpcError(
                    f'content-length "{text}" is not a decimal integer', Code.INVALID_ARGUMENT
                )
            n = int(value)
            if length is not None and length != n:
                raise IpcError(
                    f"conflicting content-length headers {length} and {n}", Code.INVALID_ARGUMENT
                )
            length = n
        if length is None:
            raise IpcError("header block without a content-length header", Code.INVALID_ARGUMENT)
        if length < 1:
            raise IpcError(f"content-length {length} is below the minimum 1", Code.INVALID_ARGUMENT)
        if length > self._max_frame_bytes:
            raise IpcError(
                f"frame of {length} bytes exceeds maxFrameBytes {self._max_frame_bytes}",
                Code.RESOURCE_EXHAUSTED,
            )
        return length


def _check_protocol(framer: ContentLengthFramer) -> Framer:
    return framer
