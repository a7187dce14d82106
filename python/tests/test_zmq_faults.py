"""Faults over real ZeroMQ sockets: raw peers sending what a well-behaved one never would, a
silent server, a silent client, a server process killed or restarted (the Python twin of
test/zeromq-faults.test.ts)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator

import pytest
import zmq
import zmq.asyncio
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

import protoipc
import protoipc.zmq
from protoipc import Code, IpcError
from protoipc.envelope import FrameKind, decode_envelope, encode_envelope
from protoipc.testing import ScriptedTestHandler, TestServiceClient
from protoipc.v1 import envelope_pb2
from protoipc.zmq import create_zmq_server_transport, create_zmq_transport

ECHO = "/protoipc.test.TestService/Echo"
WORK = "/protoipc.test.TestService/Work"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class RecordingHandler(ScriptedTestHandler):
    def __init__(self) -> None:
        super().__init__()
        self.runs: list[str] = []

    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        self.runs.append(request.value)
        return await super().echo(request, context)


class Env:
    """Sockets, transports, servers and processes of one test; all closed in teardown."""

    def __init__(self, directory: str) -> None:
        self.address = f"ipc://{directory}/server.sock"
        self.path = f"{directory}/server.sock"
        self.ctx = zmq.asyncio.Context.instance()
        self.sockets: list[zmq.asyncio.Socket] = []
        self.transports: list[protoipc.ClientTransport] = []
        self.servers: list[protoipc.Server] = []
        self.processes: list[asyncio.subprocess.Process] = []

    async def start_server(
        self, heartbeat_interval_ms: int = 1000, handler: ScriptedTestHandler | None = None
    ) -> RecordingHandler | ScriptedTestHandler:
        handler = handler if handler is not None else RecordingHandler()
        server = protoipc.create_server(
            create_zmq_server_transport(self.address, heartbeat_interval_ms=heartbeat_interval_ms)
        )
        server.register(handler)
        await server.listen()
        self.servers.append(server)
        return handler

    def client(self, heartbeat_interval_ms: int = 1000) -> TestServiceClient:
        t = create_zmq_transport(self.address, heartbeat_interval_ms=heartbeat_interval_ms)
        self.transports.append(t)
        return TestServiceClient(t)

    def raw(self, kind: int) -> zmq.asyncio.Socket:
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        self.sockets.append(s)
        return s

    def raw_dealer(self) -> zmq.asyncio.Socket:
        d = self.raw(zmq.DEALER)
        d.connect(self.address)
        return d

    async def spawn_server(self, heartbeat_ms: int) -> asyncio.subprocess.Process:
        """``python -m protoipc.testing`` in its own process; returns once it printed ready."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "protoipc.testing",
            "--bind",
            self.address,
            "--heartbeat-ms",
            str(heartbeat_ms),
            stdout=asyncio.subprocess.PIPE,
        )
        self.processes.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line == b"ready\n", line
        return proc

    async def aclose(self) -> None:
        for s in self.sockets:
            s.close(linger=0)
        for t in self.transports:
            await t.aclose()
        for server in self.servers:
            await server.close()
        for p in self.processes:
            if p.returncode is None:
                p.kill()
            await p.wait()


@pytest.fixture
async def env(private_dir: str) -> AsyncIterator[Env]:
    e = Env(private_dir)
    yield e
    await e.aclose()


async def raw_request(d: zmq.asyncio.Socket, *frames: bytes) -> envelope_pb2.Envelope:
    await d.send_multipart(list(frames))
    reply = await asyncio.wait_for(d.recv_multipart(), 5)
    return decode_envelope(reply[0])


def echo_request(request_id: int, value: str, deadline_unix_ms: int | None = None) -> bytes:
    return encode_envelope(
        FrameKind.REQUEST,
        request_id=request_id,
        method=ECHO,
        deadline_unix_ms=deadline_unix_ms if deadline_unix_ms is not None else now_ms() + 10_000,
        payload=StringValue(value=value).SerializeToString(),
    )


