"""The jsonrpc2 binding on the wire: a raw Content-Length client against a Python crystalmath
server (method names, positional params, enum wire names, a bare-array result, errors,
notifications, a malformed frame), and the generated Python client with positional params."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from crystalmath.v1 import crystalmath_ipc
from crystalmath.v1 import crystalmath_pb2 as pb
from google.protobuf import empty_pb2

import protoipc
from protoipc.client import Client
from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.unix import create_content_length_framer, create_stream_server_transport, create_stream_transport


class Backend(crystalmath_ipc.CrystalMathServiceHandler):
    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.notified = asyncio.Event()

    async def fetch_jobs(self, request: pb.FetchJobsRequest, context: protoipc.CallContext) -> pb.FetchJobsResponse:
        n = request.limit if request.HasField("limit") else 100
        return pb.FetchJobsResponse(
            jobs=[
                pb.JobStatus(pk=i + 1, uuid=f"u{i}", name=f"job {i}", state=pb.JOB_STATE_RUNNING, runner_type=pb.RUNNER_TYPE_SLURM)
                for i in range(n)
            ]
        )

    async def cancel_job(self, request: pb.CancelJobRequest, context: protoipc.CallContext) -> pb.CancelJobResponse:
        self.cancelled.append(request.job_id)
        self.notified.set()
        return pb.CancelJobResponse(job_id=request.job_id, cancelled=True)

    async def fetch_job_details(
        self, request: pb.FetchJobDetailsRequest, context: protoipc.CallContext
    ) -> pb.FetchJobDetailsResponse:
        return pb.FetchJobDetailsResponse(
            ok=False,
            error=pb.ApiError(code=pb.API_ERROR_CODE_NOT_FOUND, message=f"Job with pk={request.pk} not found"),
        )


@pytest.fixture
async def served(private_dir: str) -> AsyncIterator[tuple[str, Backend]]:
    path = os.path.join(private_dir, "cm.sock")
    backend = Backend()
    server = protoipc.create_server(create_stream_server_transport(path=path, binding="jsonrpc2"))
    server.register(backend)
    await server.listen()
    yield path, backend
    await server.close()


class RawClient:
    """A hand-written JSON-RPC peer: writes Content-Length frames, reads them back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = create_content_length_framer().create_decoder()
        self.frames: list[bytes] = []

    def send_raw(self, payload: bytes) -> None:
        self.writer.write(b"Content-Length: %d\r\n\r\n" % len(payload) + payload)

    def send(self, msg: dict[str, Any]) -> None:
        self.send_raw(json.dumps(msg).encode())

    async def receive(self) -> Any:
        while not self.frames:
            data = await self.reader.read(65536)
            assert data, "connection closed"
            self.frames += self.decoder.push(data)
        return json.loads(self.frames.pop(0))

    async def aclose(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_raw_peer_gets_wire_names_positional_params_and_errors(served: tuple[str, Backend]) -> None:
    path, backend = served
    reader, writer = await asyncio.open_unix_connection(path)
    c = RawClient(reader, writer)
    try:
        c.send({"jsonrpc": "2.0", "id": 1, "method": "fetch_jobs", "params": [2]})
        res = await c.receive()
        assert res["id"] == 1
        assert [j["state"] for j in res["result"]] == ["RUNNING", "RUNNING"]
        assert res["result"][0]["runner_type"] == "slurm"
        assert res["result"][0]["pk"] == 1

        c.send({"jsonrpc": "2.0", "id": "d", "method": "fetch_job_details", "params": {"pk": 9}})
        assert (await c.receive())["result"] == {
            "ok": False,
            "error": {"code": "NOT_FOUND", "message": "Job with pk=9 not found"},
        }

        c.send_raw(b"{not json")
        parse = await c.receive()
        assert parse["id"] is None and parse["error"]["code"] == -32700

        c.send({"jsonrpc": "2.0", "id": 2, "method": "jobs.nope", "params": {}})
        assert (await c.receive())["error"]["code"] == -32601

        c.send({"jsonrpc": "2.0", "id": 3, "method": "jobs.cancel", "params": {"job_id": 5}})
        assert (await c.receive())["error"]["code"] == -32602

        c.send({"jsonrpc": "1.0", "id": 4, "method": "fetch_jobs"})
        assert (await c.receive())["error"]["code"] == -32600

        c.send_raw(b'[{"jsonrpc":"2.0","id":9,"method":"fetch_jobs"}]')
        batch = await c.receive()
        assert batch["id"] is None and batch["error"]["code"] == -32600

        # A notification runs its handler and gets no response: the next response is id 5's.
        c.send({"jsonrpc": "2.0", "method": "jobs.cancel", "params": {"job_id": "j7"}})
        c.send({"jsonrpc": "2.0", "id": 5, "method": "fetch_jobs", "params": {"limit": 0}})
        assert await c.receive() == {"jsonrpc": "2.0", "id": 5, "result": []}
        await backend.notified.wait()
        assert backend.cancelled == ["j7"]
    finally:
        await c.aclose()


async def test_a_malformed_frame_gets_a_parse_error_and_a_close(served: tuple[str, Backend]) -> None:
    path, _ = served
    reader, writer = await asyncio.open_unix_connection(path)
    c = RawClient(reader, writer)
    try:
        c.writer.write(b"Content-Length: nope\r\n\r\n")
        err = await c.receive()
        assert err["error"]["code"] == -32700
        assert "not a decimal integer" in err["error"]["message"]
        assert await reader.read() == b""  # then the server closes the connection
    finally:
        await c.aclose()


async def test_generated_client_with_positional_params(served: tuple[str, Backend]) -> None:
    path, _ = served
    transport = create_stream_transport(path=path, params="positional")
    try:
        client = crystalmath_ipc.CrystalMathServiceClient(transport)
        jobs = await client.fetch_jobs(pb.FetchJobsRequest(limit=3))
        assert [j.state for j in jobs.jobs] == [pb.JOB_STATE_RUNNING] * 3
        details = await client.fetch_job_details(pb.FetchJobDetailsRequest(pk=4))
        assert not details.ok and details.error.code == pb.API_ERROR_CODE_NOT_FOUND
    finally:
        await transport.aclose()


async def test_unavailable_when_nothing_listens(private_dir: str) -> None:
    transport = create_stream_transport(path=os.path.join(private_dir, "none.sock"))
    try:
        client = crystalmath_ipc.CrystalMathServiceClient(transport)
        with pytest.raises(protoipc.IpcError) as err:
            await client.system_ping()
        assert err.value.code == protoipc.Code.UNAVAILABLE
    finally:
        await transport.aclose()


async def test_a_notification_method_sends_no_id_and_resolves_once_written(
    served: tuple[str, Backend],
) -> None:
    path, backend = served
    notify: MethodDescriptor[pb.CancelJobRequest, empty_pb2.Empty, None] = MethodDescriptor(
        name="CancelJob",
        local_name="cancel_job",
        path="/test.NotifyService/CancelJob",
        kind="unary",
        input=pb.CancelJobRequest,
        output=empty_pb2.Empty,
        progress=None,
        idempotency="idempotency_unknown",
        wire_name="jobs.cancel",
        notification=True,
    )
    service = ServiceDescriptor(
        type_name="test.NotifyService", schema_hash="0" * 64, methods=(notify,), binding="jsonrpc2"
    )
    transport = create_stream_transport(path=path)
    try:
        out = await Client(service, transport)._unary(
            notify, pb.CancelJobRequest(job_id="n1"), timeout_ms=1000, metadata=None
        )
        assert out == empty_pb2.Empty()
        await backend.notified.wait()
        assert backend.cancelled == ["n1"]
    finally:
        await transport.aclose()
