"""Stream transports for protoipc: Unix sockets, TCP and child-process stdio on asyncio streams,
with pluggable framers (Content-Length, length prefix with optional magic), the native binding
over them, and daemon lifecycle helpers. Mirrors the TypeScript package ``@protoipc/unix``."""

from protoipc.unix.framing import (
    DEFAULT_STREAM_MAX_FRAME_BYTES,
    FrameDecoder,
    Framer,
)

__all__ = [
    "DEFAULT_STREAM_MAX_FRAME_BYTES",
    "FrameDecoder",
    "Framer",
]
