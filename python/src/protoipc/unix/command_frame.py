"""The command-frame binding (PoppoBuilder, PROTOCOLS.md §4) on asyncio streams: client and
server transports for :class:`protoipc.Client` and :func:`protoipc.create_server`. Mirrors
packages/unix/src/command-frame-client.ts and command-frame-server.ts.

Frames are ``POPPO`` + u32 big-endian length + UTF-8 JSON. Each unary method is a ``command``
named by its ``wire_name``, its request sent as both ``args`` and ``payload``; a server-streaming
method is the subscription to the server's ``event`` broadcasts. Authentication: mutual
HMAC-SHA256 challenge-response by default, or the existing daemon's static ``token``
(:mod:`protoipc.unix.command_frame_auth`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError
from protoipc.transport import (
    AbortState,
    CallHandle,
    CallSink,
    ClientTransport,
    Dispatcher,
    OutgoingCall,
    ServerTransport,
)
from protoipc.unix.command_frame_auth import (
    AuthMethod,
    Backoff,
    auth_proof,
    constant_time_equal,
    create_auth_nonce,
)
from protoipc.unix.command_frame_protocol import (
    AUTH_REQUIRED_MESSAGE,
    COMMAND_FRAME_VERSION,
    POPPO_MAGIC,
    decode_command_frame_message,
    encode_command_frame_message,
    error_from_wire,
    error_to_wire,
    event_from_wire,
    event_to_wire,
    is_compatible_version,
    message_from_wire,
    message_to_wire,
)
from protoipc.unix.daemon import reclaim_and_listen
from protoipc.unix.framing import DEFAULT_STREAM_MAX_FRAME_BYTES, FrameDecoder
from protoipc.unix.length_prefix import LengthPrefixFramer, create_length_prefix_framer
from protoipc.unix.stream import assert_socket_path

__all__ = [
    "DEFAULT_AUTH_TIMEOUT_MS",
    "DEFAULT_MAX_CALLS_PER_CONNECTION",
    "CommandFrameClientTransport",
    "CommandFrameServerTransport",
    "create_command_frame_server_transport",
    "create_command_frame_transport",
]

_READ_BYTES = 64 * 1024


def _now_ms() -> int:
    return int(time.time() * 1000)


def _describe(path: str | None, host: str | None, port: int | None) -> str:
    return f"unix:{path}" if path is not None else f"tcp:{host}:{port}"


def _check_endpoint(path: str | None, host: str | None, port: int | None) -> None:
    if (path is None) == (host is None or port is None):
        raise IpcError("give exactly one of path and host + port", Code.INVALID_ARGUMENT)


def _closing(state: _Conn | _Peer) -> bool:
    """Whether ``state`` is closing (a call, so type checkers do not keep a narrowed value)."""
    return state.closing


# -- client ---------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Pending:
    id: str
    method: MethodDescriptor[Any, Any, Any]
    args: Any
    sink: CallSink


@dataclass(eq=False)
class _Subscription:
    method: MethodDescriptor[Any, Any, Any]
    sink: CallSink
    live: bool = False
    """Whether a connection was ready while subscribed (so a loss may have dropped events)."""


@dataclass(eq=False)
class _Conn:
    phase: str = "connecting"
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    auth_id: str = ""
    challenge: str = ""
    nonce: str = ""
    failure: IpcError | None = None
    closing: bool = False


class _Handle:
    __slots__ = ("_cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel

    def cancel(self, reason: IpcError) -> None:
        self._cancel()


_NOOP = _Handle(lambda: None)


class CommandFrameClientTransport(ClientTransport):
    """See :func:`create_command_frame_transport`."""

    def __init__(
        self,
        *,
        path: str | None,
        host: str | None,
        port: int | None,
        secret: str | bytes | None,
        auth_method: AuthMethod,
        framer: LengthPrefixFramer,
        backoff: Backoff,
    ) -> None:
        self._path = path
        self._host = host
        self._port = port
        self._secret = secret
        self._auth_method = auth_method
        self._framer = framer
        self._backoff = backoff
        self._description = _describe(path, host, port)
        self._conn: _Conn | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._waiting: dict[str, _Pending] = {}
        self._sent: dict[str, _Pending] = {}
        self._subscriptions: set[_Subscription] = set()
        self._closed = False

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        method = call.method
        if self._closed:
            sink.on_error(IpcError("transport is closed", Code.UNAVAILABLE))
            return _NOOP
        if method.kind == "server_streaming":
            conn = self._conn
            sub = _Subscription(
                method, sink, conn is not None and conn.phase == "ready" and not conn.closing
            )
            self._subscriptions.add(sub)
            self._ensure_connection()
            return _Handle(lambda: self._subscriptions.discard(sub))
        if method.kind != "unary":
            sink.on_error(
                IpcError(
                    f"{method.path} is a {method.kind} method, which the command-frame binding "
                    "cannot carry",
                    Code.UNIMPLEMENTED,
                )
            )
            return _NOOP
        if method.wire_name is None:
            sink.on_error(
                IpcError(
                    f"{method.path} has no wire_name to name its command", Code.INVALID_ARGUMENT
                )
            )
            return _NOOP
        try:
            args = message_to_wire(call.message)
        except IpcError as e:
            sink.on_error(e)
            return _NOOP
        p = _Pending(str(uuid.uuid4()), method, args, sink)
        conn = self._conn
        if conn is not None and conn.phase == "ready" and not conn.closing:
            self._send(conn, p)
        else:
            self._waiting[p.id] = p
            self._ensure_connection()

        def cancel() -> None:
            self._waiting.pop(p.id, None)
            self._sent.pop(p.id, None)

        return _Handle(cancel)

    def _ensure_connection(self) -> None:
        if self._conn is not None or self._retry is not None or self._closed:
            return
        conn = _Conn()
        self._conn = conn
        conn.task = asyncio.get_running_loop().create_task(self._run(conn))

    async def _run(self, conn: _Conn) -> None:
        io_error: IpcError | None = None
        try:
            if self._path is not None:
                reader, writer = await asyncio.open_unix_connection(self._path)
            else:
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, ValueError) as e:
            self._on_close(
                conn,
                IpcError(f"cannot connect to {self._description}: {e}", Code.UNAVAILABLE),
            )
            return
        conn.writer = writer
        conn.phase = "welcome"
        decoder = self._framer.create_decoder()
        try:
            while not conn.closing:
                data = await reader.read(_READ_BYTES)
                if not data:
                    break
                try:
                    frames = decoder.push(data)
                except IpcError as e:
                    conn.failure = conn.failure or IpcError(
                        f"server {self._description} sent an unreadable frame: {e.raw_message}",
                        Code.DATA_LOSS,
                    )
                    break
                for frame in frames:
                    self._on_frame(conn, frame)
                    if _closing(conn):
                        break
        except OSError as e:
            io_error = IpcError(f"connection {self._description} failed: {e}", Code.UNAVAILABLE)
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._on_close(conn, io_error)

    def _write(self, conn: _Conn, message: dict[str, Any]) -> None:
        if conn.writer is None or conn.closing or conn.writer.is_closing():
            raise IpcError(f"connection {self._description} is closed", Code.UNAVAILABLE)
        conn.writer.writelines(self._framer.encode(encode_command_frame_message(message)))

    def _send(self, conn: _Conn, p: _Pending) -> None:
        try:
            self._write(
                conn,
                {
                    "type": "command",
                    "id": p.id,
                    "command": p.method.wire_name,
                    "args": p.args,
                    "payload": p.args,
                },
            )
        except IpcError as e:
            if e.code == Code.UNAVAILABLE:
                self._waiting[p.id] = p  # never written: safe to send on the next connection
            else:
                p.sink.on_error(e)
            return
        self._sent[p.id] = p

    def _on_frame(self, conn: _Conn, frame: bytes) -> None:
        try:
            msg = decode_command_frame_message(frame)
        except IpcError as e:
            self._fail(conn, IpcError(e.raw_message, Code.DATA_LOSS))
            return
        kind = msg["type"]
        if kind == "welcome":
            self._on_welcome(conn, msg)
        elif kind == "auth-success":
            self._on_auth_success(conn, msg)
        elif kind == "response":
            self._on_response(msg)
        elif kind == "error":
            self._on_error(conn, msg)
        elif kind == "event":
            self._on_event(msg)
        # other types: a newer server's message, ignored as the daemon's client does

    def _on_welcome(self, conn: _Conn, msg: dict[str, Any]) -> None:
        if conn.phase != "welcome":
            return
        if not is_compatible_version(msg.get("version")):
            self._fail(
                conn,
                IpcError(
                    f"server {self._description} speaks protocol version {msg.get('version')}; "
                    f"this client speaks {COMMAND_FRAME_VERSION}",
                    Code.FAILED_PRECONDITION,
                ),
            )
            return
        if msg.get("authRequired") is not True:
            self._ready(conn)
            return
        if self._secret is None:
            self._fail(
                conn,
                IpcError(
                    f"server {self._description} requires authentication and no secret is "
                    "configured",
                    Code.UNAUTHENTICATED,
                ),
            )
            return
        conn.phase = "auth"
        conn.auth_id = str(uuid.uuid4())
        if self._auth_method == "token":
            token = self._secret if isinstance(self._secret, str) else self._secret.decode()
            self._try_write(conn, {"type": "auth", "id": conn.auth_id, "token": token})
            return
        challenge = msg.get("challenge")
        if not isinstance(challenge, str) or challenge == "":
            self._fail(
                conn,
                IpcError(
                    f"server {self._description} offers no hmac-sha256 challenge; use "
                    'auth_method "token" for a server that only takes a static token',
                    Code.UNAUTHENTICATED,
                ),
            )
            return
        conn.challenge = challenge
        conn.nonce = create_auth_nonce()
        self._try_write(
            conn,
            {
                "type": "auth",
                "id": conn.auth_id,
                "method": "hmac-sha256",
                "nonce": conn.nonce,
                "mac": auth_proof(self._secret, "client", challenge, conn.nonce),
            },
        )

    def _try_write(self, conn: _Conn, message: dict[str, Any]) -> None:
        with contextlib.suppress(IpcError):
            self._write(conn, message)

    def _on_auth_success(self, conn: _Conn, msg: dict[str, Any]) -> None:
        if conn.phase != "auth":
            return
        if self._auth_method == "hmac-sha256":
            assert self._secret is not None
            expected = auth_proof(self._secret, "server", conn.challenge, conn.nonce)
            mac = msg.get("mac")
            if not isinstance(mac, str) or not constant_time_equal(mac, expected):
                self._fail(
                    conn,
                    IpcError(
                        f"server {self._description} did not prove knowledge of the secret",
                        Code.UNAUTHENTICATED,
                    ),
                )
                return
        self._ready(conn)

    def _ready(self, conn: _Conn) -> None:
        conn.phase = "ready"
        self._backoff.reset()
        for sub in self._subscriptions:
            sub.live = True
        waiting = list(self._waiting.values())
        self._waiting.clear()
        for p in waiting:
            self._send(conn, p)

    def _on_response(self, msg: dict[str, Any]) -> None:
        p = self._sent.pop(str(msg.get("id")), None)
        if p is None:
            return  # cancelled or timed out: the late answer is dropped
        if msg.get("success") is False:
            p.sink.on_error(error_from_wire(msg))
            return
        try:
            result = message_from_wire(p.method.output, msg.get("result"))
        except IpcError as e:
            p.sink.on_error(
                IpcError(f"response to {p.method.wire_name}: {e.raw_message}", Code.INTERNAL)
            )
            return
        p.sink.on_result(result)

    def _on_error(self, conn: _Conn, msg: dict[str, Any]) -> None:
        err = error_from_wire(msg)
        if msg.get("id") is not None:
            p = self._sent.pop(str(msg["id"]), None)
            if p is not None:
                p.sink.on_error(err)
                return
        if conn.phase in ("auth", "welcome"):
            self._fail(
                conn,
                IpcError(
                    f"authentication with {self._description} failed: {err.raw_message}",
                    Code.UNAUTHENTICATED,
                    metadata=err.metadata,
                ),
            )

    def _on_event(self, msg: dict[str, Any]) -> None:
        for sub in list(self._subscriptions):
            try:
                item = event_from_wire(sub.method.output, msg)
            except IpcError as e:
                self._subscriptions.discard(sub)
                sub.sink.on_error(
                    IpcError(f"event {msg.get('event')}: {e.raw_message}", Code.DATA_LOSS)
                )
                continue
            sub.sink.on_update(item)

    def _fail(self, conn: _Conn, error: IpcError) -> None:
        conn.failure = conn.failure or error
        conn.closing = True
        if conn.writer is not None:
            conn.writer.close()

    def _on_close(self, conn: _Conn, io_error: IpcError | None) -> None:
        if self._conn is not conn:
            return
        self._conn = None
        error = conn.failure
        if error is None and conn.phase == "auth":
            # A server that hangs up on our `auth` refused it.
            error = IpcError(
                f"{self._description} closed the connection during authentication",
                Code.UNAUTHENTICATED,
            )
        if error is None:
            error = io_error or IpcError(
                f"connection to {self._description} closed", Code.UNAVAILABLE
            )
        fatal = error.code in (Code.UNAUTHENTICATED, Code.DATA_LOSS, Code.FAILED_PRECONDITION)
        sent = list(self._sent.values())
        self._sent.clear()
        for p in sent:
            # A command without side effects (idempotency_level) is safe to send again on the
            # next connection; any other may have run, so its caller decides.
            if not fatal and p.method.idempotency != "idempotency_unknown":
                self._waiting[p.id] = p
            else:
                p.sink.on_error(error)
        # Subscriptions that saw this connection ready may have missed events: they end. Those
        # still waiting for a first connection wait on, like commands.
        for sub in list(self._subscriptions):
            if sub.live or fatal:
                self._subscriptions.discard(sub)
                sub.sink.on_error(error)
        if fatal:
            waiting = list(self._waiting.values())
            self._waiting.clear()
            for p in waiting:
                p.sink.on_error(error)
        if not self._has_waiters() or self._closed:
            return
        # Calls wait for a connection until their deadlines; retry with backoff meanwhile.
        self._retry = asyncio.get_running_loop().call_later(
            self._backoff.next() / 1000, self._retry_now
        )

    def _has_waiters(self) -> bool:
        return bool(self._waiting) or bool(self._subscriptions)

    def _retry_now(self) -> None:
        self._retry = None
        if self._has_waiters():
            self._ensure_connection()

    async def aclose(self) -> None:
        """Fails pending calls with ``Code.UNAVAILABLE`` and closes the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        err = IpcError("transport closed", Code.UNAVAILABLE)
        pending = [*self._waiting.values(), *self._sent.values()]
        self._waiting.clear()
        self._sent.clear()
        for p in pending:
            p.sink.on_error(err)
        subs = list(self._subscriptions)
        self._subscriptions.clear()
        for s in subs:
            s.sink.on_error(err)
        conn = self._conn
        self._conn = None
        if conn is not None:
            conn.closing = True
            if conn.writer is not None:
                conn.writer.close()
            if conn.task is not None:
                conn.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.task


