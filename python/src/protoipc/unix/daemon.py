"""Daemon lifecycle on Unix sockets: the socket path under ``$XDG_RUNTIME_DIR/<app>/`` (0700
directory, 0600 socket; a checked per-user fallback under the temp directory), the socket-path
limit, stale-socket reclaim that never steals a live server's socket, the server's inactivity
timeout, a health ping, and client auto-start.

Mirrors packages/unix/src/daemon-{paths,server,client}.ts. The reclaim lock is the directory
``<socket>.lock`` (created with ``mkdir``, stale after 5 s), the same lock the TypeScript side
takes through proper-lockfile, so a TypeScript and a Python server reclaiming one socket at once
exclude each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from protoipc.client import Client
from protoipc.descriptor import MethodDescriptor
from protoipc.errors import Code, IpcError
from protoipc.frames import FramePeer, ServerFrameChannel, ServerFrameHandlers
from protoipc.native import DEFAULT_HEARTBEAT_INTERVAL_MS
from protoipc.transport import ClientTransport, Dispatcher, ServerTransport
from protoipc.unix.framing import Framer
from protoipc.unix.stream import (
    StreamBinding,
    StreamServerChannel,
    assert_socket_path,
    create_stream_transport,
    default_framer,
    server_transport_for,
)

__all__ = [
    "DEFAULT_STARTUP_POLL_MS",
    "DEFAULT_STARTUP_TIMEOUT_MS",
    "DaemonConnection",
    "DaemonServerTransport",
    "connect_daemon",
    "create_daemon_server_transport",
    "daemon_dir",
    "daemon_socket_path",
    "ensure_private_dir",
    "ping_daemon",
    "probe_socket",
    "reclaim_and_listen",
]

T = TypeVar("T")

DEFAULT_STARTUP_TIMEOUT_MS = 5_000
"""Default time a started daemon has to answer its health ping, in milliseconds."""
DEFAULT_STARTUP_POLL_MS = 100
"""Default interval between health pings while a daemon starts, in milliseconds."""
_LOCK_STALE_S = 5.0


def daemon_dir(app: str, *, env: Mapping[str, str] | None = None) -> str:
    """``$XDG_RUNTIME_DIR/<app>``, or ``<tempdir>/<app>-<uid>`` when ``XDG_RUNTIME_DIR`` is unset
    or not absolute (made private and checked by :func:`ensure_private_dir`).

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when ``app`` is not a single path segment
    """
    if not app or "/" in app or app in (".", ".."):
        raise IpcError(f'app name "{app}" is empty or not a single path segment', Code.INVALID_ARGUMENT)
    xdg = (os.environ if env is None else env).get("XDG_RUNTIME_DIR")
    if xdg and xdg.startswith("/"):
        return os.path.join(xdg, app)
    return os.path.join(tempfile.gettempdir(), f"{app}-{os.getuid()}")


def daemon_socket_path(
    app: str, *, socket_name: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """``<daemon_dir>/<app>.sock``, checked against the socket-path limit.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the path is too long
    """
    path = os.path.join(daemon_dir(app, env=env), socket_name or f"{app}.sock")
    assert_socket_path(path)
    return path


def ensure_private_dir(path: str) -> None:
    """Creates ``path`` (and parents) with mode 0700 if absent, then checks it is a real
    directory of this user with no permissions for group or others.

    :raises IpcError: ``Code.PERMISSION_DENIED`` when it is a symlink or not a directory, owned
        by another user, or open to others (naming the mode)
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise IpcError(f"{path} is not a directory (symlinks are refused)", Code.PERMISSION_DENIED)
    if st.st_uid != os.getuid():
        raise IpcError(
            f"{path} is owned by uid {st.st_uid}, not by uid {os.getuid()}", Code.PERMISSION_DENIED
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise IpcError(
            f"{path} has mode 0{mode:o}; a socket directory must be 0700", Code.PERMISSION_DENIED
        )


async def probe_socket(path: str, timeout_ms: int = 1_000) -> Literal["live", "stale", "absent"]:
    """Whether something accepts connections on the Unix socket at ``path``. A probe that does
    not finish within ``timeout_ms`` counts as live (a busy server is never stolen from).

    :raises IpcError: ``Code.FAILED_PRECONDITION`` when ``path`` exists and is not a socket
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    if not stat.S_ISSOCK(st.st_mode):
        raise IpcError(
            f"{path} exists and is not a socket; refusing to remove it", Code.FAILED_PRECONDITION
        )
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout_ms / 1000)
    except TimeoutError:
        return "live"
    except FileNotFoundError:
        return "absent"
    except ConnectionRefusedError:
        return "stale"
    except OSError:
        return "live"
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return "live"


@contextlib.asynccontextmanager
async def _dir_lock(lock_path: str, attempts: int = 40) -> Any:
    delay = 0.025
    for _ in range(attempts):
        try:
            os.mkdir(lock_path, 0o700)
            break
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - os.stat(lock_path).st_mtime > _LOCK_STALE_S:
                    os.rmdir(lock_path)  # Its holder died; take it over.
                    continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
    else:
        raise IpcError(f"cannot take the lock {lock_path}: it stays taken", Code.UNAVAILABLE)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(lock_path)


async def reclaim_and_listen(
    path: str, listen: Callable[[], Awaitable[T]], probe_timeout_ms: int = 1_000
) -> T:
    """Makes the socket's directory private, takes the reclaim lock ``<path>.lock``, probes
    ``path``, removes a stale socket nobody answers on, then runs ``listen`` under the lock.

    :raises IpcError: ``Code.ALREADY_EXISTS`` when a server answers on ``path``;
        ``Code.FAILED_PRECONDITION`` when it is not a socket; ``Code.PERMISSION_DENIED`` when
        the directory is not private; ``Code.UNAVAILABLE`` when the lock stays taken
    """
    ensure_private_dir(os.path.dirname(path))
    async with _dir_lock(f"{path}.lock"):
        state = await probe_socket(path, probe_timeout_ms)
        if state == "live":
            raise IpcError(f"a server is already listening on {path}", Code.ALREADY_EXISTS)
        if state == "stale":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return await listen()


class _GuardedChannel(ServerFrameChannel):
    """A stream server channel whose start reclaims the path first and tracks activity."""

    def __init__(self, inner: StreamServerChannel, path: str, probe_timeout_ms: int) -> None:
        self.max_frame_bytes = inner.max_frame_bytes
        self._inner = inner
        self._path = path
        self._probe_ms = probe_timeout_ms
        self.on_started: Callable[[], None] = lambda: None

    async def start(self, handlers: ServerFrameHandlers) -> None:
        await reclaim_and_listen(self._path, lambda: self._inner.start(handlers), self._probe_ms)
        self.on_started()

    def post(self, peer: FramePeer, frame: bytes) -> None:
        self._inner.post(peer, frame)

    async def send(self, peer: FramePeer, frame: bytes) -> None:
        await self._inner.send(peer, frame)

    async def aclose(self) -> None:
        await self._inner.aclose()


class DaemonServerTransport(ServerTransport):
    """A server transport for a local daemon; see :func:`create_daemon_server_transport`."""

    def __init__(
        self,
        socket_path: str,
        binding: StreamBinding,
        framer: Framer,
        inactivity_timeout_ms: int,
        probe_timeout_ms: int,
        heartbeat_interval_ms: int,
    ) -> None:
        self.socket_path = socket_path
        """The Unix socket path served."""
        self._idle_s = inactivity_timeout_ms / 1000
        self._timer: asyncio.TimerHandle | None = None
        self._inactive = asyncio.Event()
        self._channel = StreamServerChannel(
            framer,
            path=socket_path,
            on_connection=self._on_connection,
            on_disconnect=self._on_disconnect,
        )
        guarded = _GuardedChannel(self._channel, socket_path, probe_timeout_ms)
        guarded.on_started = self._arm
        self._inner = server_transport_for(binding, guarded, heartbeat_interval_ms=heartbeat_interval_ms)

    def _arm(self) -> None:
        if self._idle_s <= 0:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self._idle_s, self._inactive.set)

    def _on_connection(self, peer: FramePeer) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_disconnect(self, peer: FramePeer) -> None:
        if self._channel.peer_count == 0:
            self._arm()

    async def wait_inactive(self) -> None:
        """Returns once no client has been connected for ``inactivity_timeout_ms`` (never when
        it is 0)."""
        await self._inactive.wait()

    async def listen(self, dispatcher: Dispatcher) -> None:
        await self._inner.listen(dispatcher)

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._inner.aclose()


def create_daemon_server_transport(
    *,
    app: str | None = None,
    socket_path: str | None = None,
    env: Mapping[str, str] | None = None,
    binding: StreamBinding = "native",
    framer: Framer | None = None,
    inactivity_timeout_ms: int = 0,
    probe_timeout_ms: int = 1_000,
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
) -> DaemonServerTransport:
    """A server transport for a local daemon: listens on ``$XDG_RUNTIME_DIR/<app>/<app>.sock``
    (or ``socket_path``) in a private directory, socket 0600, after reclaiming a stale socket
    safely (:func:`reclaim_and_listen`). :meth:`DaemonServerTransport.wait_inactive` returns
    after ``inactivity_timeout_ms`` without clients. ``listen`` raises ``Code.ALREADY_EXISTS``
    when another server answers on the path.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when neither ``socket_path`` nor ``app`` is
        given, or the path is too long
    """
    if socket_path is None:
        if app is None:
            raise IpcError("give socket_path or app", Code.INVALID_ARGUMENT)
        socket_path = daemon_socket_path(app, env=env)
    assert_socket_path(socket_path)
    return DaemonServerTransport(
        socket_path,
        binding,
        framer or default_framer(binding),
        inactivity_timeout_ms,
        probe_timeout_ms,
        heartbeat_interval_ms,
    )


async def _call_ping(
    transport: ClientTransport, method: MethodDescriptor[Any, Any, Any], timeout_ms: float, service: Any
) -> Any:
    if method.kind != "unary":
        raise IpcError(f"ping_method {method.path} must be unary", Code.INVALID_ARGUMENT)
    client = Client(service, transport)
    return await client._unary(method, method.input(), timeout_ms=timeout_ms, metadata=None)


def _service_of(method: MethodDescriptor[Any, Any, Any], service: Any) -> Any:
    if service is None:
        raise IpcError("give the service of ping_method", Code.INVALID_ARGUMENT)
    return service


async def ping_daemon(
    socket_path: str,
    ping_method: MethodDescriptor[Any, Any, Any],
    *,
    service: Any,
    timeout_ms: float = 1_000,
    binding: StreamBinding | None = None,
) -> Any:
    """Health ping: calls ``ping_method`` (a unary method of ``service``) with an empty request
    on a fresh connection and returns its response.

    :raises IpcError: ``Code.UNAVAILABLE`` when nothing listens; the ping's own error else
    """
    transport = create_stream_transport(path=socket_path, binding=binding)
    try:
        return await _call_ping(transport, ping_method, timeout_ms, _service_of(ping_method, service))
    finally:
        await transport.aclose()


@dataclass(frozen=True)
class DaemonConnection:
    """What :func:`connect_daemon` returns."""

    transport: ClientTransport
    """A client transport to the daemon; the caller closes it."""
    started_pid: int | None
    """The pid of the daemon this call started, or ``None`` when one was already running."""


def _tail(path: str, max_bytes: int = 2048) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            return f.read().decode(errors="replace").strip()
    except OSError:
        return ""


async def connect_daemon(
    socket_path: str,
    ping_method: MethodDescriptor[Any, Any, Any],
    *,
    service: Any,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    log_path: str | None = None,
    startup_timeout_ms: int = DEFAULT_STARTUP_TIMEOUT_MS,
    poll_interval_ms: int = DEFAULT_STARTUP_POLL_MS,
    timeout_ms: float = 1_000,
    binding: StreamBinding | None = None,
) -> DaemonConnection:
    """Connects to a local daemon, starting ``command`` detached (output to ``log_path``,
    default ``<socket>.log``) when nothing answers, then pinging every ``poll_interval_ms``
    until it answers or ``startup_timeout_ms`` passes.

    The daemon runs in its own session and outlives this process; it stays this process's
    child, so if it exits while this process still runs it is reaped only when this process
    ends (a zombie meanwhile).

    :raises IpcError: ``Code.UNAVAILABLE`` when nothing answers and there is no ``command``,
        when the command exits before answering (naming it, its exit code and the tail of its
        output), or does not answer in time (naming it)
    """
    svc = _service_of(ping_method, service)
    first = create_stream_transport(path=socket_path, binding=binding)
    try:
        await _call_ping(first, ping_method, timeout_ms, svc)
        return DaemonConnection(first, None)
    except IpcError as e:
        await first.aclose()
        if e.code != Code.UNAVAILABLE or not command:
            raise
    shown = " ".join(command)
    ensure_private_dir(os.path.dirname(socket_path))
    log = log_path or f"{socket_path}.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # posix_spawn, not subprocess: the daemon outlives this process (its own session), and a
        # Popen object for it would warn when collected while the daemon still runs.
        pid = os.posix_spawnp(
            command[0],
            list(command),
            dict(os.environ if env is None else env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, fd, 2),
            ],
            setsid=True,
        )
    except OSError as e:
        raise IpcError(f"cannot start daemon {shown}: {e}", Code.UNAVAILABLE) from e
    finally:
        os.close(fd)
    name = ping_method.wire_name or ping_method.path
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout_ms / 1000
    while True:
        t = create_stream_transport(path=socket_path, binding=binding)
        try:
            left_ms = max(1.0, min(timeout_ms, (deadline - loop.time()) * 1000))
            await _call_ping(t, ping_method, left_ms, svc)
            return DaemonConnection(t, pid)
        except IpcError as e:
            await t.aclose()
            if e.code not in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED):
                raise
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            out = _tail(log)
            raise IpcError(
                f"daemon {shown} exited with code {code} before answering {name}"
                + (f"; its output ends: {out}" if out else ""),
                Code.UNAVAILABLE,
            )
        if loop.time() >= deadline:
            out = _tail(log)
            raise IpcError(
                f"daemon {shown} did not answer {name} within startup_timeout_ms "
                f"{startup_timeout_ms}" + (f"; its output ends: {out}" if out else ""),
                Code.UNAVAILABLE,
            )
        await asyncio.sleep(poll_interval_ms / 1000)
