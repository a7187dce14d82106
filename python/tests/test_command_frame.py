"""The command-frame binding (PoppoBuilder, PROTOCOLS.md §4) with the generated poppo SDK over
real Unix sockets: HMAC and static-token auth, the auth gate, malformed and oversized frames,
events to authenticated clients only, deadlines, reconnects (mirrors
test/poppo-command-frame.test.ts)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import poppo
from poppo.v1 import poppo_ipc, poppo_pb2

import protoipc
from protoipc import Code, IpcError
from protoipc.unix.command_frame import (
    create_command_frame_server_transport,
    create_command_frame_transport,
)
from protoipc.unix.command_frame_auth import AuthMethod, Backoff, auth_proof, constant_time_equal
from protoipc.unix.command_frame_protocol import (
    POPPO_MAGIC,
    code_from_wire,
    decode_command_frame_message,
    error_from_wire,
    event_from_wire,
    event_to_wire,
    message_from_wire,
    message_to_wire,
)
from protoipc.unix.length_prefix import create_length_prefix_framer

SECRET = "s3cret-token-for-tests"
FRAMER = create_length_prefix_framer(magic=POPPO_MAGIC)


class Events:
    """Every subscriber gets every event published after it subscribed."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[poppo_pb2.WatchEventsResponse]] = set()
        self.subscriptions = 0
        self._changed = asyncio.Condition()
        self.task_cancel_running = asyncio.Event()

    async def wait_subscriptions(self, n: int) -> None:
        """Waits until ``n`` subscriptions were made in all (each authenticated connection makes
        one)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.subscriptions >= n)

    def publish(self, event: poppo_pb2.WatchEventsResponse) -> None:
        for q in self.queues:
            q.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[poppo_pb2.WatchEventsResponse]:
        q: asyncio.Queue[poppo_pb2.WatchEventsResponse] = asyncio.Queue()
        self.queues.add(q)
        self.subscriptions += 1
        async with self._changed:
            self._changed.notify_all()
        try:
            while True:
                yield await q.get()
        finally:
            self.queues.discard(q)


class Daemon(poppo_ipc.DaemonServiceHandler):
    def __init__(self, events: Events) -> None:
        self.events = events

    async def daemon_status(
        self, request: poppo_pb2.DaemonStatusRequest, context: protoipc.CallContext
    ) -> poppo_pb2.DaemonStatusResponse:
        r = poppo_pb2.DaemonStatusResponse(status="running", version="3.1.0", pid=os.getpid())
        r.config.update({"port": 3003})
        return r

    async def project_add(
        self, request: poppo_pb2.ProjectAddRequest, context: protoipc.CallContext
    ) -> poppo_pb2.ProjectAddResponse:
        r = poppo_pb2.ProjectAddResponse()
        name = request.name if request.HasField("name") else "(derived)"
        r.result.update({"added": request.path, "name": name})
        return r

    async def task_cancel(
        self, request: poppo_pb2.TaskCancelRequest, context: protoipc.CallContext
    ) -> poppo_pb2.TaskCancelResponse:
        self.events.task_cancel_running.set()
        await asyncio.Event().wait()  # until the deadline cancels this task
        return poppo_pb2.TaskCancelResponse()

    async def watch_events(
        self, request: poppo_pb2.WatchEventsRequest, context: protoipc.CallContext
    ) -> AsyncIterator[poppo_pb2.WatchEventsResponse]:
        async for e in self.events.subscribe():
            yield e


Cleanup = list[Callable[[], Awaitable[None]]]


@pytest.fixture
async def cleanups() -> AsyncIterator[Cleanup]:
    fns: Cleanup = []
    yield fns
    for fn in reversed(fns):
        await fn()


async def start_server(
    path: str,
    cleanups: Cleanup,
    events: Events | None = None,
    auth_methods: tuple[AuthMethod, ...] = ("hmac-sha256",),
    max_frame_bytes: int = 16 * 1024 * 1024,
    **kwargs: Any,
) -> tuple[protoipc.Server, Events]:
    events = events or Events()
    server = protoipc.create_server(
        create_command_frame_server_transport(
            services=[poppo_ipc.DAEMON_SERVICE],
            path=path,
            secret=SECRET,
            auth_methods=auth_methods,
            max_frame_bytes=max_frame_bytes,
            **kwargs,
        )
    )
    server.register(Daemon(events))
    await server.listen()
    cleanups.append(server.close)
    return server, events


def client(path: str, cleanups: Cleanup, **kwargs: Any) -> poppo_ipc.DaemonServiceClient:
    options: dict[str, Any] = {"secret": SECRET, **kwargs}
    transport = create_command_frame_transport(path=path, **options)
    cleanups.append(transport.aclose)
    return poppo_ipc.DaemonServiceClient(transport)


class Raw:
    """A socket speaking frames by hand, to see exactly what the server sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FRAMER.create_decoder()
        self.inbox: list[dict[str, Any]] = []

    def send(self, msg: object) -> None:
        self.writer.writelines(FRAMER.encode(json.dumps(msg).encode()))

    async def next(self) -> dict[str, Any]:
        while not self.inbox:
            data = await self.reader.read(65536)
            if not data:
                raise AssertionError("connection closed with no message")
            self.inbox += [decode_command_frame_message(f) for f in self.decoder.push(data)]
        return self.inbox.pop(0)

    async def closed(self) -> None:
        while await self.reader.read(65536):
            pass


