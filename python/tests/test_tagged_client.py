"""The Python client transport of the tagged binding (protoipc.tagged_zmq_client), with the
generated PixelServiceClient, against
- a Python server generated for the tagged binding (ROUTER + XPUB), in process;
- the stand-in of the ORIGINAL dgx-pixels backend (raw pyzmq, REP + plain PUB;
  test/fixtures/py_legacy_pixels_server.py) in a child process, including its fault modes that
  withhold replies (Lazy Pirate).
The TypeScript server is driven by test/fixtures/py_tagged_client_scenarios.py from
test/tagged.test.ts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message

import protoipc
from pixels.v1 import pixels_ipc, pixels_pb2
from protoipc import Code, IpcError
from protoipc.interceptor import CallNext, CallRequest
from protoipc.tagged_zmq import (
    ZmqTaggedClientTransport,
    create_zmq_tagged_server_transport,
    create_zmq_tagged_transport,
)

LEGACY = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "py_legacy_pixels_server.py"


def _generate(**fields: Any) -> pixels_pb2.GenerateRequest:
    """A generate request the schema's buf.validate rules accept, with ``fields`` set."""
    base: dict[str, Any] = {"prompt": "knight", "model": "sdxl-base", "size": [64, 64], "steps": 1}
    return pixels_pb2.GenerateRequest(**{**base, **fields})


def _describe(p: pixels_pb2.GenerateProgress) -> str:
    which = p.WhichOneof("update")
    if which == "progress":
        return f"step {p.progress.step}/{p.progress.total_steps}"
    if which == "preview":
        return f"preview {p.preview.step}"
    return "started" if which == "job_started" else "?"


async def _error(awaitable: Awaitable[object]) -> IpcError:
    with pytest.raises(IpcError) as info:
        await awaitable
    return info.value


Connect = Callable[..., pixels_ipc.PixelServiceClient]


class _Backend(pixels_ipc.PixelServiceHandler):
    def __init__(self) -> None:
        self.aborted: list[str] = []
        self.active = 0

    async def ping(
        self, request: pixels_pb2.PingRequest, context: protoipc.CallContext
    ) -> pixels_pb2.PingResponse:
        return pixels_pb2.PingResponse()

    async def status(
        self, request: pixels_pb2.StatusRequest, context: protoipc.CallContext
    ) -> pixels_pb2.StatusResponse:
        await asyncio.sleep(0)  # cancelled handlers run their finally blocks first
        return pixels_pb2.StatusResponse(version="py", active_jobs=self.active, uptime_s=2**60)

    async def list_models(
        self, request: pixels_pb2.ListModelsRequest, context: protoipc.CallContext
    ) -> pixels_pb2.ListModelsResponse:
        raise IpcError("no models here", Code.UNAVAILABLE)

    async def generate(
        self,
        request: pixels_pb2.GenerateRequest,
        context: protoipc.ProgressContext[pixels_pb2.GenerateProgress],
    ) -> pixels_pb2.GenerateResponse:
        self.active += 1
        try:
            await context.progress(
                pixels_pb2.GenerateProgress(
                    job_started=pixels_pb2.JobStarted(job_id=request.id, timestamp=int(time.time()))
                )
            )
            if request.prompt == "fail":
                raise IpcError(f"model {request.model} not found", Code.NOT_FOUND)
            if request.prompt == "hang":
                try:
                    await asyncio.Event().wait()
                finally:
                    self.aborted.append(request.id)
            for step in range(1, request.steps + 1):
                await context.progress(
                    pixels_pb2.GenerateProgress(
                        progress=pixels_pb2.Progress(
                            job_id=request.id,
                            stage=pixels_pb2.GENERATION_STAGE_SAMPLING,
                            step=step,
                            total_steps=request.steps,
                            percent=0.5,
                        )
                    )
                )
            return pixels_pb2.GenerateResponse(
                job_id=request.id, image_path=f"/py/{request.id}.png", duration_s=1.25
            )
        finally:
            self.active -= 1


class _Served:
    def __init__(self, backend: _Backend, address: str, updates: str) -> None:
        self.backend = backend
        self.address = address
        self.updates = updates
        self.seen: list[str] = []
        self.transports: list[ZmqTaggedClientTransport] = []

    def client(self, **options: Any) -> pixels_ipc.PixelServiceClient:
        t = create_zmq_tagged_transport(
            pixels_ipc.PIXEL_SERVICE,
            address=self.address,
            updates_address=self.updates,
            **options,
        )
        self.transports.append(t)

        def record(next_: CallNext) -> CallNext:
            async def run(request: CallRequest) -> Message | None:
                self.seen.append(request.method.name)
                return await next_(request)

            return run

        return pixels_ipc.PixelServiceClient(t, interceptors=[record])


