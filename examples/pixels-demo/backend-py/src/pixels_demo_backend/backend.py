"""The stand-in image generator: a :class:`PixelServiceHandler` without any machine learning.

A job walks the real pipeline with realistic timing (initializing → loading models → encoding →
sampling, one progress update per sampler step at 60–80 ms each with a preview every
:data:`PREVIEW_EVERY_STEPS` steps → decoding → post-processing) and writes a deterministic
pixel-art PNG derived from the prompt. It is the Python twin of the demo's TypeScript backend
(``examples/pixels-demo/src/backend.ts``): same stages, timing, updates and errors, so the client
app cannot tell them apart except by :data:`BACKEND_VERSION`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import protoipc
from pixels.v1 import pixels_ipc, pixels_pb2
from protoipc import Code, IpcError

from .sprite import create_sprite, write_sprite_png

__all__ = [
    "BACKEND_VERSION",
    "MODEL_CATALOG",
    "PREVIEW_EVERY_STEPS",
    "CatalogModel",
    "PixelBackend",
    "model_id_of",
    "stage_name",
]

BACKEND_VERSION = "0.1.0-demo+python"
"""The version the stand-in backend reports in ``Status``; ``+python`` tells it from the TS one."""

Stage = pixels_pb2.GenerationStage
"""A pipeline stage (the generated enum type)."""

INITIALIZING = pixels_pb2.GENERATION_STAGE_INITIALIZING
LOADING_MODELS = pixels_pb2.GENERATION_STAGE_LOADING_MODELS
ENCODING = pixels_pb2.GENERATION_STAGE_ENCODING
SAMPLING = pixels_pb2.GENERATION_STAGE_SAMPLING
DECODING = pixels_pb2.GENERATION_STAGE_DECODING
POST_PROCESSING = pixels_pb2.GENERATION_STAGE_POST_PROCESSING


@dataclass(frozen=True)
class CatalogModel:
    """One model the stand-in backend offers (it never loads the file)."""

    name: str
    """Display name, e.g. ``SDXL Base 1.0``."""
    path: str
    """Path of the model file, relative to the backend's model directory."""
    model_type: pixels_pb2.ModelType
    """Checkpoint, LoRA or VAE."""
    size_mb: int
    """File size in MiB."""

    @property
    def model_id(self) -> str:
        """The name a generate request uses for it (see :func:`model_id_of`)."""
        return model_id_of(self.path)

    def to_proto(self) -> pixels_pb2.ModelInfo:
        """The ``ModelInfo`` message ``ListModels`` answers with."""
        return pixels_pb2.ModelInfo(
            name=self.name, path=self.path, model_type=self.model_type, size_mb=self.size_mb
        )


MODEL_CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        "SDXL Base 1.0",
        "models/checkpoints/sdxl-base.safetensors",
        pixels_pb2.MODEL_TYPE_CHECKPOINT,
        6500,
    ),
    CatalogModel(
        "Pixel Art LoRA", "models/loras/pixelart.safetensors", pixels_pb2.MODEL_TYPE_LORA, 144
    ),
    CatalogModel("SDXL VAE", "models/vae/sdxl-vae.safetensors", pixels_pb2.MODEL_TYPE_VAE, 319),
)
"""The models the stand-in backend offers. A request names a model by its file name without the
extension (``sdxl-base``, ``pixelart``), as dgx-pixels does."""

STAGE_S: dict[Stage, float] = {
    INITIALIZING: 0.150,
    LOADING_MODELS: 0.500,
    ENCODING: 0.180,
    DECODING: 0.260,
    POST_PROCESSING: 0.140,
}
"""Simulated durations of the fixed stages, in seconds (a 30-step job takes about 3.3 s)."""

STEP_S_MIN = 0.060
"""A sampler step takes at least this many seconds..."""
STEP_S_MAX = 0.080
"""...and at most this many, uniformly distributed."""

PREVIEW_EVERY_STEPS = 10
"""A preview image is written and announced every this many sampler steps."""