async def raw(path: str, cleanups: Cleanup) -> Raw:
    reader, writer = await asyncio.open_unix_connection(path)

    async def close() -> None:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass

    cleanups.append(close)
    return Raw(reader, writer)


@pytest.fixture
def sock(private_dir: str) -> str:
    return os.path.join(private_dir, "daemon.sock")


async def test_hmac_auth_and_commands(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups)
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    poppo = client(sock, cleanups)
    status = await poppo.daemon_status()
    assert (status.status, status.pid) == ("running", os.getpid())
    assert dict(status.config) == {"port": 3003}
    added = await poppo.project_add(poppo_pb2.ProjectAddRequest(path="/src/app"))
    assert dict(added.result) == {"added": "/src/app", "name": "(derived)"}


async def test_wire_shape_with_static_token(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups, auth_methods=("token",))
    r = await raw(sock, cleanups)
    welcome = await r.next()
    assert welcome["type"] == "welcome" and welcome["version"] == "1.0.0"
    assert welcome["authRequired"] is True and isinstance(welcome["timestamp"], int)
    r.send({"type": "auth", "id": "a1", "token": SECRET})
    assert (await r.next())["type"] == "auth-success"
    r.send({"type": "command", "id": "c1", "command": "project.add", "payload": {"path": "/p"}})
    resp = await r.next()
    assert resp["type"] == "response" and resp["id"] == "c1" and resp["result"]["added"] == "/p"
    r.send({"type": "command", "id": "c2", "command": "no.such", "args": {}})
    err = await r.next()
    assert err["id"] == "c2" and err["error"]["code"] == "UNIMPLEMENTED"


async def test_other_major_version_refused(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups, auth_methods=("token",))
    r = await raw(sock, cleanups)
    await r.next()
    r.send({"type": "auth", "id": "a", "token": SECRET, "version": "2.0.0"})
    err = await r.next()
    assert err["id"] == "a" and err["error"]["code"] == "FAILED_PRECONDITION"


async def test_auth_required_before_auth(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups)
    r = await raw(sock, cleanups)
    assert isinstance((await r.next())["challenge"], str)
    r.send({"type": "command", "id": "c1", "command": "daemon.status", "args": {}})
    err = await r.next()
    assert err["id"] == "c1"
    assert err["error"] == {"message": "Authentication required", "code": "UNAUTHENTICATED"}


async def test_bad_secret_hmac_and_bad_token(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups)
    with pytest.raises(IpcError) as e:
        await client(sock, cleanups, secret="wrong").daemon_status()
    assert e.value.code == Code.UNAUTHENTICATED
    with pytest.raises(IpcError) as e:
        await client(sock, cleanups, auth_method="token").daemon_status()
    assert e.value.code == Code.UNAUTHENTICATED and "not accepted" in e.value.raw_message
    assert (await client(sock, cleanups).daemon_status()).status == "running"


async def test_bad_static_token_closes(private_dir: str, cleanups: Cleanup) -> None:
    path = os.path.join(private_dir, "token.sock")
    await start_server(path, cleanups, auth_methods=("token",))
    with pytest.raises(IpcError) as e:
        await client(path, cleanups, secret="nope", auth_method="token").daemon_status()
    assert e.value.code == Code.UNAUTHENTICATED
    r = await raw(path, cleanups)
    await r.next()
    r.send({"type": "auth", "id": "a", "token": SECRET + "x"})
    assert (await r.next())["error"]["code"] == "UNAUTHENTICATED"
    await r.closed()
    ok = client(path, cleanups, auth_method="token")
    assert (await ok.daemon_status()).status == "running"