async def test_a_garbage_frame_gets_invalid_argument_and_the_server_goes_on(env: Env) -> None:
    await env.start_server()
    reply = await raw_request(env.raw_dealer(), bytes([0xFF, 0xFF, 0xFF, 0x00, 0x13, 0x37]))
    assert reply.kind == FrameKind.ERROR
    assert reply.error.code == Code.INVALID_ARGUMENT
    assert reply.error.message.startswith("malformed envelope")
    assert (await env.client().echo(StringValue(value="still serving"))).value == "still serving"


async def test_an_oversized_frame_gets_resource_exhausted_naming_the_request(env: Env) -> None:
    await env.start_server()
    big = encode_envelope(
        FrameKind.REQUEST,
        request_id=42,
        method=ECHO,
        deadline_unix_ms=now_ms() + 10_000,
        payload=bytes(4 * 1024 * 1024 + 1),
    )
    reply = await raw_request(env.raw_dealer(), big)
    assert reply.kind == FrameKind.ERROR
    assert reply.request_id == 42
    assert reply.error.code == Code.RESOURCE_EXHAUSTED
    assert reply.error.message == f"frame of {len(big)} bytes exceeds maxFrameBytes 4194304"
    assert (await env.client().echo(StringValue(value="after"))).value == "after"


async def test_a_request_whose_deadline_passed_is_not_executed(env: Env) -> None:
    handler = await env.start_server()
    assert isinstance(handler, RecordingHandler)
    reply = await raw_request(
        env.raw_dealer(), echo_request(7, "stale", deadline_unix_ms=now_ms() - 1000)
    )
    assert reply.request_id == 7
    assert reply.error.code == Code.DEADLINE_EXCEEDED
    assert reply.error.message.endswith(f"ms before {ECHO} arrived; not executed")
    await env.client().echo(StringValue(value="fresh"))
    assert handler.runs == ["fresh"]


async def test_frames_batched_in_one_message_are_each_answered(env: Env) -> None:
    await env.start_server()
    d = env.raw_dealer()
    await d.send_multipart([echo_request(1, "a"), echo_request(2, "b"), echo_request(3, "c")])
    replies: dict[int, str] = {}
    while len(replies) < 3:
        for part in await asyncio.wait_for(d.recv_multipart(), 5):
            env_ = decode_envelope(part)
            assert env_.kind == FrameKind.RESPONSE
            replies[env_.request_id] = StringValue.FromString(env_.payload).value
    assert replies == {1: "a", 2: "b", 3: "c"}


async def test_hello_and_heartbeat_are_answered(env: Env) -> None:
    await env.start_server(heartbeat_interval_ms=700)
    d = env.raw_dealer()
    hello = await raw_request(
        d,
        encode_envelope(
            FrameKind.HELLO,
            hello=envelope_pb2.Hello(
                protocol_version=1, heartbeat_interval_ms=1000, max_frame_bytes=1 << 20
            ),
        ),
    )
    assert hello.kind == FrameKind.HELLO
    assert dict(hello.hello.schema_hashes) == {"protoipc.test.TestService": "0" * 64}
    assert hello.hello.protocol_version == 1
    assert hello.hello.heartbeat_interval_ms == 700
    assert hello.hello.max_frame_bytes == 4 * 1024 * 1024
    beat = await raw_request(d, encode_envelope(FrameKind.HEARTBEAT))
    assert beat.kind == FrameKind.HEARTBEAT and beat.request_id == 0


