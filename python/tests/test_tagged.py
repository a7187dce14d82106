"""The tagged binding from Python: the golden vectors every runtime shares
(test/golden/tagged-vectors.json), and the tagged server transport (ROUTER + XPUB) driven by raw
pyzmq REQ and SUB sockets, as the original dgx-pixels clients do."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
import zmq.asyncio
from google.protobuf import json_format
from google.protobuf.message import Message

import protoipc
from pixels.v1 import pixels_ipc, pixels_pb2
from protoipc import Code, IpcError
from protoipc.interceptor import CallNext, CallRequest
from protoipc.tagged import (
    SUBSCRIPTION_CONFIRM_PREFIX,
    decode_tagged,
    encode_tagged,
    tagged_union,
)
from protoipc.tagged_zmq import ZmqTaggedServerTransport, create_zmq_tagged_server_transport

GOLDEN = Path(__file__).resolve().parents[2] / "test" / "golden" / "tagged-vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["vectors"]
POOL = pixels_pb2.DESCRIPTOR.pool


def _union(v: dict[str, Any]) -> Any:
    return tagged_union(POOL.FindMessageTypeByName(v["union"]))


def _expected(v: dict[str, Any]) -> Message:
    cls = protoipc.tagged._class_of(POOL.FindMessageTypeByName(v["variant"]))
    return json_format.ParseDict(v["message"], cls())


def test_the_ping_is_the_bytes_of_protocols_md() -> None:
    union = tagged_union(pixels_pb2.PixelRequest.DESCRIPTOR)
    assert encode_tagged(union, pixels_pb2.PingRequest()).hex() == "81a474797065a470696e67"


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if "error" not in v and not v.get("decodeOnly")],
    ids=lambda v: v["name"],
)
def test_encodes_every_variant_to_the_golden_bytes(vector: dict[str, Any]) -> None:
    assert encode_tagged(_union(vector), _expected(vector)).hex() == vector["hex"]


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "error" not in v], ids=lambda v: v["name"]
)
def test_decodes_the_golden_bytes(vector: dict[str, Any]) -> None:
    assert decode_tagged(_union(vector), bytes.fromhex(vector["hex"])) == _expected(vector)


@pytest.mark.parametrize("vector", [v for v in VECTORS if "error" in v], ids=lambda v: v["name"])
def test_rejects_bad_input_naming_the_tag_or_field(vector: dict[str, Any]) -> None:
    with pytest.raises(IpcError) as info:
        decode_tagged(_union(vector), bytes.fromhex(vector["hex"]))
    assert info.value.code == Code(vector["error"]["code"])
    assert vector["error"]["contains"] in info.value.raw_message


def test_json_has_the_same_shape() -> None:
    union = tagged_union(pixels_pb2.PixelResponse.DESCRIPTOR)
    status = pixels_pb2.StatusResponse(version="1", queue_size=2, uptime_s=2**60)
    text = encode_tagged(union, status, "json")
    assert json.loads(text) == {
        "type": "status_info",
        "version": "1",
        "queue_size": 2,
        "active_jobs": 0,
        "uptime_s": str(2**60),
    }
    assert decode_tagged(union, text, "json") == status


# --------------------------------------------------------------------------------------------
# The server transport, driven by raw pyzmq sockets


class _Backend(pixels_ipc.PixelServiceHandler):
    async def ping(
        self, request: pixels_pb2.PingRequest, context: protoipc.CallContext
    ) -> pixels_pb2.PingResponse:
        return pixels_pb2.PingResponse()

    async def status(
        self, request: pixels_pb2.StatusRequest, context: protoipc.CallContext
    ) -> pixels_pb2.StatusResponse:
        raise IpcError("status is down", Code.UNAVAILABLE)

    async def generate(
        self,
        request: pixels_pb2.GenerateRequest,
        context: protoipc.ProgressContext[pixels_pb2.GenerateProgress],
    ) -> pixels_pb2.GenerateResponse:
        await context.progress(
            pixels_pb2.GenerateProgress(
                job_started=pixels_pb2.JobStarted(job_id=request.id, timestamp=int(time.time()))
            )
        )
        if request.prompt == "fail":
            raise IpcError("no such model", Code.NOT_FOUND)
        return pixels_pb2.GenerateResponse(job_id=request.id, image_path="/out.png", duration_s=2)


@pytest.fixture
async def served(private_dir: str) -> AsyncIterator[tuple[ZmqTaggedServerTransport, list[str]]]:
    seen: list[str] = []

    def record(next_: CallNext) -> CallNext:
        async def run(request: CallRequest) -> Message | None:
            seen.append(request.method.name)
            return await next_(request)

        return run

    transport = create_zmq_tagged_server_transport(
        pixels_ipc.PIXEL_SERVICE,
        bind=f"ipc://{private_dir}/req.sock",
        updates_bind=f"ipc://{private_dir}/pub.sock",
    )
    server = protoipc.create_server(transport, interceptors=[record])
    server.register(_Backend())
    await server.listen()
    yield transport, seen
    await server.close()


async def _request(req: zmq.asyncio.Socket, body: dict[str, Any] | bytes) -> dict[str, Any]:
    await req.send(body if isinstance(body, bytes) else msgpack.packb(body))
    reply: dict[str, Any] = msgpack.unpackb(await asyncio.wait_for(req.recv(), 10))
    return reply


async def test_serves_requests_and_answers_bad_input_with_the_error_variant(
    served: tuple[ZmqTaggedServerTransport, list[str]],
) -> None:
    transport, seen = served
    ctx = zmq.asyncio.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(str(transport.address))
    try:
        await req.send(bytes.fromhex("81a474797065a470696e67"))
        assert (await asyncio.wait_for(req.recv(), 10)).hex() == "81a474797065a4706f6e67"
        assert await _request(req, {"type": "status"}) == {
            "type": "error",
            "message": "[unavailable] status is down",
        }
        unknown = await _request(req, {"type": "teleport"})
        assert unknown["type"] == "error"
        assert unknown["message"].startswith('[invalid_argument] unknown pixels.v1.PixelRequest tag "teleport"')
        malformed = await _request(req, b"\x81\xa4ty")
        assert malformed["message"].startswith("[invalid_argument] malformed MessagePack frame of 4 bytes")
        wrong = await _request(req, {"type": "cancel", "job_id": 7})
        assert "cancel.job_id must be a string" in wrong["message"]
        assert await _request(req, {"type": "ping"}) == {"type": "pong"}
        assert seen == ["Ping", "Status", "Ping"]  # the generic dispatch ran (interceptor)
    finally:
        req.close(linger=0)


async def test_publishes_a_job_to_a_confirmed_subscriber(
    served: tuple[ZmqTaggedServerTransport, list[str]],
) -> None:
    transport, _ = served
    ctx = zmq.asyncio.Context.instance()
    req = ctx.socket(zmq.REQ)
    sub = ctx.socket(zmq.SUB)
    for s in (req, sub):
        s.setsockopt(zmq.LINGER, 0)
    token = SUBSCRIPTION_CONFIRM_PREFIX + b"py-test"
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.SUBSCRIBE, token)
    sub.connect(str(transport.updates_address))
    req.connect(str(transport.address))
    try:
        assert await asyncio.wait_for(sub.recv(), 10) == token  # the XPUB saw the subscription
        accepted = await _request(
            req, {"type": "generate", "id": "j1", "prompt": "p", "model": "m", "size": [64, 64], "steps": 1, "cfg_scale": 7.5}
        )
        assert accepted == {"type": "job_accepted", "job_id": "j1", "estimated_time_s": 0.0}
        got = [msgpack.unpackb(await asyncio.wait_for(sub.recv(), 10)) for _ in range(3)]
        assert [g["type"] for g in got] == ["job_started", "job_complete", "job_finished"]
        assert got[1] == {"type": "job_complete", "job_id": "j1", "image_path": "/out.png", "duration_s": 2.0}
        assert got[2]["success"] is True
        await _request(req, {"type": "generate", "id": "j2", "prompt": "fail", "model": "m", "size": [64, 64], "steps": 1})
        got = [msgpack.unpackb(await asyncio.wait_for(sub.recv(), 10)) for _ in range(3)]
        assert got[1] == {"type": "job_error", "job_id": "j2", "error": "[not_found] no such model"}
        assert got[2]["success"] is False
    finally:
        req.close(linger=0)
        sub.close(linger=0)
