"""Stream transports for protoipc: Unix sockets, TCP and child-process stdio on asyncio streams,
with pluggable framers (Content-Length, length prefix with optional magic), the native binding
over them, and daemon lifecycle helpers. Mirrors the TypeScript package ``@protoipc/unix``."""

from protoipc.unix.command_frame import (
    CommandFrameClientTransport,
    CommandFrameServerTransport,
    create_command_frame_server_transport,
    create_command_frame_transport,
)
from protoipc.unix.command_frame_auth import AuthMethod, Backoff
from protoipc.unix.command_frame_protocol import POPPO_MAGIC
from protoipc.unix.framing import (
    DEFAULT_STREAM_MAX_FRAME_BYTES,
    FrameDecoder,
    Framer,
)
from protoipc.unix.length_prefix import LengthPrefixFramer, create_length_prefix_framer

__all__ = [
    "POPPO_MAGIC",
    "AuthMethod",
    "Backoff",
    "CommandFrameClientTransport",
    "CommandFrameServerTransport",
    "LengthPrefixFramer",
    "create_command_frame_server_transport",
    "create_command_frame_transport",
    "create_length_prefix_framer",
    "DEFAULT_STREAM_MAX_FRAME_BYTES",
    "FrameDecoder",
    "Framer",
]