@pytest.mark.parametrize(
    ("frame", "request_id", "code", "message"),
    [
        (
            encode_envelope(FrameKind.RESPONSE, request_id=5),
            5,
            Code.INVALID_ARGUMENT,
            "unexpected frame kind 2 from a client",
        ),
        (
            encode_envelope(
                FrameKind.REQUEST,
                request_id=6,
                method="/pixels.v1.PixelService/Ping",
                deadline_unix_ms=now_ms() + 10_000,
            ),
            6,
            Code.UNIMPLEMENTED,
            "method /pixels.v1.PixelService/Ping is not implemented",
        ),
        (
            encode_envelope(FrameKind.REQUEST, method=ECHO),
            0,
            Code.INVALID_ARGUMENT,
            "request without a request id",
        ),
        (
            encode_envelope(FrameKind.REQUEST, request_id=8, method=ECHO, payload=b"\xff"),
            8,
            Code.INVALID_ARGUMENT,
            f"malformed request for {ECHO}: ",
        ),
    ],
    ids=["unexpected kind", "unknown method", "no request id", "malformed payload"],
)
async def test_what_cannot_be_served_gets_a_typed_error(
    env: Env, frame: bytes, request_id: int, code: Code, message: str
) -> None:
    await env.start_server()
    reply = await raw_request(env.raw_dealer(), frame)
    assert reply.kind == FrameKind.ERROR
    assert reply.request_id == request_id
    assert reply.error.code == code
    assert reply.error.message.startswith(message)


async def test_a_duplicate_request_id_in_flight_is_refused(env: Env) -> None:
    await env.start_server()
    d = env.raw_dealer()
    hang = echo_request(9, "hang")
    reply = await raw_request(d, hang, hang)
    assert reply.request_id == 9
    assert reply.error.code == Code.INVALID_ARGUMENT
    assert reply.error.message == "request id 9 is already in flight"


async def test_a_client_that_stops_sending_heartbeats_has_its_handlers_cancelled(
    env: Env,
) -> None:
    handler = await env.start_server(heartbeat_interval_ms=100)
    d = env.raw_dealer()
    await d.send(
        encode_envelope(
            FrameKind.REQUEST,
            request_id=1,
            method=WORK,
            deadline_unix_ms=now_ms() + 30_000,
            payload=UInt32Value(value=0).SerializeToString(),
        )
    )
    first = decode_envelope((await asyncio.wait_for(d.recv_multipart(), 5))[0])
    assert first.kind == FrameKind.PROGRESS and first.sequence == 1
    silent_since = time.monotonic()
    reason = await asyncio.wait_for(handler.cancellations.get(), 5)
    assert reason is not None and reason.code == Code.UNAVAILABLE
    assert reason.raw_message == "client stopped sending heartbeats"
    # Dropped after 3 silent intervals, checked once per interval.
    assert time.monotonic() - silent_since < 0.6


class FakeServer:
    """A raw ROUTER playing server: reads requests, answers what the test says."""

    def __init__(self, env: Env) -> None:
        self.sock = env.raw(zmq.ROUTER)
        self.sock.bind(env.address)

    async def next_request(self) -> tuple[bytes, envelope_pb2.Envelope]:
        while True:
            routing_id, *frames = await asyncio.wait_for(self.sock.recv_multipart(), 5)
            for frame in frames:
                env_ = decode_envelope(frame)
                if env_.kind == FrameKind.REQUEST:
                    return routing_id, env_

    async def expect(self, kind: envelope_pb2.FrameKind) -> envelope_pb2.Envelope:
        while True:
            _, *frames = await asyncio.wait_for(self.sock.recv_multipart(), 5)
            for frame in frames:
                env_ = decode_envelope(frame)
                if env_.kind == kind:
                    return env_


async def test_a_gap_in_progress_sequence_numbers_fails_the_call_with_data_loss(
    env: Env,
) -> None:
    fake = FakeServer(env)
    call = env.client().work(UInt32Value(value=3))
    routing_id, req = await fake.next_request()
    assert req.method == WORK and req.deadline_unix_ms > now_ms()

    def progress(seq: int) -> bytes:
        return encode_envelope(
            FrameKind.PROGRESS,
            request_id=req.request_id,
            sequence=seq,
            payload=UInt32Value(value=seq).SerializeToString(),
        )

    await fake.sock.send_multipart([routing_id, progress(1), progress(3)])
    with pytest.raises(IpcError) as info:
        await call
    assert info.value.code == Code.DATA_LOSS
    assert info.value.raw_message == f"{WORK}: update 3 arrived after 1; 1 update(s) lost"
    cancel = await fake.expect(FrameKind.CANCEL)
    assert cancel.request_id == req.request_id


