"""The Python router (protoipc.router): registration and its ack, expiry of a silent server with
its pending calls failed, load balancing, broadcast sequences, Hydra mode, and the command.
(The whole call-semantics suite also runs through it: the "router" transport of conftest.py.)"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
import zmq
import zmq.asyncio
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

import protoipc
from protoipc.router import (
    Broadcast,
    PeerInfo,
    Router,
    RouterPeer,
    create_router_client_transport,
    create_router_server_transport,
)
from protoipc.router.frames import decode_router_frame
from protoipc.testing import TEST_SERVICE, TestServiceClient, TestServiceHandler
from protoipc.v1 import router_pb2


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    r = Router("tcp://127.0.0.1:*", heartbeat_interval_ms=100)
    await r.start()
    yield r
    await r.aclose()


class Named(TestServiceHandler):
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        self.calls += 1
        return StringValue(value=f"{self.name}:{request.value}")


async def test_registration_is_acknowledged_with_the_negotiated_heartbeat(router: Router) -> None:
    assert router.address is not None
    joined: list[PeerInfo] = []
    router._on_joined = joined.append
    fast = RouterPeer(router.address, "client", name="tui")
    slow = RouterPeer(router.address, "server", services=["a.v1.A"], heartbeat_interval_ms=400)
    try:
        fast.start()
        slow.start()
        await fast.ready(5000)
        await slow.ready(5000)
        assert (fast.heartbeat_interval_ms, slow.heartbeat_interval_ms) == (100, 400)
        assert sorted((p.role, p.name) for p in router.peers()) == [("client", "tui"), ("server", "")]
        assert {p.role for p in joined} == {"client", "server"}
    finally:
        await fast.aclose()
        await slow.aclose()


async def test_requests_are_load_balanced_and_a_silent_server_fails_its_calls(router: Router) -> None:
    assert router.address is not None
    handlers = [Named("a"), Named("b")]
    servers = []
    for h in handlers:
        s = protoipc.create_server(create_router_server_transport(router.address))
        s.register(h)
        await s.listen()
        servers.append(s)
    transport = create_router_client_transport(router.address)
    try:
        client = TestServiceClient(transport)
        answers = await asyncio.gather(*(client.echo(StringValue(value=str(i))) for i in range(10)))
        assert [a.value.split(":")[1] for a in answers] == [str(i) for i in range(10)]
        assert (handlers[0].calls, handlers[1].calls) == (5, 5)

    finally:
        await transport.aclose()
        for s in servers:
            await s.close()


async def test_a_silent_server_is_expired_and_its_pending_calls_fail_unavailable(
    router: Router,
) -> None:
    assert router.address is not None
    # A server that registers, takes the request and goes silent (a crashed process).
    raw = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.setsockopt(zmq.ROUTING_ID, b"silent-server")
    raw.connect(router.address)
    transport = create_router_client_transport(router.address)
    left: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    router._on_left = lambda _p, reason: None if left.done() else left.set_result(reason)
    try:
        register = router_pb2.RouterFrame(
            register=router_pb2.RouterRegister(
                role=router_pb2.PEER_ROLE_SERVER, services=[TEST_SERVICE.type_name]
            )
        )
        await raw.send(register.SerializeToString())
        assert decode_router_frame(await raw.recv()).WhichOneof("frame") == "register_ack"
        with pytest.raises(protoipc.IpcError) as err:
            await TestServiceClient(transport).echo(StringValue(value="x"), timeout_ms=10_000)
        assert err.value.code == protoipc.Code.UNAVAILABLE
        assert "left the router (heartbeat expired" in err.value.raw_message
        assert (await left).startswith("heartbeat expired after")
        assert router.counters.expired_peers == 1
        assert router.counters.failed_calls == 1
    finally:
        await transport.aclose()
        raw.close(linger=0)


async def test_broadcasts_carry_per_topic_sequences(router: Router) -> None:
    assert router.address is not None
    server_transport = create_router_server_transport(router.address)
    server = protoipc.create_server(server_transport)
    server.register(Named("a"))
    await server.listen()
    peer = RouterPeer(router.address, "client")
    got: list[Broadcast] = []
    done = asyncio.Event()

    def on_broadcast(b: Broadcast) -> None:
        got.append(b)
        if len(got) == 50:
            done.set()

    peer.on_broadcast = on_broadcast
    try:
        peer.start()
        await peer.ready(5000)
        for n in range(1, 51):
            server_transport.publish(
                "google.protobuf.UInt32Value" if n % 2 else "other",
                UInt32Value(value=n).SerializeToString(),
            )
        await asyncio.wait_for(done.wait(), 10)
        odd = [b.sequence for b in got if b.topic == "google.protobuf.UInt32Value"]
        even = [b.sequence for b in got if b.topic == "other"]
        assert odd == list(range(1, 26)) and even == list(range(1, 26))
        assert all(b.missed == 0 for b in got)
        assert router.counters.broadcasts == 50
    finally:
        await peer.aclose()
        await server.close()


async def test_hydra_mode_serves_hydra_peers() -> None:
    r = Router("tcp://127.0.0.1:*", protocol="hydra", heartbeat_interval_ms=1000)
    await r.start()
    assert r.address is not None
    ctx = zmq.asyncio.Context.instance()
    sockets = []

    def peer(name: str) -> zmq.asyncio.Socket:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTING_ID, name.encode())
        s.connect(r.address or "")
        sockets.append(s)
        return s

    def env(sender: str, elem: str, cid: str, rid: str | None = None) -> bytes:
        m: dict[str, object] = {
            "sender": sender, "elem": elem, "data": {}, "client_id": cid, "timestamp": 1.5,
        }  # fmt: skip
        if rid is not None:
            m["request_id"] = rid
        return json.dumps(m).encode()

    try:
        client, server = peer("HydraClient-1"), peer("HydraServer-1")
        await client.send(env("HydraClient", "get_status", "HydraClient-1"))
        assert await client.recv() == b'{"error": "No AI Hydra server connected"}'
        await server.send(env("HydraServer", "heartbeat", "HydraServer-1"))
        await client.send(env("HydraClient", "heartbeat", "HydraClient-1"))
        while len(r.peers()) < 2:
            await asyncio.sleep(0.01)
        await client.send(env("HydraClient", "get_status", "HydraClient-1", "r1"))
        assert await server.recv() == (
            b'{"sender": "HydraClient", "elem": "get_status", "data": {}, "request_id": "r1"}'
        )
        assert await client.recv() == b'{"status": "ok"}'
        await server.send(env("HydraServer", "status_update", "HydraServer-1", "r1"))
        assert await client.recv() == (
            b'{"sender": "HydraServer", "elem": "status_update", "data": {}, "request_id": "r1"}'
        )
    finally:
        for s in sockets:
            s.close(linger=0)
        await r.aclose()


async def test_the_command_starts_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "protoipc", "router", "--bind", "tcp://127.0.0.1:*",
        "--heartbeat-ms", "200", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert line.startswith("protoipc router listening on tcp://127.0.0.1:")
        assert line.rstrip().endswith("(native, heartbeat 200 ms)")
        address = line.split()[4]
        transport = create_router_client_transport(address)
        server = protoipc.create_server(create_router_server_transport(address))
        server.register(Named("cli"))
        await server.listen()
        try:
            answer = await TestServiceClient(transport).echo(StringValue(value="hi"))
            assert answer.value == "cli:hi"
        finally:
            await transport.aclose()
            await server.close()
    finally:
        proc.terminate()
        assert await proc.wait() == 0