async def test_malformed_frame_closes_only_that_connection(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups)
    good = client(sock, cleanups)
    assert (await good.daemon_status()).status == "running"
    r = await raw(sock, cleanups)
    await r.next()
    r.writer.write(b"GARBAGE that is not a frame")
    assert (await r.next())["error"]["code"] == "INVALID_ARGUMENT"
    await r.closed()
    j = await raw(sock, cleanups)
    await j.next()
    j.writer.writelines(FRAMER.encode(b"{not json"))
    assert (await j.next())["error"]["code"] == "INVALID_ARGUMENT"
    await j.closed()
    assert (await good.daemon_status()).status == "running"


async def test_oversize_rejected_from_header(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups, max_frame_bytes=1024)
    r = await raw(sock, cleanups)
    await r.next()
    r.writer.write(b"POPPO\xff\xff\xff\xff")  # declares 4 GiB, sends nothing more
    err = await r.next()
    assert err["error"] == {
        "code": "RESOURCE_EXHAUSTED",
        "message": "frame of 4294967295 bytes exceeds max_frame_bytes 1024",
    }
    await r.closed()


async def test_events_reach_authenticated_clients_only(sock: str, cleanups: Cleanup) -> None:
    _, events = await start_server(sock, cleanups, auth_methods=("token", "hmac-sha256"))
    poppo = client(sock, cleanups)
    stream = poppo.watch_events()
    first = asyncio.ensure_future(anext(stream))
    r = await raw(sock, cleanups)
    await r.next()
    await events.wait_subscriptions(1)
    events.publish(
        poppo_pb2.WatchEventsResponse(event=poppo_pb2.EVENT_NAME_TASK_FAILED, id="e1")
    )
    got = await first
    assert got.event == poppo_pb2.EVENT_NAME_TASK_FAILED and got.id == "e1"
    r.send({"type": "command", "id": "probe", "command": "daemon.status"})
    assert (await r.next())["id"] == "probe"
    assert r.inbox == []
    assert isinstance(stream, protoipc.StreamCall)
    await stream.aclose()
    # An authenticated raw connection sees the wire name.
    a = await raw(sock, cleanups)
    await a.next()
    a.send({"type": "auth", "id": "a", "token": SECRET})
    await a.next()
    await events.wait_subscriptions(2)
    ev = poppo_pb2.WatchEventsResponse(event=poppo_pb2.EVENT_NAME_PROJECT_STATUS_CHANGED)
    ev.data.update({"projectId": "p"})
    events.publish(ev)
    msg = await a.next()
    assert msg["type"] == "event" and msg["event"] == "project.status-changed"
    assert msg["data"] == {"projectId": "p"}


async def test_auth_timeout_closes(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups, auth_timeout_ms=50)
    r = await raw(sock, cleanups)
    await r.next()
    err = await r.next()
    assert err["error"] == {
        "code": "UNAUTHENTICATED",
        "message": "authentication timed out after 50 ms",
    }
    await r.closed()


async def test_commands_per_connection_bounded(sock: str, cleanups: Cleanup) -> None:
    _, events = await start_server(sock, cleanups, max_calls_per_connection=1)
    poppo = client(sock, cleanups)
    blocked = asyncio.ensure_future(
        poppo.task_cancel(poppo_pb2.TaskCancelRequest(task_id="t"), timeout_ms=10_000)
    )
    await events.task_cancel_running.wait()
    with pytest.raises(IpcError) as e:
        await poppo.daemon_status()
    assert e.value.code == Code.RESOURCE_EXHAUSTED
    assert (await client(sock, cleanups).daemon_status()).status == "running"
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked


async def test_deadline(sock: str, cleanups: Cleanup) -> None:
    await start_server(sock, cleanups)
    with pytest.raises(IpcError) as e:
        await client(sock, cleanups).task_cancel(
            poppo_pb2.TaskCancelRequest(task_id="t"), timeout_ms=200
        )
    assert e.value.code == Code.DEADLINE_EXCEEDED


async def test_reconnect_after_server_restart(sock: str, cleanups: Cleanup) -> None:
    server, _ = await start_server(sock, cleanups)
    poppo = client(sock, cleanups, backoff=Backoff(initial_delay_ms=20, max_delay_ms=200))
    assert (await poppo.daemon_status()).status == "running"
    await server.close()
    pending = asyncio.ensure_future(poppo.daemon_status(timeout_ms=10_000))
    await start_server(sock, cleanups)
    assert (await pending).status == "running"