@pytest.fixture
async def py_server(private_dir: str) -> AsyncIterator[_Served]:
    backend = _Backend()
    transport = create_zmq_tagged_server_transport(
        pixels_ipc.PIXEL_SERVICE,
        bind=f"ipc://{private_dir}/req.sock",
        updates_bind=f"ipc://{private_dir}/pub.sock",
    )
    server = protoipc.create_server(transport)
    server.register(backend)
    await server.listen()
    assert transport.address is not None and transport.updates_address is not None
    served = _Served(backend, transport.address, transport.updates_address)
    yield served
    for t in served.transports:
        await t.aclose()
    await server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Legacy:
    """Starts the legacy stand-in in child processes; kills them all in teardown."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.served: list[_Served] = []

    async def __call__(self, fault: str = "none") -> _Served:
        rep = f"tcp://127.0.0.1:{_free_port()}"
        pub = f"tcp://127.0.0.1:{_free_port()}"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(LEGACY), "--rep", rep, "--pub", pub, "--fault", fault,
            stdout=asyncio.subprocess.PIPE,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.strip() == b"ready", line
        served = _Served(_Backend(), rep, pub)
        self.served.append(served)
        return served

    async def aclose(self) -> None:
        for s in self.served:
            for t in s.transports:
                await t.aclose()
        for proc in self.procs:
            # Its main thread blocks in a plain recv, where SIGTERM may never reach it.
            proc.kill()
            await proc.communicate()


@pytest.fixture
async def legacy() -> AsyncIterator[_Legacy]:
    starter = _Legacy()
    yield starter
    await starter.aclose()


# --------------------------------------------------------------------------------------------
# Python client → Python server generated for the tagged binding


async def test_calls_a_python_tagged_server_through_the_generic_client(py_server: _Served) -> None:
    c = py_server.client()
    await c.ping()
    status = await c.status()
    assert (status.version, status.uptime_s) == ("py", 2**60)
    err = await _error(c.list_models())
    assert (err.code, err.raw_message) == (Code.UNAVAILABLE, "no models here")
    job = c.generate(_generate(id="py-1", steps=3))
    seen = [_describe(p) async for p in job.progress]
    assert seen == ["started", "step 1/3", "step 2/3", "step 3/3"]
    done = await job.result()
    assert (done.job_id, done.image_path, done.duration_s) == ("py-1", "/py/py-1.png", 1.25)
    failed = await _error(c.generate(_generate(id="py-2", prompt="fail", model="nope")).result())
    assert (failed.code, failed.raw_message) == (Code.NOT_FOUND, "model nope not found")
    # The client's interceptors ran for every call.
    assert py_server.seen == ["Ping", "Status", "ListModels", "Generate", "Generate"]


async def test_validates_before_sending_and_names_an_anonymous_job(py_server: _Served) -> None:
    c = py_server.client()
    with pytest.raises(IpcError) as info:
        c.generate(_generate(steps=0))
    invalid = info.value
    assert invalid.code == Code.INVALID_ARGUMENT
    assert "steps" in invalid.raw_message
    assert py_server.backend.active == 0 and (await c.status()).active_jobs == 0
    # No id (the schema requires one, so the client's check is skipped): the transport gives the
    # job a UUID, which the server's validator accepts.
    done = await c.generate(_generate(), validate=False).result()
    assert len(done.job_id) == 36 and done.image_path == f"/py/{done.job_id}.png"


async def test_cancelling_the_task_sends_the_cancel_request(py_server: _Served) -> None:
    c = py_server.client()
    job = c.generate(_generate(id="hang-1", prompt="hang"))
    first = await anext(job.progress)
    assert first.WhichOneof("update") == "job_started"
    assert (await c.status()).active_jobs == 1
    waiter = asyncio.ensure_future(job.result())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The cancel request is queued before this status on the one REQ socket.
    assert (await c.status()).active_jobs == 0
    assert py_server.backend.aborted == ["hang-1"]


async def test_holds_a_progress_request_until_the_subscription_is_echoed(py_server: _Served) -> None:
    # Every fresh transport: the first update (published the instant the request arrives) kept.
    for i in range(3):
        job = py_server.client(subscribe_confirm="echo").generate(_generate(id=f"fresh-{i}"))
        assert (await anext(job.progress)).WhichOneof("update") == "job_started"
        assert (await job.result()).job_id == f"fresh-{i}"


async def test_speaks_json_of_the_same_shape(private_dir: str) -> None:
    transport = create_zmq_tagged_server_transport(
        pixels_ipc.PIXEL_SERVICE,
        bind=f"ipc://{private_dir}/j.sock",
        updates_bind=f"ipc://{private_dir}/jp.sock",
        format="json",
    )
    server = protoipc.create_server(transport)
    server.register(_Backend())
    await server.listen()
    assert transport.address is not None and transport.updates_address is not None
    client = create_zmq_tagged_transport(
        pixels_ipc.PIXEL_SERVICE,
        address=transport.address,
        updates_address=transport.updates_address,
        format="json",
    )
    try:
        c = pixels_ipc.PixelServiceClient(client)
        assert (await c.status()).uptime_s == 2**60
        assert (await c.generate(_generate(id="json-1", steps=2)).result()).job_id == "json-1"
    finally:
        await client.aclose()
        await server.close()


async def test_rejects_bad_options_and_a_progress_call_without_updates_address() -> None:
    with pytest.raises(IpcError) as info:
        create_zmq_tagged_transport(pixels_ipc.PIXEL_SERVICE, address="http://x")
    assert info.value.code == Code.INVALID_ARGUMENT
    with pytest.raises(IpcError) as info:
        create_zmq_tagged_transport(
            pixels_ipc.PIXEL_SERVICE, address="tcp://127.0.0.1:1", max_queued_calls=0
        )
    assert "max_queued_calls 0" in info.value.raw_message
    async with create_zmq_tagged_transport(
        pixels_ipc.PIXEL_SERVICE, address="tcp://127.0.0.1:1"
    ) as t:
        err = await _error(pixels_ipc.PixelServiceClient(t).generate(_generate(id="j")).result())
        assert err.code == Code.FAILED_PRECONDITION


# --------------------------------------------------------------------------------------------
# Python client → stand-in of the original dgx-pixels backend (raw pyzmq, REP + PUB)


async def test_drives_the_original_wire(legacy: _Legacy) -> None:
    c = (await legacy()).client()
    await c.ping()
    assert (await c.status()).version == "1.0.0"
    models = (await c.list_models()).models
    assert [m.model_type for m in models] == [
        pixels_pb2.MODEL_TYPE_CHECKPOINT,
        pixels_pb2.MODEL_TYPE_LORA,
    ]
    job = c.generate(_generate(id="legacy-1", size=[1024, 1024], steps=4, cfg_scale=7))
    seen: list[str] = []
    async for p in job.progress:
        seen.append(_describe(p))
        if p.WhichOneof("update") == "progress":
            # The original packs Python floats as float 64: read into float fields.
            assert p.progress.percent == 25.0 * p.progress.step
            assert p.progress.stage == pixels_pb2.GENERATION_STAGE_SAMPLING
    assert seen == ["started", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "preview 4"]
    done = await job.result()
    assert done.image_path == "/out/legacy-1.png" and done.duration_s >= 0


async def test_turns_job_error_and_unsuccessful_job_finished_into_ipc_errors(
    legacy: _Legacy,
) -> None:
    c = (await legacy()).client()
    err = await _error(c.generate(_generate(id="legacy-fail", prompt="fail")).result())
    assert (err.code, err.raw_message) == (Code.UNKNOWN, "job_error: CUDA out of memory")
    vanished = await _error(c.generate(_generate(id="legacy-vanish", prompt="vanish")).result())
    assert (vanished.code, vanished.raw_message) == (
        Code.UNKNOWN,
        "job legacy-vanish finished without success (job_finished)",
    )


async def test_retries_a_lost_reply_of_an_idempotent_method(legacy: _Legacy) -> None:
    c = (await legacy("drop-first")).client(request_timeout_ms=1000)
    await c.ping()  # the first ping is dropped, then retried on a new REQ socket
    # status is itself dropped once, then retried; it counts the pings the server saw (two, or
    # more if a busy machine made a later attempt time out too).
    assert (await c.status()).active_jobs >= 2


async def test_does_not_retry_a_method_that_is_not_idempotent(legacy: _Legacy) -> None:
    c = (await legacy("drop-first")).client(request_timeout_ms=300)
    err = await _error(c.generate(_generate(id="once")).result())
    assert err.code == Code.UNAVAILABLE
    assert "not retried: Generate is not idempotent" in err.raw_message
    with contextlib.suppress(IpcError):  # the first ping is dropped too, and retried
        await c.ping()
    assert (await c.status()).queue_size == 1


async def test_never_delivers_a_stale_reply(legacy: _Legacy) -> None:
    c = (await legacy("late-first")).client(request_timeout_ms=1000)
    # The first status's reply is withheld until the retry arrives, then sent to the closed
    # socket with version "stale"; the retry's own reply is the one delivered.
    assert (await c.status()).version == "1.0.0"


async def test_a_call_ended_in_flight_leaves_no_reply_for_the_next(legacy: _Legacy) -> None:
    c = (await legacy("late-first")).client(request_timeout_ms=5000)
    # The deadline ends the first status while its request is on the REQ socket: the socket is
    # closed and reopened, so the reply withheld for it cannot reach the next call.
    late = await _error(c.status(timeout_ms=300))
    assert late.code == Code.DEADLINE_EXCEEDED
    assert (await c.status()).version == "1.0.0"


async def test_fails_past_max_queued_calls_and_a_dead_server_within_its_timeout() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens
    async with create_zmq_tagged_transport(
        pixels_ipc.PIXEL_SERVICE,
        address=address,
        request_timeout_ms=200,
        max_retries=1,
        max_queued_calls=1,
    ) as t:
        c = pixels_ipc.PixelServiceClient(t)
        calls = [asyncio.ensure_future(c.ping()) for _ in range(3)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        codes = [o.code if isinstance(o, IpcError) else o for o in outcomes]
        assert codes == [Code.UNAVAILABLE, Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED]
