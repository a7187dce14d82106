import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type GenerateProgressSchema,
  type GenerateRequest,
  GenerationStage,
  type ModelInfoSchema,
  ModelType,
  type PixelServiceHandler,
} from "@protoipc/pixels-sdk";
import { Code, IpcError, type ProgressContext } from "@protoipc/runtime";
import { modelIdOf, stageName } from "./labels.js";
import { createSprite, encodeSpritePng } from "./sprite.js";

/** The version the stand-in backend reports in `Status`. */
export const BACKEND_VERSION = "0.1.0-demo";

/**
 * The models the stand-in backend offers. A request names a model by its file name without the
 * extension (`sdxl-base`, `pixelart`), as dgx-pixels does.
 */
export const MODEL_CATALOG: readonly MessageInitShape<typeof ModelInfoSchema>[] = [
  {
    name: "SDXL Base 1.0",
    path: "models/checkpoints/sdxl-base.safetensors",
    modelType: ModelType.CHECKPOINT,
    sizeMb: 6500n,
  },
  {
    name: "Pixel Art LoRA",
    path: "models/loras/pixelart.safetensors",
    modelType: ModelType.LORA,
    sizeMb: 144n,
  },
  {
    name: "SDXL VAE",
    path: "models/vae/sdxl-vae.safetensors",
    modelType: ModelType.VAE,
    sizeMb: 319n,
  },
];

/** Simulated durations of the fixed stages, in milliseconds (a 30-step job takes about 3.3 s). */
const STAGE_MS = {
  [GenerationStage.INITIALIZING]: 150,
  [GenerationStage.LOADING_MODELS]: 500,
  [GenerationStage.ENCODING]: 180,
  [GenerationStage.DECODING]: 260,
  [GenerationStage.POST_PROCESSING]: 140,
} as const;

/** One sampler step takes between these many milliseconds, uniformly. */
const STEP_MS_MIN = 60;
const STEP_MS_MAX = 80;

/** A preview image is written and announced every this many sampler steps. */
export const PREVIEW_EVERY_STEPS = 10;

/** Limits of a generate request. */
const MAX_STEPS = 150;
const MIN_SIDE_PX = 16;
const MAX_SIDE_PX = 1024;
const MAX_CFG_SCALE = 30;
const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Options of {@link createPixelBackend}. */
export interface PixelBackendOptions {
  /** Directory the images and previews are written to; created when missing. */
  readonly outDir: string;
  /** Receives one line per job event (start, cancel, finish); default: discard. */
  readonly log?: (line: string) => void;
}

/** A running job, as `Cancel` and `Status` see it. */
interface RunningJob {
  readonly cancel: AbortController;
  stage: GenerationStage;
  step: number;
}

/** A validated generate request. */
interface JobSpec {
  readonly id: string;
  readonly prompt: string;
  readonly model: string;
  readonly lora: string | undefined;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
}

/**
 * Creates the stand-in image generator. It does no machine learning: a job walks the real
 * pipeline stages (initializing → loading models → encoding → sampling, one progress update per
 * sampler step at 60–80 ms each, a preview every {@link PREVIEW_EVERY_STEPS} steps → decoding →
 * post-processing) with realistic timing, and writes a deterministic pixel-art PNG derived from
 * the prompt into `outDir`.
 *
 * Jobs run concurrently. A job stops promptly, answering `Code.Canceled`, when its caller
 * cancels the call, when its deadline passes, or when any client sends `Cancel` with its id.
 *
 * Errors: `Code.InvalidArgument` for a malformed request (id, prompt, size, steps, cfg scale),
 * `Code.NotFound` for an unknown model or LoRA and for `Cancel` of a job that is not running,
 * `Code.AlreadyExists` for a job id that is running already.
 */
