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
from protoipc.unix.content_length import (
    DEFAULT_MAX_HEADER_BYTES,
    ContentLengthFramer,
    create_content_length_framer,
)
from protoipc.unix.daemon import (
    DaemonConnection,
    DaemonServerTransport,
    connect_daemon,
    create_daemon_server_transport,
    daemon_dir,
    daemon_socket_path,
    ensure_private_dir,
    ping_daemon,
    probe_socket,
    reclaim_and_listen,
)
from protoipc.unix.framing import (
    DEFAULT_STREAM_MAX_FRAME_BYTES,
    FrameDecoder,
    Framer,
)
from protoipc.unix.length_prefix import LengthPrefixFramer, create_length_prefix_framer
from protoipc.unix.stream import (
    MAX_SOCKET_PATH_BYTES,
    FramedConnection,
    StreamBinding,
    StreamClientChannel,
    StreamServerChannel,
    assert_socket_path,
    create_stdio_server_transport,
    create_stream_server_transport,
    create_stream_transport,
    default_framer,
    stdio_streams,
)

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "MAX_SOCKET_PATH_BYTES",
    "ContentLengthFramer",
    "DaemonConnection",
    "DaemonServerTransport",
    "FramedConnection",
    "StreamBinding",
    "StreamClientChannel",
    "StreamServerChannel",
    "assert_socket_path",
    "connect_daemon",
    "create_content_length_framer",
    "create_daemon_server_transport",
    "create_stdio_server_transport",
    "create_stream_server_transport",
    "create_stream_transport",
    "daemon_dir",
    "daemon_socket_path",
    "default_framer",
    "ensure_private_dir",
    "ping_daemon",
    "probe_socket",
    "reclaim_and_listen",
    "stdio_streams",
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
