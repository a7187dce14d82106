"""Daemon lifecycle in Python over real Unix sockets and real processes: directory and socket
modes, the socket-path limit, stale-socket reclaim that never steals a live server's socket,
inactivity, client auto-start (mirrors test/daemon.test.ts)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator

import pytest
from crystalmath.v1 import crystalmath_ipc
from crystalmath.v1 import crystalmath_pb2 as pb

import protoipc
from protoipc.unix import (
    connect_daemon,
    create_daemon_server_transport,
    daemon_dir,
    daemon_socket_path,
    ensure_private_dir,
    ping_daemon,
    probe_socket,
)

SERVICE = crystalmath_ipc.CRYSTAL_MATH_SERVICE
PING = SERVICE.method("system_ping")
DAEMON = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "py_crystalmath_daemon.py")


class Backend(crystalmath_ipc.CrystalMathServiceHandler):
    async def system_ping(self, request: pb.SystemPingRequest, context: protoipc.CallContext) -> pb.SystemPingResponse:
        return pb.SystemPingResponse(pong=True, timestamp="now")


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_paths_use_xdg_runtime_dir_else_a_per_user_temp_dir() -> None:
    env = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    assert daemon_socket_path("crystalmath", env=env) == "/run/user/1000/crystalmath/crystalmath.sock"
    assert daemon_dir("crystalmath", env={}) == os.path.join(tempfile.gettempdir(), f"crystalmath-{os.getuid()}")


def test_a_socket_path_over_the_limit_is_refused() -> None:
    with pytest.raises(protoipc.IpcError) as err:
        daemon_socket_path("crystalmath", env={"XDG_RUNTIME_DIR": "/run/" + "d" * 100})
    assert err.value.code == protoipc.Code.INVALID_ARGUMENT
    assert err.value.raw_message.startswith("socket path of 134 bytes exceeds the limit of 107 bytes")


def test_private_dir_is_made_0700_and_an_open_one_is_refused(private_dir: str) -> None:
    d = os.path.join(private_dir, "a", "app")
    ensure_private_dir(d)
    assert mode(d) == 0o700
    open_dir = os.path.join(private_dir, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o755)
    with pytest.raises(protoipc.IpcError) as err:
        ensure_private_dir(open_dir)
    assert err.value.code == protoipc.Code.PERMISSION_DENIED
    assert "mode 0755" in err.value.raw_message
    os.symlink(d, os.path.join(private_dir, "link"))
    with pytest.raises(protoipc.IpcError):
        ensure_private_dir(os.path.join(private_dir, "link"))


async def test_socket_0600_in_0700_dir_then_removed(private_dir: str) -> None:
    xdg = os.path.join(private_dir, "xdg")
    transport = create_daemon_server_transport(app="crystalmath", env={"XDG_RUNTIME_DIR": xdg}, binding="jsonrpc2")
    server = protoipc.create_server(transport)
    server.register(Backend())
    await server.listen()
    try:
        assert transport.socket_path == os.path.join(xdg, "crystalmath", "crystalmath.sock")
        assert mode(os.path.dirname(transport.socket_path)) == 0o700
        assert mode(transport.socket_path) == 0o600
        pong = await ping_daemon(transport.socket_path, PING, service=SERVICE)
        assert pong.pong
    finally:
        await server.close()
    assert not os.path.exists(transport.socket_path)


async def test_a_stale_socket_is_reclaimed(private_dir: str) -> None:
    path = os.path.join(private_dir, "run", "cm.sock")
    os.mkdir(os.path.dirname(path), 0o700)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # bound, never listening, left behind
    assert await probe_socket(path) == "stale"
    server = protoipc.create_server(create_daemon_server_transport(socket_path=path, binding="jsonrpc2"))
    server.register(Backend())
    await server.listen()
    try:
        assert await probe_socket(path) == "live"
    finally:
        await server.close()


async def test_a_live_servers_socket_is_never_stolen(private_dir: str) -> None:
    path = os.path.join(private_dir, "run", "cm.sock")
    first = protoipc.create_server(create_daemon_server_transport(socket_path=path, binding="jsonrpc2"))
    first.register(Backend())
    await first.listen()
    second = protoipc.create_server(create_daemon_server_transport(socket_path=path, binding="jsonrpc2"))
    second.register(Backend())
    try:
        with pytest.raises(protoipc.IpcError) as err:
            await second.listen()
        assert err.value.code == protoipc.Code.ALREADY_EXISTS
        assert (await ping_daemon(path, PING, service=SERVICE)).pong
    finally:
        await second.close()
        await first.close()


async def test_inactivity_after_the_last_client_left(private_dir: str) -> None:
    path = os.path.join(private_dir, "run", "cm.sock")
    transport = create_daemon_server_transport(socket_path=path, binding="jsonrpc2", inactivity_timeout_ms=150)
    server = protoipc.create_server(transport)
    server.register(Backend())
    await server.listen()
    try:
        await ping_daemon(path, PING, service=SERVICE)
        await transport.wait_inactive()
    finally:
        await server.close()


@pytest.fixture
def started_pids() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


async def test_auto_start_then_reuse(private_dir: str, started_pids: list[int]) -> None:
    path = os.path.join(private_dir, "run", "cm.sock")
    command = [sys.executable, DAEMON, "--socket", path]
    first = await connect_daemon(path, PING, service=SERVICE, command=command, startup_timeout_ms=15_000)
    try:
        assert first.started_pid is not None
        started_pids.append(first.started_pid)
        version = await crystalmath_ipc.CrystalMathServiceClient(first.transport).system_version()
        assert version.transport == "unix-socket"
    finally:
        await first.transport.aclose()
    second = await connect_daemon(path, PING, service=SERVICE, command=command)
    await second.transport.aclose()
    assert second.started_pid is None


async def test_a_daemon_that_dies_while_starting_is_named(private_dir: str) -> None:
    path = os.path.join(private_dir, "run", "cm.sock")
    with pytest.raises(protoipc.IpcError) as err:
        await connect_daemon(
            path, PING, service=SERVICE, command=["sh", "-c", "echo 'config file missing' >&2; exit 3"]
        )
    assert err.value.code == protoipc.Code.UNAVAILABLE
    assert err.value.raw_message.startswith("daemon sh -c")
    assert "exited with code 3 before answering system.ping" in err.value.raw_message
    assert "config file missing" in err.value.raw_message