export function createPixelBackend(options: PixelBackendOptions): PixelServiceHandler {
  const log = options.log ?? (() => {});
  const jobs = new Map<string, RunningJob>();
  const startedAt = Date.now();

  return {
    async generate(request, ctx) {
      const spec = validate(request);
      if (jobs.has(spec.id)) {
        throw new IpcError(`job ${spec.id} is running already`, Code.AlreadyExists);
      }
      const job: RunningJob = {
        cancel: new AbortController(),
        stage: GenerationStage.INITIALIZING,
        step: 0,
      };
      // One signal for all three ways a job can stop: caller cancel, deadline, Cancel request.
      const signal = AbortSignal.any([ctx.signal, job.cancel.signal]);
      jobs.set(spec.id, job);
      const t0 = performance.now();
      const lora = spec.lora === undefined ? "" : ` + ${spec.lora}`;
      log(
        `${spec.id} started: "${spec.prompt}" on ${spec.model}${lora}, ${spec.width}x${spec.height}, ${spec.steps} steps`,
      );
      try {
        const imagePath = await runJob(spec, job, ctx, signal, options.outDir);
        const durationS = (performance.now() - t0) / 1000;
        log(`${spec.id} completed in ${durationS.toFixed(2)} s: ${imagePath}`);
        return { jobId: spec.id, imagePath, durationS };
      } catch (e) {
        if (signal.aborted) {
          const reason = IpcError.from(signal.reason, Code.Canceled);
          log(
            `${spec.id} stopped at ${stageName(job.stage)} step ${job.step}/${spec.steps}: ${reason.message}`,
          );
          throw reason;
        }
        log(`${spec.id} failed: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      } finally {
        jobs.delete(spec.id);
      }
    },

    cancel(request) {
      const job = jobs.get(request.jobId);
      if (job === undefined) {
        throw new IpcError(
          `no running job with id ${JSON.stringify(request.jobId)}`,
          Code.NotFound,
        );
      }
      job.cancel.abort(
        new IpcError(`job ${request.jobId} cancelled by a cancel request`, Code.Canceled),
      );
      return { jobId: request.jobId };
    },

    listModels() {
      return { models: [...MODEL_CATALOG] };
    },

    status() {
      return {
        version: BACKEND_VERSION,
        queueSize: 0, // jobs start at once; there is no queue to wait in
        activeJobs: jobs.size,
        uptimeS: BigInt(Math.floor((Date.now() - startedAt) / 1000)),
      };
    },

    ping() {
      return {};
    },
  };
}

/**
 * Walks the pipeline for one job, sending progress through `ctx`, and returns the written
 * image's path. Rejects (with an AbortError or the progress call's IpcError) as soon as `signal`
 * aborts.
 */
async function runJob(
  spec: JobSpec,
  job: RunningJob,
  ctx: ProgressContext<typeof GenerateProgressSchema>,
  signal: AbortSignal,
  outDir: string,
): Promise<string> {
  const meanStepMs = (STEP_MS_MIN + STEP_MS_MAX) / 2;
  const samplingMs = spec.steps * meanStepMs;
  const beforeSamplingMs =
    STAGE_MS[GenerationStage.INITIALIZING] +
    STAGE_MS[GenerationStage.LOADING_MODELS] +
    STAGE_MS[GenerationStage.ENCODING];
  const afterSamplingMs =
    STAGE_MS[GenerationStage.DECODING] + STAGE_MS[GenerationStage.POST_PROCESSING];
  const plannedMs = beforeSamplingMs + samplingMs + afterSamplingMs;
  let doneMs = 0; // planned work done so far; percent is doneMs / plannedMs

  const send = async (stage: GenerationStage, step: number, remainingMs: number) => {
    job.stage = stage;
    job.step = step;
    await ctx.progress({
      update: {
        case: "progress",
        value: {
          jobId: spec.id,
          stage,
          step,
          totalSteps: spec.steps,
          percent: Math.min(100, (100 * doneMs) / plannedMs),
          etaS: Math.max(0, remainingMs) / 1000,
        },
      },
    });
  };
  const fixedStage = async (stage: keyof typeof STAGE_MS, step: number) => {
    await send(stage, step, plannedMs - doneMs);
    await sleep(STAGE_MS[stage], undefined, { signal });
    doneMs += STAGE_MS[stage];
  };

  await ctx.progress({
    update: {
      case: "jobStarted",
      value: { jobId: spec.id, timestamp: BigInt(Math.floor(Date.now() / 1000)) },
    },
  });
  await mkdir(outDir, { recursive: true });
  await fixedStage(GenerationStage.INITIALIZING, 0);
  await fixedStage(GenerationStage.LOADING_MODELS, 0);
  await fixedStage(GenerationStage.ENCODING, 0);

  const sprite = createSprite(`${spec.model}|${spec.lora ?? ""}|${spec.prompt}`);
  const previewPath = path.join(outDir, `${spec.id}.preview.png`);
  await send(GenerationStage.SAMPLING, 0, plannedMs - doneMs);
  const samplingStart = performance.now();
  for (let step = 1; step <= spec.steps; step++) {
    await sleep(STEP_MS_MIN + Math.random() * (STEP_MS_MAX - STEP_MS_MIN), undefined, {
      signal,
    });
    doneMs += meanStepMs;
    // The ETA uses the measured step rate, as a real sampler's would.
    const measuredStepMs = (performance.now() - samplingStart) / step;
    await send(
      GenerationStage.SAMPLING,
      step,
      (spec.steps - step) * measuredStepMs + afterSamplingMs,
    );
    if (step % PREVIEW_EVERY_STEPS === 0) {
      const png = encodeSpritePng(sprite, spec.width, spec.height, step / spec.steps);
      await writeFileAtomic(previewPath, png);
      await ctx.progress({
        update: { case: "preview", value: { jobId: spec.id, imagePath: previewPath, step } },
      });
    }
  }

  await fixedStage(GenerationStage.DECODING, spec.steps);
  const imagePath = path.join(outDir, `${spec.id}.png`);
  await send(
    GenerationStage.POST_PROCESSING,
    spec.steps,
    afterSamplingMs - STAGE_MS[GenerationStage.DECODING],
  );
  await writeFileAtomic(imagePath, encodeSpritePng(sprite, spec.width, spec.height));
  await sleep(STAGE_MS[GenerationStage.POST_PROCESSING], undefined, { signal });
  doneMs = plannedMs;
  await send(GenerationStage.POST_PROCESSING, spec.steps, 0);
  return imagePath;
}

/**
 * Writes via a temporary name and a rename, so a reader never sees half an image. Not abortable:
 * the images are a few KiB, and an aborted write would leave the temporary file behind.
 */
async function writeFileAtomic(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Checks a generate request against the catalog and the limits.
 *
 * @throws IpcError Code.InvalidArgument or Code.NotFound, naming the field, the value and the limit
 */
function validate(req: GenerateRequest): JobSpec {
  const invalid = (message: string) => new IpcError(message, Code.InvalidArgument);
  if (!JOB_ID_PATTERN.test(req.id)) {
    throw invalid(`job id ${JSON.stringify(req.id)} must match ${JOB_ID_PATTERN.source}`);
  }
  const prompt = req.prompt.trim();
  if (prompt === "") throw invalid("prompt is empty");
  const checkpoints = idsOf(ModelType.CHECKPOINT);
  if (!checkpoints.includes(req.model)) {
    throw new IpcError(
      `model ${JSON.stringify(req.model)} not found; available: ${checkpoints.join(", ")}`,
      Code.NotFound,
    );
  }
  const loras = idsOf(ModelType.LORA);
  if (req.lora !== undefined && !loras.includes(req.lora)) {
    throw new IpcError(
      `lora ${JSON.stringify(req.lora)} not found; available: ${loras.join(", ")}`,
      Code.NotFound,
    );
  }
  const [width, height] = req.size;
  if (req.size.length !== 2 || width === undefined || height === undefined) {
    throw invalid(`size must be [width, height], got ${req.size.length} values`);
  }
  for (const side of [width, height]) {
    if (side < MIN_SIDE_PX || side > MAX_SIDE_PX) {
      throw invalid(
        `size ${width}x${height} is outside ${MIN_SIDE_PX}..${MAX_SIDE_PX} pixels per side`,
      );
    }
  }
  if (req.steps < 1 || req.steps > MAX_STEPS) {
    throw invalid(`steps ${req.steps} is outside 1..${MAX_STEPS}`);
  }
  if (!(req.cfgScale >= 0 && req.cfgScale <= MAX_CFG_SCALE)) {
    throw invalid(`cfg scale ${req.cfgScale} is outside 0..${MAX_CFG_SCALE}`);
  }
  return { id: req.id, prompt, model: req.model, lora: req.lora, width, height, steps: req.steps };
}

function idsOf(type: ModelType): string[] {
  return MODEL_CATALOG.filter((m) => m.modelType === type).map((m) => modelIdOf(m.path ?? ""));
}