async def test_subscription_waits_for_daemon_then_ends_on_loss(
    sock: str, cleanups: Cleanup
) -> None:
    poppo = client(sock, cleanups, backoff=Backoff(initial_delay_ms=20, max_delay_ms=200))
    stream = poppo.watch_events()
    first = asyncio.ensure_future(anext(stream))
    server, events = await start_server(sock, cleanups)
    await events.wait_subscriptions(1)
    events.publish(poppo_pb2.WatchEventsResponse(event=poppo_pb2.EVENT_NAME_DAEMON_STARTED))
    assert (await first).event == poppo_pb2.EVENT_NAME_DAEMON_STARTED
    second = asyncio.ensure_future(anext(stream))
    await server.close()
    with pytest.raises(IpcError) as e:
        await second
    assert e.value.code == Code.UNAVAILABLE


class Hanging(poppo_ipc.DaemonServiceHandler):
    """Commands that run until cancelled; ``running`` is set once both have started."""

    def __init__(self) -> None:
        self.count = 0
        self.running = asyncio.Event()

    async def _hang(self) -> None:
        self.count += 1
        if self.count == 2:
            self.running.set()
        await asyncio.Event().wait()

    async def logs_tail(
        self, request: poppo_pb2.LogsTailRequest, context: protoipc.CallContext
    ) -> poppo_pb2.LogsTailResponse:
        await self._hang()
        return poppo_pb2.LogsTailResponse()

    async def task_cancel(
        self, request: poppo_pb2.TaskCancelRequest, context: protoipc.CallContext
    ) -> poppo_pb2.TaskCancelResponse:
        await self._hang()
        return poppo_pb2.TaskCancelResponse()


async def test_side_effect_free_command_resent_after_restart(
    sock: str, cleanups: Cleanup
) -> None:
    hanging = Hanging()
    first = protoipc.create_server(
        create_command_frame_server_transport(
            services=[poppo_ipc.DAEMON_SERVICE], path=sock, secret=SECRET
        )
    )
    first.register(hanging)
    await first.listen()
    cleanups.append(first.close)
    poppo = client(sock, cleanups, backoff=Backoff(initial_delay_ms=20, max_delay_ms=200))
    # logs.tail is NO_SIDE_EFFECTS in the schema; task.cancel is not.
    tail = asyncio.ensure_future(
        poppo.logs_tail(poppo_pb2.LogsTailRequest(lines=5), timeout_ms=10_000)
    )
    cancel = asyncio.ensure_future(
        poppo.task_cancel(poppo_pb2.TaskCancelRequest(task_id="t"), timeout_ms=10_000)
    )
    await hanging.running.wait()
    await first.close()
    with pytest.raises(IpcError) as e:
        await cancel
    assert e.value.code == Code.UNAVAILABLE
    await start_server(sock, cleanups)
    # The restarted daemon does not implement logs_tail: UNIMPLEMENTED proves it got the command.
    with pytest.raises(IpcError) as e:
        await tail
    assert e.value.code == Code.UNIMPLEMENTED


async def test_stale_socket_reclaimed_live_one_refused(sock: str, cleanups: Cleanup) -> None:
    import socket as socketlib

    stale = socketlib.socket(socketlib.AF_UNIX)
    stale.bind(sock)
    stale.close()  # leaves the file behind, like a killed daemon
    await start_server(sock, cleanups)
    assert (await client(sock, cleanups).daemon_status()).status == "running"
    with pytest.raises(IpcError) as e:
        await start_server(sock, cleanups)
    assert e.value.code == Code.ALREADY_EXISTS


def test_socket_path_checked() -> None:
    with pytest.raises(IpcError) as e:
        create_command_frame_transport(path="/tmp/" + "x" * 200)
    assert e.value.code == Code.INVALID_ARGUMENT


