"""Stream transports on asyncio streams: Unix sockets, TCP and a child process's stdio, cut into
frames by a :class:`~protoipc.unix.framing.Framer`, carrying the native or the jsonrpc2 binding.

Mirrors packages/unix/src/{framed-connection,stream-client-channel,stream-server-channel,
transport}.ts. Windows named pipes are not offered here (asyncio has no portable pipe server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import sys
from collections.abc import Awaitable, Callable
from typing import Literal

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
    NativeClientTransport,
    NativeServerTransport,
)
from protoipc.transport import CallHandle, CallSink, ClientTransport, OutgoingCall, ServerTransport
from protoipc.unix.content_length import create_content_length_framer
from protoipc.unix.framing import Framer
from protoipc.unix.length_prefix import create_length_prefix_framer

__all__ = [
    "MAX_SOCKET_PATH_BYTES",
    "FramedConnection",
    "StreamBinding",
    "StreamClientChannel",
    "StreamServerChannel",
    "assert_socket_path",
    "create_stdio_server_transport",
    "create_stream_server_transport",
    "create_stream_transport",
    "default_framer",
    "server_transport_for",
    "stdio_streams",
]

_log = logging.getLogger("protoipc")

StreamBinding = Literal["native", "jsonrpc2"]
"""The bindings the stream transports speak."""

MAX_SOCKET_PATH_BYTES = 107 if sys.platform.startswith("linux") else 103
"""Longest Unix socket path, in bytes: ``sun_path`` holds 108 bytes on Linux, 104 on macOS and
the BSDs, including the terminating NUL."""

_READ_BYTES = 256 * 1024

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""Opens a byte stream: returns its reader and writer (e.g. ``asyncio.open_unix_connection``)."""


def assert_socket_path(path: str) -> None:
    """Checks that ``path`` fits in a Unix socket address.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when it is empty or longer than
        :data:`MAX_SOCKET_PATH_BYTES` bytes of UTF-8 (naming its length and the limit)
    """
    if not path:
        raise IpcError("socket path is empty", Code.INVALID_ARGUMENT)
    n = len(path.encode())
    if n > MAX_SOCKET_PATH_BYTES:
        raise IpcError(
            f"socket path of {n} bytes exceeds the limit of {MAX_SOCKET_PATH_BYTES} bytes ({path})",
            Code.INVALID_ARGUMENT,
        )


def default_framer(binding: StreamBinding) -> Framer:
    """The framer a binding uses on streams by default: native → length prefix without magic,
    4 MiB (like every native transport); jsonrpc2 → Content-Length, 16 MiB."""
    if binding == "native":
        return create_length_prefix_framer(max_frame_bytes=DEFAULT_MAX_FRAME_BYTES)
    return create_content_length_framer()