async def test_a_silent_server_fails_pending_calls_with_unavailable_within_3_intervals(
    env: Env,
) -> None:
    FakeServer(env)  # takes requests, never answers
    heartbeat_ms = 200
    started = time.monotonic()
    with pytest.raises(IpcError) as info:
        await env.client(heartbeat_ms).echo(StringValue(value="x"), timeout_ms=10_000)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert info.value.code == Code.UNAVAILABLE
    assert info.value.raw_message.startswith("server unavailable: no frame for ")
    assert 2.5 * heartbeat_ms <= elapsed_ms < 3 * heartbeat_ms


async def test_the_ipc_socket_is_private_and_removed_on_close(env: Env) -> None:
    await env.start_server()
    assert stat.S_IMODE(os.stat(env.path).st_mode) == 0o600
    await env.servers.pop().close()
    assert not os.path.exists(env.path)
    await env.start_server()  # the endpoint is free again at once
    assert (await env.client().echo(StringValue(value="again"))).value == "again"


async def test_a_tcp_endpoint_can_be_bound_again_right_after_close(env: Env) -> None:
    transport = create_zmq_server_transport("tcp://127.0.0.1:*")
    server = protoipc.create_server(transport)
    await server.listen()
    address = transport.address
    assert address is not None and address.startswith("tcp://127.0.0.1:")
    await server.close()
    again = protoipc.create_server(create_zmq_server_transport(address))
    env.servers.append(again)
    await again.listen()


async def test_binding_a_busy_endpoint_fails_with_unavailable(env: Env) -> None:
    first = create_zmq_server_transport("tcp://127.0.0.1:*")
    env.servers.append(protoipc.create_server(first))
    await env.servers[-1].listen()
    assert first.address is not None
    busy = protoipc.create_server(create_zmq_server_transport(first.address))
    with pytest.raises(IpcError) as info:
        await busy.listen()
    assert info.value.code == Code.UNAVAILABLE
    assert info.value.raw_message.startswith(f"cannot bind {first.address}: address already in use")
    await busy.close()


async def test_serve_runs_until_cancelled(env: Env) -> None:
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    serving = asyncio.ensure_future(
        protoipc.zmq.serve(
            ScriptedTestHandler(), bind="tcp://127.0.0.1:*", on_ready=ready.set_result
        )
    )
    address = await asyncio.wait_for(ready, 5)
    env.address = address
    assert (await env.client().echo(StringValue(value="served"))).value == "served"
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving


async def test_an_endpoint_libzmq_refuses_fails_the_call_with_invalid_argument(env: Env) -> None:
    env.address = "tcp://127.0.0.1:notaport"
    with pytest.raises(IpcError) as info:
        await env.client().echo()
    assert info.value.code == Code.INVALID_ARGUMENT
    assert info.value.raw_message.startswith("cannot connect to tcp://127.0.0.1:notaport: ")


def test_options_are_checked() -> None:
    with pytest.raises(IpcError) as info:
        create_zmq_transport("http://example.com")
    assert info.value.code == Code.INVALID_ARGUMENT
    with pytest.raises(IpcError):
        create_zmq_server_transport("tcp://127.0.0.1:*", max_frame_bytes=0)


async def test_a_killed_server_process_fails_the_pending_call_within_3_intervals(
    env: Env,
) -> None:
    heartbeat_ms = 300
    proc = await env.spawn_server(heartbeat_ms)
    call = env.client(heartbeat_ms).work(UInt32Value(value=0), timeout_ms=60_000)
    assert (await anext(call.progress)).value == 1  # the handler runs
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    killed_at = time.monotonic()
    with pytest.raises(IpcError) as info:
        await call
    assert info.value.code == Code.UNAVAILABLE
    assert (time.monotonic() - killed_at) * 1000 < 3 * heartbeat_ms


async def test_the_client_reconnects_after_the_server_process_restarts(env: Env) -> None:
    proc = await env.spawn_server(200)
    client = env.client(200)
    assert (await client.echo(StringValue(value="before"))).value == "before"
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0  # exits cleanly on SIGTERM
    await env.spawn_server(200)
    res = await client.echo(StringValue(value="after"), timeout_ms=10_000)
    assert res.value == "after"