def create_command_frame_transport(
    *,
    path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    secret: str | bytes | None = None,
    auth_method: AuthMethod = "hmac-sha256",
    magic: bytes = POPPO_MAGIC,
    max_frame_bytes: int = DEFAULT_STREAM_MAX_FRAME_BYTES,
    backoff: Backoff | None = None,
) -> CommandFrameClientTransport:
    """A client transport speaking the command-frame binding to a server at ``path`` (Unix
    socket) or ``host`` + ``port`` (TCP).

    Connecting is lazy: the first call connects, waits for ``welcome``, authenticates and sends
    the calls that waited. A connection that cannot be made or is lost while calls wait is
    retried with ``backoff`` (jittered exponential, 100 ms doubling to 5 s) until the calls'
    deadlines. Commands sent on a lost connection fail with ``Code.UNAVAILABLE`` (they may have
    run), except ``NO_SIDE_EFFECTS`` / ``IDEMPOTENT`` ones, which are sent again; an event
    stream that was connected ends with ``Code.UNAVAILABLE`` (one still waiting for its first
    connection waits on); a failed authentication fails the waiting calls with
    ``Code.UNAUTHENTICATED``. The caller owns the transport and closes it with ``aclose``.

    :param secret: the shared secret (PoppoBuilder's auth token); needed when the server asks
    :param auth_method: ``"hmac-sha256"`` (default, mutual challenge-response) or ``"token"``
        (sends the secret itself, as the existing daemon expects)
    :param magic: bytes every frame starts with; default ``b"POPPO"``
    :param max_frame_bytes: largest frame either way, in bytes; default 16 MiB
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when neither or both of ``path`` and ``host`` +
        ``port`` are given, the socket path is empty or too long, or a limit is out of range
    """
    _check_endpoint(path, host, port)
    if path is not None:
        assert_socket_path(path)
    return CommandFrameClientTransport(
        path=path,
        host=host,
        port=port,
        secret=secret,
        auth_method=auth_method,
        framer=create_length_prefix_framer(magic=magic, max_frame_bytes=max_frame_bytes),
        backoff=backoff or Backoff(),
    )