class FramedConnection:
    """One byte stream cut into frames: one reader task through one decoder, writes through the
    stream's own buffer. Owns the stream; :meth:`aclose` closes it.

    :param on_frame: one whole frame, in arrival order
    :param on_frame_error: the bytes could not be framed; reading stops, a reply written by the
        handler still leaves, then the connection closes
    :param on_close: called once when the connection has closed, for whatever reason
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: Framer,
        *,
        on_frame: Callable[[bytes], None],
        on_frame_error: Callable[[IpcError], None],
        on_close: Callable[[], None],
        description: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._framer = framer
        self._decoder = framer.create_decoder()
        self._on_frame = on_frame
        self._on_frame_error = on_frame_error
        self._on_close = on_close
        self.description = description
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._read(), name=description)

    async def _read(self) -> None:
        try:
            while not self.closed:
                data = await self._reader.read(_READ_BYTES)
                if not data:
                    break
                try:
                    frames = self._decoder.push(data)
                except IpcError as e:
                    self._on_frame_error(e)
                    break
                for frame in frames:
                    if self._writer.is_closing():
                        break  # A handler closed the connection: drop the rest.
                    self._on_frame(frame)
        except (ConnectionError, OSError):
            pass  # The peer went away; on_close reports it.
        finally:
            self._shutdown()
            self._on_close()

    def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.close()  # Flushes what is buffered (an error reply), then closes.

    def write(self, payload: bytes) -> None:
        """Queues one frame without waiting.

        :raises IpcError: ``Code.RESOURCE_EXHAUSTED`` when it exceeds the framer's limit,
            ``Code.UNAVAILABLE`` when the connection is closed
        """
        if self.closed or self._writer.is_closing():
            raise channel_closed_error(f"connection {self.description}")
        self._writer.writelines(self._framer.encode(payload))

    async def drain(self) -> None:
        """Waits while the stream's write buffer is over its high-water mark."""
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as e:
            raise IpcError(
                f"connection {self.description} failed: {e}", Code.UNAVAILABLE
            ) from e

    async def aclose(self) -> None:
        """Closes the connection and waits for its reader to end. Idempotent."""
        self._shutdown()
        if self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class StreamClientChannel(ClientFrameChannel):
    """A client frame channel over a stream that connects on first use and again after the
    connection closed. Frames posted while connecting wait for it; when connecting fails they
    are dropped and the handlers' optional ``on_closed`` is called (the jsonrpc2 binding fails
    its calls; the native binding's heartbeats do). Frames are never resent.

    :param open: opens the stream (``lambda: asyncio.open_unix_connection(path)``)
    """

    def __init__(self, open: Opener, framer: Framer, description: str) -> None:
        self.max_frame_bytes = framer.max_frame_bytes
        self._open = open
        self._framer = framer
        self._description = description
        self._handlers: ClientFrameHandlers | None = None
        self._conn: FramedConnection | None = None
        self._pending: list[bytes] = []
        self._connecting: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, handlers: ClientFrameHandlers) -> None:
        self._handlers = handlers

    def _notify_closed(self) -> None:
        cb = getattr(self._handlers, "on_closed", None)
        if callable(cb):
            cb()

    async def _connect(self) -> None:
        try:
            reader, writer = await self._open()
        except (OSError, IpcError) as e:
            self._pending.clear()
            _log.debug("protoipc: cannot connect to %s: %s", self._description, e)
            self._notify_closed()
            return
        finally:
            self._connecting = None
        if self._closed:
            writer.close()
            return
        handlers = self._handlers

        def on_frame(frame: bytes) -> None:
            if handlers is not None:
                handlers.on_frame(frame)

        def on_frame_error(error: IpcError) -> None:
            if handlers is not None:
                handlers.on_frame_error(error)

        conn: FramedConnection

        def on_close() -> None:
            if self._conn is conn:
                self._conn = None
            self._notify_closed()

        conn = FramedConnection(
            reader,
            writer,
            self._framer,
            on_frame=on_frame,
            on_frame_error=on_frame_error,
            on_close=on_close,
            description=self._description,
        )
        self._conn = conn
        pending, self._pending = self._pending, []
        for frame in pending:
            conn.write(frame)

    def post(self, frame: bytes) -> None:
        if self._closed:
            raise channel_closed_error(f"channel to {self._description}")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.write(frame)
            return
        self._pending.append(frame)
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def send(self, frame: bytes) -> None:
        self.post(frame)
        conn = self._conn
        if conn is not None:
            await conn.drain()

    async def aclose(self) -> None:
        self._closed = True
        self._pending.clear()
        task = self._connecting
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.aclose()


class StreamServerChannel(ServerFrameChannel):
    """A server frame channel listening on a Unix socket (``path``; the file is made
    ``socket_mode`` and removed on close if it is still this channel's) or TCP (``host`` and
    ``port``; port 0 picks one, see :attr:`port`). One :class:`FramePeer` per connection; a
    connection whose bytes cannot be framed gets the binding's error reply, then is closed."""

    def __init__(
        self,
        framer: Framer,
        *,
        path: str | None = None,
        host: str | None = None,
        port: int | None = None,
        socket_mode: int = 0o600,
        on_connection: Callable[[FramePeer], None] | None = None,
        on_disconnect: Callable[[FramePeer], None] | None = None,
    ) -> None:
        if (path is None) == (host is None or port is None):
            raise IpcError("give path, or host and port", Code.INVALID_ARGUMENT)
        if path is not None:
            assert_socket_path(path)
        self.max_frame_bytes = framer.max_frame_bytes
        self._framer = framer
        self._path = path
        self._host = host
        self._port = port
        self._socket_mode = socket_mode
        self._on_connection = on_connection
        self._on_disconnect = on_disconnect
        self._server: asyncio.Server | None = None
        self._conns: dict[str, FramedConnection] = {}
        self._next = 1
        self._closed = False
        self._ino: int | None = None
        self._handlers: ServerFrameHandlers | None = None

    @property
    def port(self) -> int | None:
        """The TCP port bound, once started."""
        return self._port

    @property
    def peer_count(self) -> int:
        """Connected peers now."""
        return len(self._conns)

    def _describe(self) -> str:
        return f"unix:{self._path}" if self._path is not None else f"tcp:{self._host}:{self._port}"

    async def start(self, handlers: ServerFrameHandlers) -> None:
        if self._server is not None:
            raise IpcError("channel is already started", Code.FAILED_PRECONDITION)
        if self._closed:
            raise channel_closed_error("server channel")
        self._handlers = handlers
        try:
            if self._path is not None:
                self._server = await asyncio.start_unix_server(self._accept, path=self._path)
                os.chmod(self._path, self._socket_mode)
                self._ino = os.lstat(self._path).st_ino
            else:
                self._server = await asyncio.start_server(self._accept, self._host, self._port)
                sock = self._server.sockets[0]
                self._port = int(sock.getsockname()[1])
        except OSError as e:
            raise IpcError(
                f"cannot listen on {self._describe()}: {e.strerror or e}", Code.UNAVAILABLE
            ) from e

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closed or self._handlers is None:
            writer.close()
            return
        if self._host is not None:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        handlers = self._handlers
        key = f"conn-{self._next}"
        self._next += 1
        peer = FramePeer(key)

        def on_close() -> None:
            self._conns.pop(key, None)
            closed = getattr(handlers, "on_peer_closed", None)
            if callable(closed):
                closed(peer)
            if self._on_disconnect is not None:
                self._on_disconnect(peer)

        self._conns[key] = FramedConnection(
            reader,
            writer,
            self._framer,
            on_frame=lambda frame: handlers.on_frame(peer, frame),
            on_frame_error=lambda err: handlers.on_frame_error(peer, err, b""),
            on_close=on_close,
            description=f"{self._describe()}#{key}",
        )
        if self._on_connection is not None:
            self._on_connection(peer)

    def post(self, peer: FramePeer, frame: bytes) -> None:
        if self._closed:
            raise channel_closed_error("server channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        conn = self._conns.get(peer.key)
        if conn is None or conn.closed:
            return  # The client left: drop, like a ZeroMQ ROUTER; its calls end on their own.
        conn.write(frame)

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        self.post(peer, frame)
        conn = self._conns.get(peer.key)
        if conn is not None:
            await conn.drain()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        server = self._server
        if server is not None:
            server.close()
        for conn in list(self._conns.values()):
            await conn.aclose()
        if server is not None:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        if self._path is not None and self._ino is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self._path)
                if st.st_ino == self._ino and stat.S_ISSOCK(st.st_mode):
                    os.unlink(self._path)


