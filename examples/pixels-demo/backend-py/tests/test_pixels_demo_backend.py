"""The Python pixels backend, driven by the generated Python client over real ZeroMQ ``ipc://``.

Each test gets its own private directory (mode 0700) holding the socket and the images, a
server on it and a client connection; both are closed in teardown.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from buf.validate import validate_pb2
import protoipc
import protoipc.zmq
from pixels.v1 import pixels_ipc, pixels_pb2
from pixels_demo_backend import BACKEND_VERSION, PNG_SIGNATURE, PixelBackend
from pixels_demo_backend.sprite import create_sprite, encode_sprite_png
from protoipc import Code, IpcError
from protoipc.validate import field_path_to_string

# Every simulated duration at a tenth: a 20-step job takes about 0.25 s instead of 2.5 s.
TIME_SCALE = 0.1

ALL_STAGES = [
    pixels_pb2.GENERATION_STAGE_INITIALIZING,
    pixels_pb2.GENERATION_STAGE_LOADING_MODELS,
    pixels_pb2.GENERATION_STAGE_ENCODING,
    pixels_pb2.GENERATION_STAGE_SAMPLING,
    pixels_pb2.GENERATION_STAGE_DECODING,
    pixels_pb2.GENERATION_STAGE_POST_PROCESSING,
]


@dataclass
class Harness:
    """A served backend and a client connected to it."""

    client: pixels_ipc.PixelServiceClient
    out_dir: Path
    log: list[str] = field(default_factory=list)
    log_changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_log(self, line: str) -> None:
        self.log.append(line)
        self.log_changed.set()

    async def wait_for_log(self, prefix: str) -> str:
        """Waits (no polling) until the backend logs a line starting with ``prefix``."""
        while True:
            for line in self.log:
                if line.startswith(prefix):
                    return line
            self.log_changed.clear()
            await self.log_changed.wait()


def request(**overrides: object) -> pixels_pb2.GenerateRequest:
    """A valid generate request with some fields replaced."""
    fields: dict[str, object] = {
        "id": "job-1",
        "prompt": "16-bit knight sprite, pixel art",
        "model": "sdxl-base",
        "lora": "pixelart",
        "size": [64, 48],
        "steps": 20,
        "cfg_scale": 7.5,
    }
    fields.update(overrides)
    return pixels_pb2.GenerateRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def private_dir() -> Iterator[Path]:
    # Short and private: ipc:// paths are limited to about 100 bytes.
    path = Path(tempfile.mkdtemp(prefix="pxd-"))
    os.chmod(path, 0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture
async def harness(private_dir: Path) -> AsyncIterator[Harness]:
    address = f"ipc://{private_dir}/pixels.sock"
    out_dir = private_dir / "out"
    server = protoipc.create_server(protoipc.zmq.create_zmq_server_transport(address))
    transport = protoipc.zmq.create_zmq_transport(address)
    h = Harness(client=pixels_ipc.PixelServiceClient(transport), out_dir=out_dir)
    server.register(PixelBackend(out_dir, log=h.on_log, time_scale=TIME_SCALE))
    await server.listen()
    try:
        yield h
    finally:
        await transport.aclose()
        await server.close()


@pytest.mark.asyncio
async def test_a_job_completes_with_a_png_after_every_stage_in_order(harness: Harness) -> None:
    call = harness.client.generate(request())
    updates = [u async for u in call.progress]
    result = await call.result()

    assert updates[0].WhichOneof("update") == "job_started"
    assert updates[0].job_started.job_id == "job-1"
    progress = [u.progress for u in updates if u.WhichOneof("update") == "progress"]
    stages: list[int] = []
    for p in progress:
        if not stages or stages[-1] != p.stage:
            stages.append(p.stage)
    assert stages == ALL_STAGES
    sampling_steps = [p.step for p in progress if p.stage == pixels_pb2.GENERATION_STAGE_SAMPLING]
    assert sampling_steps == list(range(0, 21))
    assert [p.percent for p in progress] == sorted(p.percent for p in progress)
    assert progress[-1].percent == 100
    assert progress[-1].eta_s == 0
    assert all(p.total_steps == 20 for p in progress)
    previews = [u.preview for u in updates if u.WhichOneof("update") == "preview"]
    assert [p.step for p in previews] == [10, 20]
    assert all(p.image_path == str(harness.out_dir / "job-1.preview.png") for p in previews)

    assert result.job_id == "job-1"
    assert result.image_path == str(harness.out_dir / "job-1.png")
    assert result.duration_s > 0
    data = Path(result.image_path).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (64, 48)
    assert (harness.out_dir / "job-1.preview.png").read_bytes()[:8] == PNG_SIGNATURE
    assert any(line.startswith("job-1 completed in") for line in harness.log)


@pytest.mark.asyncio
async def test_cancel_by_id_stops_the_job_and_its_generate_call_fails_canceled(
    harness: Harness,
) -> None:
    call = harness.client.generate(request(id="job-2", steps=150))
    async for update in call.progress:
        p = update.progress
        if p.stage == pixels_pb2.GENERATION_STAGE_SAMPLING and p.step >= 5:
            break
    assert (await harness.client.status()).active_jobs == 1

    answer = await harness.client.cancel(pixels_pb2.CancelRequest(job_id="job-2"))

    assert answer.job_id == "job-2"
    with pytest.raises(IpcError) as caught:
        await call.result()
    assert caught.value.code == Code.CANCELED
    assert caught.value.raw_message == "job job-2 cancelled by a cancel request"
    stopped = await harness.wait_for_log("job-2 stopped at sampling step")
    assert stopped.endswith("/150: job job-2 cancelled by a cancel request")
    assert (await harness.client.status()).active_jobs == 0
    assert not (harness.out_dir / "job-2.png").exists()
    # The job no longer runs: a second Cancel is a typed NOT_FOUND.
    with pytest.raises(IpcError) as again:
        await harness.client.cancel(pixels_pb2.CancelRequest(job_id="job-2"))
    assert again.value.code == Code.NOT_FOUND
    assert again.value.raw_message == 'no running job with id "job-2"'


@pytest.mark.asyncio
async def test_cancelling_the_call_stops_the_handler_at_once(harness: Harness) -> None:
    call = harness.client.generate(request(id="job-3", steps=150))
    async for update in call.progress:
        if update.progress.stage == pixels_pb2.GENERATION_STAGE_SAMPLING:
            break

    call.cancel("the test cancels job-3")

    with pytest.raises(IpcError) as caught:
        await call.result()
    assert caught.value.code == Code.CANCELED
    stopped = await asyncio.wait_for(harness.wait_for_log("job-3 stopped at sampling"), 2)
    assert "cancel" in stopped.partition("/150: ")[2]  # the runtime's reason
    assert (await harness.client.status()).active_jobs == 0
    # The id is free again.
    with pytest.raises(IpcError) as cancel_again:
        await harness.client.cancel(pixels_pb2.CancelRequest(job_id="job-3"))
    assert cancel_again.value.code == Code.NOT_FOUND


@pytest.mark.asyncio
async def test_a_passed_deadline_stops_the_job(harness: Harness) -> None:
    # At TIME_SCALE the fixed stages before sampling take about 83 ms.
    call = harness.client.generate(request(id="late", steps=40), timeout_ms=50)

    with pytest.raises(IpcError) as caught:
        await call.result()

    assert caught.value.code == Code.DEADLINE_EXCEEDED
    stopped = await asyncio.wait_for(harness.wait_for_log("late stopped at "), 2)
    assert "sampling" not in stopped
    assert (await harness.client.status()).active_jobs == 0


@pytest.mark.asyncio
async def test_a_job_id_that_is_running_is_already_exists(harness: Harness) -> None:
    first = harness.client.generate(request(id="twin", steps=150))
    async for _ in first.progress:
        break  # job_started: the job is registered

    with pytest.raises(IpcError) as caught:
        await harness.client.generate(request(id="twin")).result()

    assert caught.value.code == Code.ALREADY_EXISTS
    assert caught.value.raw_message == "job twin is running already"
    first.cancel()
    with pytest.raises(IpcError):
        await first.result()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"prompt": "   "}, Code.INVALID_ARGUMENT, "prompt is empty"),
        ({"model": "dall-e"}, Code.NOT_FOUND, 'model "dall-e" not found; available: sdxl-base'),
        ({"model": "pixelart"}, Code.NOT_FOUND, 'model "pixelart" not found'),
        ({"lora": "anime"}, Code.NOT_FOUND, 'lora "anime" not found; available: pixelart'),
    ],
)
async def test_an_invalid_request_fails_with_a_typed_error(
    harness: Harness, overrides: dict[str, object], code: Code, message: str
) -> None:
    call = harness.client.generate(request(**overrides))

    with pytest.raises(IpcError) as caught:
        await call.result()

    assert caught.value.code == code
    assert caught.value.raw_message.startswith(message)
    assert harness.log == []  # rejected before the job started


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("overrides", "violations"),
    [
        # An empty id is valid since fe41a68 (the backend chooses one); a leading "-" is not.
        ({"id": "-job"}, [("id", "string.pattern")]),
        ({"id": "../etc"}, [("id", "string.pattern")]),
        ({"id": "x" * 65}, [("id", "string.pattern")]),
        ({"prompt": ""}, [("prompt", "string.min_len")]),
        ({"size": [64]}, [("size", "repeated.min_items")]),
        ({"size": [8, 64]}, [("size[0]", "uint32.gte_lte")]),
        ({"size": [64, 2048]}, [("size[1]", "uint32.gte_lte")]),
        ({"steps": 0}, [("steps", "uint32.gte_lte")]),
        ({"steps": 151}, [("steps", "uint32.gte_lte")]),
        ({"cfg_scale": 31.0}, [("cfg_scale", "float.gte_lte")]),
        ({"cfg_scale": -1.0}, [("cfg_scale", "float.gte_lte")]),
        ({"cfg_scale": float("nan")}, [("cfg_scale", "float.gte_lte")]),
    ],
)
@pytest.mark.parametrize("validate", [True, False], ids=["client-side", "server-side"])
async def test_a_request_breaking_the_schema_rules_fails_with_typed_violations(
    harness: Harness,
    overrides: dict[str, object],
    violations: list[tuple[str, str]],
    validate: bool,
) -> None:
    # validate=True: the client rejects it before sending; False: the server's generated
    # validator rejects it before the handler. Either way the same typed violations.
    with pytest.raises(IpcError) as caught:
        await harness.client.generate(request(**overrides), validate=validate).result()

    assert caught.value.code == Code.INVALID_ARGUMENT
    [detail] = caught.value.find_details(validate_pb2.Violations)
    assert [
        (field_path_to_string(v.field), v.rule_id) for v in detail.violations
    ] == violations
    assert harness.log == []  # the handler never saw it


@pytest.mark.asyncio
async def test_lora_is_optional(harness: Harness) -> None:
    req = request(id="no-lora", steps=1, size=[16, 16])
    req.ClearField("lora")

    result = await harness.client.generate(req).result()

    assert Path(result.image_path).read_bytes()[:8] == PNG_SIGNATURE
    assert any('on sdxl-base, 16x16, 1 steps' in line for line in harness.log)


@pytest.mark.asyncio
async def test_list_models_status_and_ping(harness: Harness) -> None:
    await harness.client.ping()
    models = (await harness.client.list_models()).models
    status = await harness.client.status()

    assert [(m.name, m.path, m.model_type, m.size_mb) for m in models] == [
        (
            "SDXL Base 1.0",
            "models/checkpoints/sdxl-base.safetensors",
            pixels_pb2.MODEL_TYPE_CHECKPOINT,
            6500,
        ),
        ("Pixel Art LoRA", "models/loras/pixelart.safetensors", pixels_pb2.MODEL_TYPE_LORA, 144),
        ("SDXL VAE", "models/vae/sdxl-vae.safetensors", pixels_pb2.MODEL_TYPE_VAE, 319),
    ]
    assert status.version == BACKEND_VERSION
    assert (status.queue_size, status.active_jobs) == (0, 0)
    assert status.uptime_s >= 0


def test_sprites_are_deterministic_and_previews_are_noisier() -> None:
    knight = create_sprite("sdxl-base|pixelart|knight")

    final = encode_sprite_png(knight, 32, 32)

    assert final[:8] == PNG_SIGNATURE
    assert encode_sprite_png(create_sprite("sdxl-base|pixelart|knight"), 32, 32) == final
    assert encode_sprite_png(create_sprite("sdxl-base|pixelart|castle"), 32, 32) != final
    assert encode_sprite_png(knight, 32, 32, reveal=0.5) != final
    assert encode_sprite_png(knight, 32, 32, reveal=0.5) == encode_sprite_png(
        knight, 32, 32, reveal=0.5
    )
    with pytest.raises(ValueError, match="image size 0x32 must be at least 1x1 pixels"):
        encode_sprite_png(knight, 0, 32)


@pytest.mark.asyncio
async def test_the_server_process_prints_ready_and_closes_on_sigterm(private_dir: Path) -> None:
    address = f"ipc://{private_dir}/process.sock"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pixels_demo_backend",
        "--bind",
        address,
        "--out",
        str(private_dir / "out"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        ready = await asyncio.wait_for(process.stdout.readline(), 15)
        assert ready.decode() == f"ready {address}\n"
        transport = protoipc.zmq.create_zmq_transport(address)
        try:
            client = pixels_ipc.PixelServiceClient(transport)
            assert (await client.status(timeout_ms=5_000)).version == BACKEND_VERSION
        finally:
            await transport.aclose()

        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)

        stderr = (await process.stderr.read()).decode()
        assert code == 0, stderr
        assert f"listening on {address}" in stderr
        assert "SIGTERM: closing the server" in stderr
        assert stderr.rstrip().endswith("closed")
        assert await process.stdout.read() == b""  # nothing but the ready line
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.asyncio
async def test_the_server_process_exits_2_on_bad_arguments() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pixels_demo_backend",
        "--bind",
        "ipc:///nowhere",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 10)

    assert process.returncode == 2
    assert b"--out" in stderr


@pytest.mark.asyncio
async def test_the_server_process_exits_1_when_it_cannot_listen(private_dir: Path) -> None:
    address = f"ipc://{private_dir}/missing-dir/pixels.sock"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pixels_demo_backend",
        "--bind",
        address,
        "--out",
        str(private_dir / "out"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 10)

    assert process.returncode == 1
    assert stdout == b""  # never ready
    assert f"cannot listen on {address}: " in stderr.decode()