# -- server ---------------------------------------------------------------------------------------


DEFAULT_AUTH_TIMEOUT_MS = 10_000
"""How long a connection may stay unauthenticated by default, in milliseconds."""

DEFAULT_MAX_CALLS_PER_CONNECTION = 4096
"""Most commands running at once per connection by default."""


@dataclass(eq=False)
class _Peer:
    key: str
    writer: asyncio.StreamWriter
    challenge: str
    authenticated: bool = False
    closing: bool = False
    commands: int = 0
    auth_timer: asyncio.TimerHandle | None = None
    calls: set[_ServerCall] = field(default_factory=set)

    def abort_all(self, reason: IpcError) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        for c in list(self.calls):
            c.abort(reason)
        self.calls.clear()


class _ServerCall(AbortState):
    """One running handler (an :class:`~protoipc.transport.IncomingCall`): a command answered
    once, or an event source whose items become ``event`` messages."""

    def __init__(
        self,
        server: CommandFrameServerTransport,
        peer: _Peer,
        request_id: str | int | None,
        method: MethodDescriptor[Any, Any, Any],
        deadline_unix_ms: int,
    ) -> None:
        self._server = server
        self._peer = peer
        self._id = request_id
        self._method = method
        self._deadline = deadline_unix_ms
        self._done = False
        self._reason: IpcError | None = None
        self._callbacks: list[Callable[[IpcError], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        if request_id is not None:
            peer.commands += 1

    @property
    def method(self) -> MethodDescriptor[Any, Any, Any]:
        return self._method

    @property
    def deadline_unix_ms(self) -> int:
        return self._deadline

    @property
    def metadata(self) -> Mapping[str, str]:
        return {}

    @property
    def peer(self) -> str:
        return self._peer.key

    def arm(self, timeout_ms: int) -> None:
        def fire() -> None:
            err = IpcError(
                f"deadline of {timeout_ms} ms exceeded while {self._method.wire_name} ran",
                Code.DEADLINE_EXCEEDED,
            )
            if self._end():
                self._server._answer(self._peer, error_to_wire(self._id, err))
            self.abort(err)

        self._timer = asyncio.get_running_loop().call_later(timeout_ms / 1000, fire)

    def abort(self, reason: IpcError) -> None:
        self._end()
        self._notify_abort(reason, self._method.path)

    def _end(self) -> bool:
        if self._done:
            return False
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._peer.calls.discard(self)
        if self._id is not None:
            self._peer.commands -= 1
        return True

    async def update(self, message: Message) -> None:
        if self._done:
            raise self._reason or IpcError("call has ended", Code.CANCELED)
        await self._server._send_event(self._peer, event_to_wire(message))

    def result(self, message: Message | None) -> None:
        if not self._end() or self._id is None:
            return
        try:
            result = {} if message is None else message_to_wire(message)
        except IpcError as e:
            self._server._answer(self._peer, error_to_wire(self._id, e))
            return
        self._server._answer(
            self._peer, {"type": "response", "id": self._id, "success": True, "result": result}
        )

    def error(self, error: IpcError) -> None:
        if not self._end() or self._id is None:
            return
        self._server._answer(self._peer, error_to_wire(self._id, error))


class CommandFrameServerTransport(ServerTransport):
    """See :func:`create_command_frame_server_transport`."""

    def __init__(
        self,
        *,
        services: Sequence[ServiceDescriptor],
        path: str | None,
        host: str | None,
        port: int | None,
        secret: str | bytes | None,
        auth_methods: Sequence[AuthMethod],
        auth_required: bool,
        framer: LengthPrefixFramer,
        socket_mode: int,
        auth_timeout_ms: int,
        max_calls_per_connection: int,
        reclaim_stale_socket: bool,
    ) -> None:
        self._reclaim = reclaim_stale_socket
        self._auth_timeout_ms = auth_timeout_ms
        self._max_calls = max_calls_per_connection
        self._path = path
        self._host = host
        self._port = port
        self._secret = secret
        self._auth_methods = frozenset(auth_methods)
        self._auth_required = auth_required
        self._framer = framer
        self._socket_mode = socket_mode
        self._commands: dict[str, MethodDescriptor[Any, Any, Any]] = {}
        self._event_methods: list[MethodDescriptor[Any, Any, Any]] = []
        for service in services:
            for m in service.methods:
                if m.kind == "server_streaming":
                    self._event_methods.append(m)
                elif m.kind == "unary" and m.wire_name is not None:
                    if m.wire_name in self._commands:
                        raise IpcError(
                            f"two methods have the wire_name {m.wire_name}", Code.INVALID_ARGUMENT
                        )
                    self._commands[m.wire_name] = m
        self._server: asyncio.Server | None = None
        self._dispatcher: Dispatcher | None = None
        self._peers: dict[str, _Peer] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._next_peer = 1
        self._closed = False
        self._ino: int | None = None

    @property
    def port(self) -> int | None:
        """The TCP port bound (``port=0`` resolved), once listening; ``None`` for a socket path."""
        if self._server is None or self._path is not None:
            return None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def listen(self, dispatcher: Dispatcher) -> None:
        """Binds and starts accepting connections.

        :raises IpcError: ``Code.UNAVAILABLE`` when the endpoint cannot be bound
        """
        self._dispatcher = dispatcher
        try:
            if self._path is not None:
                if self._reclaim:
                    await reclaim_and_listen(self._path, self._listen_unix)
                else:
                    await self._listen_unix()
            else:
                self._server = await asyncio.start_server(
                    self._on_connection, self._host, self._port
                )
        except OSError as e:
            raise IpcError(
                f"cannot listen on {_describe(self._path, self._host, self._port)}: {e}",
                Code.UNAVAILABLE,
            ) from e

    async def _listen_unix(self) -> None:
        assert self._path is not None
        self._server = await asyncio.start_unix_server(self._on_connection, self._path)
        os.chmod(self._path, self._socket_mode)
        self._ino = os.lstat(self._path).st_ino

    def _write(self, peer: _Peer, message: dict[str, Any]) -> None:
        if peer.writer.is_closing():
            return
        peer.writer.writelines(self._framer.encode(encode_command_frame_message(message)))

    def _answer(self, peer: _Peer, message: dict[str, Any]) -> None:
        """Sends a call's answer; one over the frame limit becomes a RESOURCE_EXHAUSTED error."""
        try:
            self._write(peer, message)
        except IpcError as e:
            self._write(peer, error_to_wire(message.get("id"), e))

    async def _send_event(self, peer: _Peer, fields: dict[str, Any]) -> None:
        self._write(peer, {"type": "event", **fields})
        await peer.writer.drain()

    def _refuse(self, peer: _Peer, request_id: object, error: IpcError) -> None:
        """Answers a broken peer with ``error`` and closes its connection (after the answer is
        flushed); other connections go on."""
        peer.closing = True
        with contextlib.suppress(IpcError):
            self._write(peer, error_to_wire(request_id, error))
        peer.writer.close()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        key = f"conn-{self._next_peer}"
        self._next_peer += 1
        peer = _Peer(key, writer, create_auth_nonce())
        self._peers[key] = peer
        decoder: FrameDecoder = self._framer.create_decoder()
        try:
            welcome: dict[str, Any] = {
                "type": "welcome",
                "version": COMMAND_FRAME_VERSION,
                "authRequired": self._auth_required,
            }
            if self._auth_required:
                welcome["authMethods"] = sorted(self._auth_methods)
                welcome["challenge"] = peer.challenge
                peer.auth_timer = asyncio.get_running_loop().call_later(
                    self._auth_timeout_ms / 1000, self._auth_timed_out, peer
                )
            self._write(peer, welcome)
            if not self._auth_required:
                self._authenticated(peer)
            while not peer.closing:
                # A client that sends commands but does not read the answers is not read
                # either until they drain: buffered answers stay bounded.
                await writer.drain()
                data = await reader.read(_READ_BYTES)
                if not data:
                    break
                try:
                    frames = decoder.push(data)
                except IpcError as e:
                    self._refuse(peer, None, e)
                    break
                for frame in frames:
                    self._on_frame(peer, frame)
                    if _closing(peer):
                        break
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._peers.pop(key, None)
            peer.abort_all(IpcError("client disconnected", Code.CANCELED))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    def _auth_timed_out(self, peer: _Peer) -> None:
        if not peer.authenticated and not peer.closing:
            self._refuse(
                peer,
                None,
                IpcError(
                    f"authentication timed out after {self._auth_timeout_ms} ms",
                    Code.UNAUTHENTICATED,
                ),
            )

    def _on_frame(self, peer: _Peer, frame: bytes) -> None:
        try:
            msg = decode_command_frame_message(frame)
        except IpcError as e:
            self._refuse(peer, None, e)
            return
        if not is_compatible_version(msg.get("version")):
            self._write(
                peer,
                error_to_wire(
                    msg.get("id"),
                    IpcError(
                        f"protocol version {msg.get('version')} is not supported; this server "
                        f"speaks {COMMAND_FRAME_VERSION}",
                        Code.FAILED_PRECONDITION,
                    ),
                ),
            )
            return
        if msg["type"] == "auth":
            self._on_auth(peer, msg)
            return
        if not peer.authenticated:
            self._write(
                peer,
                error_to_wire(msg.get("id"), IpcError(AUTH_REQUIRED_MESSAGE, Code.UNAUTHENTICATED)),
            )
            return
        if msg["type"] == "command":
            self._on_command(peer, msg)
            return
        self._write(
            peer,
            error_to_wire(
                msg.get("id"),
                IpcError(f"unknown message type {msg['type']!r}", Code.INVALID_ARGUMENT),
            ),
        )

    def _on_auth(self, peer: _Peer, msg: dict[str, Any]) -> None:
        if peer.authenticated:
            self._write(peer, {"type": "auth-success", "id": msg.get("id")})
            return
        assert self._secret is not None
        method = msg.get("method", "token")
        ok = False
        proof: str | None = None
        token = msg.get("token")
        if method == "token" and "token" in self._auth_methods and isinstance(token, str):
            ok = constant_time_equal(token, self._secret)
        elif (
            method == "hmac-sha256"
            and "hmac-sha256" in self._auth_methods
            and isinstance(msg.get("nonce"), str)
            and len(msg["nonce"]) >= 16
            and isinstance(msg.get("mac"), str)
        ):
            ok = constant_time_equal(
                msg["mac"], auth_proof(self._secret, "client", peer.challenge, msg["nonce"])
            )
            proof = auth_proof(self._secret, "server", peer.challenge, msg["nonce"])
        if not ok:
            text = (
                "authentication failed"
                if method in self._auth_methods
                else f"authentication method {method!r} is not accepted; use one of "
                + ", ".join(sorted(self._auth_methods))
            )
            self._refuse(peer, msg.get("id"), IpcError(text, Code.UNAUTHENTICATED))
            return
        success: dict[str, Any] = {"type": "auth-success", "id": msg.get("id")}
        if proof is not None:
            success["mac"] = proof
        self._write(peer, success)
        self._authenticated(peer)

    def _authenticated(self, peer: _Peer) -> None:
        peer.authenticated = True
        if peer.auth_timer is not None:
            peer.auth_timer.cancel()
        dispatcher = self._dispatcher
        assert dispatcher is not None
        for method in self._event_methods:
            if dispatcher.lookup(method.path) is None:
                continue
            call = _ServerCall(self, peer, None, method, 2**62)
            peer.calls.add(call)
            dispatcher.invoke(method.input(), call)

    def _on_command(self, peer: _Peer, msg: dict[str, Any]) -> None:
        request_id = msg.get("id")
        if not isinstance(request_id, str | int) or isinstance(request_id, bool):
            self._write(
                peer, error_to_wire(None, IpcError("command without an id", Code.INVALID_ARGUMENT))
            )
            return
        name = str(msg.get("command"))
        dispatcher = self._dispatcher
        assert dispatcher is not None
        method = self._commands.get(name)
        if method is None or dispatcher.lookup(method.path) is None:
            self._write(
                peer,
                error_to_wire(
                    request_id, IpcError(f"unknown command {name!r}", Code.UNIMPLEMENTED)
                ),
            )
            return
        if peer.commands >= self._max_calls:
            self._write(
                peer,
                error_to_wire(
                    request_id,
                    IpcError(
                        f"{peer.commands} commands in flight reach max_calls_per_connection "
                        f"{self._max_calls}",
                        Code.RESOURCE_EXHAUSTED,
                    ),
                ),
            )
            return
        args = msg.get("args")
        if args is None:
            args = msg.get("payload")  # the daemon reads `payload`; its client sends `args`
        try:
            request = message_from_wire(method.input, args)
        except IpcError as e:
            self._write(peer, error_to_wire(request_id, e))
            return
        timeout_ms = dispatcher.timeout_ms(method)
        call = _ServerCall(self, peer, request_id, method, _now_ms() + timeout_ms)
        peer.calls.add(call)
        call.arm(timeout_ms)
        dispatcher.invoke(request, call)

    async def aclose(self) -> None:
        """Stops listening, cancels running handlers with ``Code.UNAVAILABLE``, closes every
        connection and removes the socket file if it is still ours. Idempotent."""
        if self._closed:
            return
        self._closed = True
        err = IpcError("server closed", Code.UNAVAILABLE)
        for peer in list(self._peers.values()):
            peer.abort_all(err)
            peer.closing = True
            peer.writer.close()
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
        if self._path is not None and self._ino is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self._path)
                if st.st_ino == self._ino and stat.S_ISSOCK(st.st_mode):
                    os.unlink(self._path)


def create_command_frame_server_transport(
    *,
    services: Sequence[ServiceDescriptor],
    path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    secret: str | bytes | None = None,
    auth_methods: Sequence[AuthMethod] = ("hmac-sha256",),
    auth_required: bool = True,
    magic: bytes = POPPO_MAGIC,
    max_frame_bytes: int = DEFAULT_STREAM_MAX_FRAME_BYTES,
    socket_mode: int = 0o600,
    auth_timeout_ms: int = DEFAULT_AUTH_TIMEOUT_MS,
    max_calls_per_connection: int = DEFAULT_MAX_CALLS_PER_CONNECTION,
    reclaim_stale_socket: bool = True,
) -> CommandFrameServerTransport:
    """A server transport speaking the command-frame binding on ``path`` (a Unix socket file,
    made ``socket_mode``, removed on close) or ``host`` + ``port`` (TCP; ``port=0`` picks one,
    see :attr:`CommandFrameServerTransport.port`).

    Each connection gets ``welcome`` (with a fresh ``challenge``); until it authenticates, every
    other message is answered ``error`` "Authentication required"; a failed ``auth`` is answered
    and the connection closed. Commands run the handler of the method whose ``wire_name`` they
    name (with the server's interceptors); each server-streaming method's handler is started per
    authenticated connection and its items are sent as ``event`` messages, so events reach
    authenticated clients only. A frame that cannot be framed (bad magic, over
    ``max_frame_bytes``, checked before allocating) or is not a tagged JSON object is answered
    with an error and that connection closed; others go on. A connection that does not
    authenticate within ``auth_timeout_ms`` (10 s) is closed; a connection may run
    ``max_calls_per_connection`` (4096) commands at once, more are answered
    ``RESOURCE_EXHAUSTED``.

    A socket ``path`` is prepared like a daemon's when ``reclaim_stale_socket`` (default): its
    directory made private (0700, else ``PERMISSION_DENIED``), a stale socket nobody answers on
    removed under a lock, a live server's never (``listen`` raises ``ALREADY_EXISTS``).

    :param services: the services served (their commands and event sources)
    :param secret: the shared secret; give it, or ``auth_required=False``
    :param auth_methods: accepted proofs; default HMAC only; add ``"token"`` for the existing
        PoppoBuilder client
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when neither ``secret`` nor
        ``auth_required=False`` is given, the endpoint is ambiguous, or two methods share a
        ``wire_name``
    """
    _check_endpoint(path, host, port)
    if path is not None:
        assert_socket_path(path)
    if secret is None and auth_required:
        raise IpcError(
            "give a secret, or auth_required=False for a server without authentication",
            Code.INVALID_ARGUMENT,
        )
    return CommandFrameServerTransport(
        services=services,
        path=path,
        host=host,
        port=port,
        secret=secret,
        auth_methods=auth_methods,
        auth_required=auth_required,
        framer=create_length_prefix_framer(magic=magic, max_frame_bytes=max_frame_bytes),
        socket_mode=socket_mode,
        auth_timeout_ms=auth_timeout_ms,
        max_calls_per_connection=max_calls_per_connection,
        reclaim_stale_socket=reclaim_stale_socket,
    )