def _opener(
    path: str | None, host: str | None, port: int | None, open: Opener | None
) -> tuple[Opener, str]:
    given = [path is not None, host is not None and port is not None, open is not None]
    if sum(given) != 1:
        raise IpcError("give exactly one of path, host and port, or open", Code.INVALID_ARGUMENT)
    if path is not None:
        assert_socket_path(path)
        p = path

        async def open_unix() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            try:
                return await asyncio.open_unix_connection(p, limit=_READ_BYTES)
            except OSError as e:
                raise IpcError(
                    f"cannot connect to unix:{p}: {e.strerror or e}", Code.UNAVAILABLE
                ) from e

        return open_unix, f"unix:{p}"
    if open is not None:
        return open, "stream"
    assert host is not None and port is not None
    h, pt = host, port

    async def open_tcp() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            reader, writer = await asyncio.open_connection(h, pt, limit=_READ_BYTES)
        except OSError as e:
            raise IpcError(f"cannot connect to tcp:{h}:{pt}: {e.strerror or e}", Code.UNAVAILABLE) from e
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    return open_tcp, f"tcp:{h}:{pt}"


class _LazyBindingTransport(ClientTransport):
    """Picks the binding from the service of the first call."""

    def __init__(self, make: Callable[[StreamBinding], ClientTransport]) -> None:
        self._make = make
        self._inner: ClientTransport | None = None
        self._binding: str | None = None
        self._closed = False

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        wanted = call.service.binding
        err: IpcError | None = None
        if self._closed:
            err = IpcError("transport is closed", Code.UNAVAILABLE)
        elif self._inner is None:
            if wanted == "native" or wanted == "jsonrpc2":
                self._binding = wanted
                self._inner = self._make(wanted)
            else:
                err = IpcError(
                    f"binding {wanted} is not spoken by the stream transports (native, jsonrpc2)",
                    Code.INVALID_ARGUMENT,
                )
        elif wanted != self._binding:
            err = IpcError(
                f"{call.service.type_name} uses binding {wanted}, this transport speaks "
                f"{self._binding}",
                Code.INVALID_ARGUMENT,
            )
        if err is not None or self._inner is None:
            sink.on_error(err or IpcError("no binding", Code.INTERNAL))
            return _NOOP
        return self._inner.start(call, sink)

    async def aclose(self) -> None:
        self._closed = True
        if self._inner is not None:
            await self._inner.aclose()


class _Noop:
    def cancel(self, reason: IpcError) -> None:
        pass


_NOOP = _Noop()