# Limits of a generate request.
MAX_STEPS = 150
MIN_SIDE_PX = 16
MAX_SIDE_PX = 1024
MAX_CFG_SCALE = 30.0
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a job id must match, whole (it becomes part of file names)."""


def model_id_of(model_path: str) -> str:
    """The name a generate request uses for a model: its file name without the extension.

    ``models/loras/pixelart.safetensors`` → ``pixelart``, as dgx-pixels does.
    """
    return PurePosixPath(model_path).stem


def stage_name(stage: Stage) -> str:
    """The lowercase name of a stage, as the original wire spells it: ``loading_models``."""
    try:
        return pixels_pb2.GenerationStage.Name(stage).removeprefix("GENERATION_STAGE_").lower()
    except ValueError:
        return f"stage_{int(stage)}"


@dataclass(frozen=True)
class _JobSpec:
    """A validated generate request."""

    id: str
    prompt: str
    model: str
    lora: str | None
    width: int
    height: int
    steps: int


@dataclass
class _RunningJob:
    """A running job, as ``Cancel`` and ``Status`` see it."""

    stage: Stage = INITIALIZING
    step: int = 0
    task: asyncio.Task[Path] | None = None
    """The task walking the pipeline; ``Cancel`` cancels it."""
    cancel_reason: str | None = None
    """Set by ``Cancel`` before it cancels :attr:`task`."""


class PixelBackend(pixels_ipc.PixelServiceHandler):
    """The stand-in image generator, served with ``server.register(PixelBackend(out_dir))``.

    Jobs run concurrently, each in its own task. A job stops promptly, answering
    ``Code.CANCELED``, when any client sends ``Cancel`` with its id; when its caller cancels the
    call or its deadline passes, the runtime cancels the handler (``asyncio.CancelledError``),
    which stops the job at its next ``await`` (a sleep, a progress update, or an image still
    being encoded in the executor: the handler stops waiting for it at once).

    Errors: ``Code.INVALID_ARGUMENT`` for a malformed request (id, prompt, size, steps, cfg
    scale), ``Code.NOT_FOUND`` for an unknown model or LoRA and for ``Cancel`` of a job that is
    not running, ``Code.ALREADY_EXISTS`` for a job id that is running already.

    :param out_dir: directory the images and previews are written to; created when missing
    :param log: receives one line per job event (start, cancel, finish); default: discard
    :param time_scale: multiplies every simulated duration (stages and sampler steps); default 1,
        the demo's realistic timing; tests use less
    :raises ValueError: when ``time_scale`` is negative
    """

    def __init__(
        self,
        out_dir: Path | str,
        *,
        log: Callable[[str], None] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        if not time_scale >= 0:
            raise ValueError(f"time_scale {time_scale} must be >= 0")
        self._out_dir = Path(out_dir)
        self._log: Callable[[str], None] = log if log is not None else _discard
        self._time_scale = time_scale
        self._jobs: dict[str, _RunningJob] = {}
        self._started_at = time.monotonic()

    async def generate(
        self,
        request: pixels_pb2.GenerateRequest,
        context: protoipc.ProgressContext[pixels_pb2.GenerateProgress],
    ) -> pixels_pb2.GenerateResponse:
        """Runs one job to its end, streaming progress, and answers the written image's path.

        :raises IpcError: ``INVALID_ARGUMENT``, ``NOT_FOUND`` or ``ALREADY_EXISTS`` (see the
            class), ``CANCELED`` when a ``Cancel`` request stopped the job
        :raises asyncio.CancelledError: when the runtime cancelled the call (client cancel,
            deadline, shutdown); the runtime answers the client
        """
        spec = _validate(request)
        if spec.id in self._jobs:
            raise IpcError(f"job {spec.id} is running already", Code.ALREADY_EXISTS)
        job = _RunningJob()
        # No await between the check above and these lines: two calls cannot both pass it.
        run = _JobRun(spec, job, context, self._out_dir, self._time_scale)
        job.task = asyncio.create_task(run.run(), name=f"pixels job {spec.id}")
        self._jobs[spec.id] = job
        started = time.perf_counter()
        lora = "" if spec.lora is None else f" + {spec.lora}"
        self._log(
            f'{spec.id} started: "{spec.prompt}" on {spec.model}{lora}, '
            f"{spec.width}x{spec.height}, {spec.steps} steps"
        )
        try:
            # Cancelling this handler's task cancels the job's task too (it is being awaited).
            image_path = await job.task
        except asyncio.CancelledError as e:
            this_task = asyncio.current_task()
            handler_cancelled = this_task is not None and this_task.cancelling() > 0
            if job.cancel_reason is not None and not handler_cancelled:
                # Only the job was cancelled, by a Cancel request: answer the caller ourselves.
                self._log_stopped(spec, job, job.cancel_reason)
                raise IpcError(job.cancel_reason, Code.CANCELED) from None
            # The runtime cancelled the handler, naming why (client cancel, deadline, shutdown).
            if e.args and isinstance(e.args[0], str) and e.args[0]:
                why = e.args[0]
            elif context.time_remaining() <= 0:
                why = "deadline exceeded"
            else:
                why = "call cancelled"
            self._log_stopped(spec, job, why)
            raise
        except IpcError as e:
            if e.code == Code.CANCELED:  # a progress update after the call had ended
                self._log_stopped(spec, job, e.raw_message)
            else:
                self._log(f"{spec.id} failed: {e}")
            raise
        except Exception as e:
            self._log(f"{spec.id} failed: {e!r}")
            raise
        finally:
            del self._jobs[spec.id]
        duration_s = time.perf_counter() - started
        self._log(f"{spec.id} completed in {duration_s:.2f} s: {image_path}")
        return pixels_pb2.GenerateResponse(
            job_id=spec.id, image_path=str(image_path), duration_s=duration_s
        )

    async def cancel(
        self, request: pixels_pb2.CancelRequest, context: protoipc.CallContext
    ) -> pixels_pb2.CancelResponse:
        """Stops the running job ``request.job_id``, whoever submitted it.

        Its ``Generate`` call then fails with ``CANCELED``.

        :raises IpcError: ``NOT_FOUND`` when no job with that id is running
        """
        job = self._jobs.get(request.job_id)
        # A job whose task is done is finishing: its Generate call answers with its outcome.
        if job is None or job.task is None or job.task.done():
            raise IpcError(
                f"no running job with id {json.dumps(request.job_id)}", Code.NOT_FOUND
            )
        if job.cancel_reason is None:
            job.cancel_reason = f"job {request.job_id} cancelled by a cancel request"
            job.task.cancel(job.cancel_reason)
        return pixels_pb2.CancelResponse(job_id=request.job_id)

    async def list_models(
        self, request: pixels_pb2.ListModelsRequest, context: protoipc.CallContext
    ) -> pixels_pb2.ListModelsResponse:
        """Lists :data:`MODEL_CATALOG`."""
        return pixels_pb2.ListModelsResponse(models=[m.to_proto() for m in MODEL_CATALOG])

    async def status(
        self, request: pixels_pb2.StatusRequest, context: protoipc.CallContext
    ) -> pixels_pb2.StatusResponse:
        """Reports the version, the running jobs and the uptime in whole seconds."""
        return pixels_pb2.StatusResponse(
            version=BACKEND_VERSION,
            queue_size=0,  # jobs start at once; there is no queue to wait in
            active_jobs=len(self._jobs),
            uptime_s=int(time.monotonic() - self._started_at),
        )

    async def ping(
        self, request: pixels_pb2.PingRequest, context: protoipc.CallContext
    ) -> pixels_pb2.PingResponse:
        """Answers at once."""
        return pixels_pb2.PingResponse()

    def _log_stopped(self, spec: _JobSpec, job: _RunningJob, why: str) -> None:
        self._log(
            f"{spec.id} stopped at {stage_name(job.stage)} step {job.step}/{spec.steps}: {why}"
        )


class _JobRun:
    """Walks the pipeline for one job, sending progress through the call's context.

    ``percent`` is the planned work done so far over the planned total; the ETA during sampling
    uses the measured step rate, as a real sampler's would.
    """

    def __init__(
        self,
        spec: _JobSpec,
        job: _RunningJob,
        context: protoipc.ProgressContext[pixels_pb2.GenerateProgress],
        out_dir: Path,
        time_scale: float,
    ) -> None:
        self._spec = spec
        self._job = job
        self._context = context
        self._out_dir = out_dir
        self._time_scale = time_scale
        self._mean_step_s = (STEP_S_MIN + STEP_S_MAX) / 2
        self._after_sampling_s = STAGE_S[DECODING] + STAGE_S[POST_PROCESSING]
        self._planned_s = (
            STAGE_S[INITIALIZING]
            + STAGE_S[LOADING_MODELS]
            + STAGE_S[ENCODING]
            + spec.steps * self._mean_step_s
            + self._after_sampling_s
        )
        self._done_s = 0.0

    async def run(self) -> Path:
        """Runs the job; returns the written image's path.

        :raises asyncio.CancelledError: when the job's task is cancelled
        :raises IpcError: ``CANCELED`` when a progress update is sent after the call ended
        :raises OSError: when an image cannot be written
        """
        spec, context = self._spec, self._context
        await context.progress(
            pixels_pb2.GenerateProgress(
                job_started=pixels_pb2.JobStarted(job_id=spec.id, timestamp=int(time.time()))
            )
        )
        await context.run_sync(functools.partial(self._out_dir.mkdir, parents=True, exist_ok=True))
        await self._fixed_stage(INITIALIZING, 0)
        await self._fixed_stage(LOADING_MODELS, 0)
        await self._fixed_stage(ENCODING, 0)

        sprite = create_sprite(f"{spec.model}|{spec.lora or ''}|{spec.prompt}")
        preview_path = self._out_dir / f"{spec.id}.preview.png"
        await self._send(SAMPLING, 0, self._planned_s - self._done_s)
        sampling_started = time.perf_counter()
        for step in range(1, spec.steps + 1):
            await self._sleep(random.uniform(STEP_S_MIN, STEP_S_MAX))
            self._done_s += self._mean_step_s
            measured_step_s = (time.perf_counter() - sampling_started) / step
            remaining_s = (spec.steps - step) * measured_step_s + self._after_sampling_s
            await self._send(SAMPLING, step, remaining_s)
            if step % PREVIEW_EVERY_STEPS == 0:
                # Encoding is CPU work: off the loop, so heartbeats and other calls keep flowing.
                await context.run_sync(
                    write_sprite_png,
                    preview_path,
                    sprite,
                    spec.width,
                    spec.height,
                    step / spec.steps,
                )
                await context.progress(
                    pixels_pb2.GenerateProgress(
                        preview=pixels_pb2.Preview(
                            job_id=spec.id, image_path=str(preview_path), step=step
                        )
                    )
                )

        await self._fixed_stage(DECODING, spec.steps)
        image_path = self._out_dir / f"{spec.id}.png"
        await self._send(POST_PROCESSING, spec.steps, self._after_sampling_s - STAGE_S[DECODING])
        await context.run_sync(write_sprite_png, image_path, sprite, spec.width, spec.height)
        await self._sleep(STAGE_S[POST_PROCESSING])
        self._done_s = self._planned_s
        await self._send(POST_PROCESSING, spec.steps, 0)
        return image_path

    async def _fixed_stage(self, stage: Stage, step: int) -> None:
        """Announces ``stage`` and spends its simulated duration in it."""
        await self._send(stage, step, self._planned_s - self._done_s)
        await self._sleep(STAGE_S[stage])
        self._done_s += STAGE_S[stage]

    async def _sleep(self, simulated_s: float) -> None:
        """Spends ``simulated_s`` seconds of simulated work, scaled by the time scale."""
        await asyncio.sleep(simulated_s * self._time_scale)

    async def _send(self, stage: Stage, step: int, remaining_s: float) -> None:
        """Records where the job is and sends one ``Progress`` update."""
        self._job.stage = stage
        self._job.step = step
        await self._context.progress(
            pixels_pb2.GenerateProgress(
                progress=pixels_pb2.Progress(
                    job_id=self._spec.id,
                    stage=stage,
                    step=step,
                    total_steps=self._spec.steps,
                    percent=min(100.0, 100 * self._done_s / self._planned_s),
                    eta_s=max(0.0, remaining_s),
                )
            )
        )


def _validate(request: pixels_pb2.GenerateRequest) -> _JobSpec:
    """Checks a generate request against the catalog and the limits.

    :raises IpcError: ``INVALID_ARGUMENT`` or ``NOT_FOUND``, naming the field, the value and the
        limit
    """

    def invalid(message: str) -> IpcError:
        return IpcError(message, Code.INVALID_ARGUMENT)

    if JOB_ID_PATTERN.fullmatch(request.id) is None:
        raise invalid(f"job id {json.dumps(request.id)} must match {JOB_ID_PATTERN.pattern}")
    prompt = request.prompt.strip()
    if prompt == "":
        raise invalid("prompt is empty")
    checkpoints = _ids_of(pixels_pb2.MODEL_TYPE_CHECKPOINT)
    if request.model not in checkpoints:
        raise IpcError(
            f"model {json.dumps(request.model)} not found; available: {', '.join(checkpoints)}",
            Code.NOT_FOUND,
        )
    lora = request.lora if request.HasField("lora") else None
    loras = _ids_of(pixels_pb2.MODEL_TYPE_LORA)
    if lora is not None and lora not in loras:
        raise IpcError(
            f"lora {json.dumps(lora)} not found; available: {', '.join(loras)}", Code.NOT_FOUND
        )
    if len(request.size) != 2:
        raise invalid(f"size must be [width, height], got {len(request.size)} values")
    width, height = request.size
    if not all(MIN_SIDE_PX <= side <= MAX_SIDE_PX for side in (width, height)):
        raise invalid(
            f"size {width}x{height} is outside {MIN_SIDE_PX}..{MAX_SIDE_PX} pixels per side"
        )
    if not 1 <= request.steps <= MAX_STEPS:
        raise invalid(f"steps {request.steps} is outside 1..{MAX_STEPS}")
    # Written so that NaN fails too.
    if not 0 <= request.cfg_scale <= MAX_CFG_SCALE:
        raise invalid(f"cfg scale {request.cfg_scale:g} is outside 0..{MAX_CFG_SCALE:g}")
    return _JobSpec(
        id=request.id,
        prompt=prompt,
        model=request.model,
        lora=lora,
        width=width,
        height=height,
        steps=request.steps,
    )


def _ids_of(model_type: pixels_pb2.ModelType) -> list[str]:
    return [m.model_id for m in MODEL_CATALOG if m.model_type == model_type]


def _discard(line: str) -> None:
    pass