async def test_against_a_stand_in_of_the_existing_daemon(sock: str, cleanups: Cleanup) -> None:
    """A raw asyncio server written from PROTOCOLS.md §4: static token, commands read from
    ``payload``, an error reply without ``message``, events to authenticated clients."""
    authed: list[asyncio.StreamWriter] = []

    def send(w: asyncio.StreamWriter, msg: dict[str, Any]) -> None:
        body = json.dumps({**msg, "version": "1.0.0", "timestamp": 1}).encode()
        w.write(b"POPPO" + len(body).to_bytes(4, "big") + body)

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        send(w, {"type": "welcome", "authRequired": True})
        buf = b""
        try:
            while data := await r.read(65536):
                buf += data
                while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[5:9], "big"):
                    n = int.from_bytes(buf[5:9], "big")
                    msg = json.loads(buf[9 : 9 + n])
                    buf = buf[9 + n :]
                    if msg["type"] == "auth":
                        if msg.get("token") == SECRET:
                            authed.append(w)
                            send(w, {"type": "auth-success", "id": msg["id"]})
                        else:
                            bad = {"message": "Invalid token"}
                            send(w, {"type": "error", "id": msg["id"], "error": bad})
                    elif msg["command"] == "daemon.reload":
                        for a in authed:  # broadcast first, then answer
                            send(a, {"type": "event", "event": "worker.added",
                                     "data": {"workerId": "w1"}})
                        send(w, {"type": "response", "id": msg["id"], "success": True,
                                 "result": {}})
                    elif msg["command"] == "project.status":
                        pid = msg["payload"]["projectId"]
                        send(w, {"type": "response", "id": msg["id"], "success": True,
                                 "result": {"id": pid, "status": "active"}})
                    else:
                        unknown = {"code": "UNKNOWN_ERROR"}  # no message, as the daemon may
                        send(w, {"type": "error", "id": msg["id"], "error": unknown})
        finally:
            w.close()

    server = await asyncio.start_unix_server(serve, sock)

    async def stop() -> None:
        server.close()
        for w in authed:
            w.close()
        await server.wait_closed()

    cleanups.append(stop)
    poppo = client(sock, cleanups, auth_method="token")
    got = await poppo.project_status(poppo_pb2.ProjectStatusRequest(project_id="p1"))
    assert dict(got.result) == {"id": "p1", "status": "active"}
    with pytest.raises(IpcError) as e:
        await poppo.queue_status()
    assert e.value.code == Code.UNKNOWN and e.value.metadata["error-code"] == "UNKNOWN_ERROR"
    stream = poppo.watch_events()
    first = asyncio.ensure_future(anext(stream))  # subscribes before the reply below is read
    await poppo.daemon_reload()
    event = await first
    assert event.event == poppo_pb2.EVENT_NAME_WORKER_ADDED
    assert dict(event.data) == {"workerId": "w1"}
    assert isinstance(stream, protoipc.StreamCall)
    await stream.aclose()
    with pytest.raises(IpcError) as e:
        await client(sock, cleanups, auth_method="token", secret="nope").queue_status()
    assert e.value.code == Code.UNAUTHENTICATED and "Invalid token" in e.value.raw_message
    with pytest.raises(IpcError) as e:
        await client(sock, cleanups).queue_status()  # HMAC against a token-only daemon
    assert e.value.code == Code.UNAUTHENTICATED


def test_json_mapping_on_the_poppo_schema() -> None:
    req = poppo_pb2.TaskListRequest(status="failed", limit=0)
    assert message_to_wire(req) == {"status": "failed", "limit": 0}  # optional 0 is sent
    r = message_from_wire(poppo_pb2.ProjectAddResponse, {"added": "/p", "n": [1, None]})
    assert isinstance(r, poppo_pb2.ProjectAddResponse)
    assert message_to_wire(r) == {"added": "/p", "n": [1, None]}
    assert message_to_wire(poppo_pb2.ProjectAddResponse()) == {}
    with pytest.raises(IpcError) as e:
        message_from_wire(poppo_pb2.WorkerScaleRequest, {"count": "many"})
    assert e.value.code == Code.INVALID_ARGUMENT
    assert "poppo.v1.WorkerScaleRequest" in e.value.raw_message
    unknown = event_from_wire(poppo_pb2.WatchEventsResponse, {"event": "galaxy.exploded"})
    assert isinstance(unknown, poppo_pb2.WatchEventsResponse)
    assert unknown.event == poppo_pb2.EVENT_NAME_UNSPECIFIED
    item = poppo_pb2.WatchEventsResponse(event=poppo_pb2.EVENT_NAME_TASK_FAILED)
    item.data.update({"taskId": "t"})
    assert event_to_wire(item) == {"event": "task.failed", "data": {"taskId": "t"}}


def test_default_socket_path() -> None:
    assert poppo.default_socket_path("/home/ada") == "/home/ada/.poppobuilder/daemon.sock"


def test_helpers() -> None:
    assert constant_time_equal("a", "a") and not constant_time_equal("a", "ab")
    assert auth_proof("s", "client", "c", "n") != auth_proof("s", "server", "c", "n")
    assert code_from_wire("NOT_FOUND", "x") == Code.NOT_FOUND
    assert code_from_wire("E", "Authentication required") == Code.UNAUTHENTICATED
    e = error_from_wire({"type": "error", "error": {"code": "UNKNOWN_ERROR"}})
    assert e.code == Code.UNKNOWN and e.raw_message == "error UNKNOWN_ERROR without a message"
    b = Backoff(initial_delay_ms=100, max_delay_ms=1000, rand=lambda: 0.0)
    assert [b.next() for _ in range(5)] == [100, 200, 400, 800, 1000]