def create_stream_transport(
    *,
    path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    open: Opener | None = None,
    binding: StreamBinding | None = None,
    framer: Framer | None = None,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
    params: Literal["named", "positional"] = "named",
) -> ClientTransport:
    """A client transport over a stream: a Unix socket (``path``), TCP (``host``, ``port``) or
    any stream ``open`` returns (a child's stdio: ``lambda: stdio_streams(proc)``), speaking the
    native binding or jsonrpc2 (default: the binding of the first call's service). Connects on
    the first call and again after the connection dropped; a call made while nothing listens
    fails with ``Code.UNAVAILABLE`` (jsonrpc2 at once, native within 3 heartbeat intervals).

    :param framer: default :func:`default_framer` of the binding
    :param params: jsonrpc2 only: send params named (an object) or positional (an array)
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when not exactly one endpoint is given, or the
        socket path is too long
    """
    opener, description = _opener(path, host, port, open)

    def make(b: StreamBinding) -> ClientTransport:
        channel = StreamClientChannel(opener, framer or default_framer(b), description)
        if b == "native":
            return NativeClientTransport(channel, heartbeat_interval_ms=heartbeat_interval_ms)
        from protoipc.jsonrpc2 import JsonRpcClientTransport

        return JsonRpcClientTransport(channel, params=params)

    if binding is not None:
        return make(binding)
    return _LazyBindingTransport(make)


def create_stream_server_transport(
    *,
    path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    binding: StreamBinding = "native",
    framer: Framer | None = None,
    socket_mode: int = 0o600,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
) -> ServerTransport:
    """A server transport listening on a Unix socket (``path``, made ``socket_mode``, removed on
    close) or TCP (``host``, ``port``), speaking ``binding`` (default native). Use
    :func:`protoipc.unix.daemon.create_daemon_server_transport` for the XDG runtime directory,
    stale-socket reclaim and inactivity exit.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when not exactly one endpoint is given or the
        socket path is too long
    """
    channel = StreamServerChannel(
        framer or default_framer(binding), path=path, host=host, port=port, socket_mode=socket_mode
    )
    return server_transport_for(binding, channel, heartbeat_interval_ms=heartbeat_interval_ms)


def server_transport_for(
    binding: StreamBinding,
    channel: ServerFrameChannel,
    *,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
) -> ServerTransport:
    """The server side of ``binding`` on ``channel``."""
    if binding == "native":
        return NativeServerTransport(channel, heartbeat_interval_ms=heartbeat_interval_ms)
    from protoipc.jsonrpc2 import JsonRpcServerTransport

    return JsonRpcServerTransport(channel)


def stdio_streams(
    process: asyncio.subprocess.Process,
) -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The stdout reader and stdin writer of a child started with
    ``asyncio.create_subprocess_exec(..., stdin=PIPE, stdout=PIPE)``, for ``open=``.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the child's stdin or stdout is not piped
    """
    if process.stdout is None or process.stdin is None:
        raise IpcError("child process needs piped stdin and stdout", Code.INVALID_ARGUMENT)
    out, inp = process.stdout, process.stdin

    async def opened() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return out, inp

    return opened()


class _StdioServerChannel(ServerFrameChannel):
    """One peer, the parent process, over this process's stdin and stdout."""

    _PARENT = FramePeer("stdio")

    def __init__(self, framer: Framer, on_close: Callable[[], None] | None) -> None:
        self.max_frame_bytes = framer.max_frame_bytes
        self._framer = framer
        self._on_close = on_close
        self._conn: FramedConnection | None = None

    async def start(self, handlers: ServerFrameHandlers) -> None:
        if self._conn is not None:
            raise IpcError("channel is already started", Code.FAILED_PRECONDITION)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_BYTES)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        w_transport, w_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, sys.stdout
        )
        writer = asyncio.StreamWriter(w_transport, w_protocol, reader, loop)
        peer = self._PARENT

        def on_close() -> None:
            closed = getattr(handlers, "on_peer_closed", None)
            if callable(closed):
                closed(peer)
            if self._on_close is not None:
                self._on_close()

        self._conn = FramedConnection(
            reader,
            writer,
            self._framer,
            on_frame=lambda frame: handlers.on_frame(peer, frame),
            on_frame_error=lambda err: handlers.on_frame_error(peer, err, b""),
            on_close=on_close,
            description="stdio",
        )

    def post(self, peer: FramePeer, frame: bytes) -> None:
        if self._conn is None or self._conn.closed:
            raise channel_closed_error("stdio channel")
        if len(frame) > self.max_frame_bytes:
            raise frame_too_large_error(len(frame), self.max_frame_bytes)
        self._conn.write(frame)

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        self.post(peer, frame)
        if self._conn is not None:
            await self._conn.drain()

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.aclose()


def create_stdio_server_transport(
    *,
    binding: StreamBinding = "native",
    framer: Framer | None = None,
    on_close: Callable[[], None] | None = None,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
) -> ServerTransport:
    """A server transport over this process's stdin and stdout, for a server started as a
    child by its one client (an LSP-style backend). Nothing else may write to stdout; log to
    stderr. ``on_close`` runs when the parent closes the stream."""
    channel = _StdioServerChannel(framer or default_framer(binding), on_close)
    return server_transport_for(binding, channel, heartbeat_interval_ms=heartbeat_interval_ms)
