import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type GenerateRequestSchema,
  GenerationStage,
  type ModelInfo,
  ModelType,
  PixelService,
  type PixelServiceClient,
} from "@protoipc/pixels-sdk";
import {
  type CallOptions,
  type ClientTransport,
  Code,
  codeToString,
  createClient,
  IpcError,
} from "@protoipc/runtime";
import { createZmqTransport } from "@protoipc/zeromq";
import { modelIdOf } from "./labels.js";
import { createProgressView, type ProgressView } from "./progress-view.js";
import { type Colors, colorsFor, heading } from "./terminal.js";

/** Options of {@link runClientApp}. */
export interface ClientAppOptions {
  /**
   * Talk over this transport instead of opening a ZeroMQ connection to `endpoint` (tests use the
   * in-memory transport). It stays the caller's to close.
   */
  readonly transport?: ClientTransport;
  /** Aborting it cancels every call in flight; the app then rejects with `Code.Canceled`. */
  readonly signal?: AbortSignal;
  /** The second job is cancelled once its sampler has done this fraction of its steps; default 0.5. */
  readonly cancelAtFraction?: number;
}

/** How one job ended. */
export type JobOutcome =
  | {
      readonly kind: "completed";
      /** Where the server wrote the image. */
      readonly imagePath: string;
      /** The job's wall time as the server measured it, in seconds. */
      readonly durationS: number;
      /** Size of the image file, in bytes. */
      readonly bytes: number;
      /** The first eight bytes of the file (a PNG starts with 89 50 4e 47 0d 0a 1a 0a). */
      readonly header: Buffer;
    }
  | { readonly kind: "failed"; readonly code: Code; readonly message: string };

/** What the client saw of one job. */
export interface JobSummary {
  readonly jobId: string;
  readonly prompt: string;
  readonly steps: number;
  /** True when the JobStarted update arrived. */
  readonly started: boolean;
  /** The stages in the order they arrived (each once, when it began). */
  readonly stages: readonly GenerationStage[];
  /** The highest step any progress update reported. */
  readonly lastStep: number;
  /** The steps at which previews arrived. */
  readonly previewSteps: readonly number[];
  readonly outcome: JobOutcome;
}

/** What {@link runClientApp} did, for tests and callers that want more than the printout. */
export interface ClientAppSummary {
  /** The version `Status` reported. */
  readonly serverVersion: string;
  /** The model names `ListModels` returned. */
  readonly models: readonly string[];
  /** The two jobs, in submission order; the second is the one cancelled. */
  readonly jobs: readonly JobSummary[];
  /** The code of the error a second `Cancel` of the cancelled job got (expected: `NotFound`). */
  readonly cancelAgainCode: Code | undefined;
}

/**
 * The demo's client: pings the pixels server at `endpoint`, prints its status and models, submits
 * two jobs at once, draws their progress live on `out`, cancels the second half way through
 * sampling (`job.cancel`, so the server's handler sees its signal abort), prints both outcomes,
 * and shows that cancelling the finished job again is a typed `NotFound` error.
 *
 * Opens one ZeroMQ connection to `endpoint` (unless `options.transport` is given) and closes it
 * before returning. Writes human-readable text to `out`: live bars when `out` is a terminal,
 * plain lines otherwise.
 *
 * @throws IpcError when the server cannot be reached (`Code.Unavailable`, `Code.DeadlineExceeded`),
 *   lists no checkpoint (`Code.FailedPrecondition`), or answers the second `Cancel` with a code other
 *   than `NotFound`; a job's failure is reported in the summary, not thrown
 */
export async function runClientApp(
  endpoint: string,
  out: Writable,
  options: ClientAppOptions = {},
): Promise<ClientAppSummary> {
  const colors = colorsFor(out);
  const print = (line = "") => out.write(`${line}\n`);
  const section = (title: string, detail = "") => print(heading(colors, title, detail));
  const callOptions: CallOptions = options.signal === undefined ? {} : { signal: options.signal };
  const transport = options.transport ?? createZmqTransport({ address: endpoint });
  const pixels = createClient(PixelService, transport);
  try {
    const t0 = performance.now();
    await pixels.ping({}, { ...callOptions, timeoutMs: 5_000 });
    section("ping", `pong in ${(performance.now() - t0).toFixed(1)} ms from ${endpoint}`);

    const status = await pixels.status({}, callOptions);
    section(
      "status",
      `backend ${status.version}, ${status.activeJobs} active jobs, ${status.queueSize} queued, up ${status.uptimeS} s`,
    );

    const { models } = await pixels.listModels({}, callOptions);
    section("list models", `${models.length} models`);
    printModelTable(models, print, colors);
    const checkpoint = models.find((m) => m.modelType === ModelType.CHECKPOINT);
    const lora = models.find((m) => m.modelType === ModelType.LORA);
    if (checkpoint === undefined) {
      throw new IpcError(
        "the server lists no checkpoint model to generate with",
        Code.FailedPrecondition,
      );
    }
    const base = { model: modelIdOf(checkpoint.path), size: [64, 64], cfgScale: 7.5 };
    const withLora = lora === undefined ? {} : { lora: modelIdOf(lora.path) };
    const requests: MessageInitShape<typeof GenerateRequestSchema>[] = [
      { ...base, ...withLora, id: "job-1", prompt: "16-bit knight sprite, pixel art", steps: 30 },
      { ...base, ...withLora, id: "job-2", prompt: "isometric castle tile, pixel art", steps: 40 },
    ];

    print();
    section("generate", "job-1 and job-2 at once; job-2 is cancelled half way through sampling");
    const view = createProgressView(out, colors);
    let jobs: JobSummary[];
    try {
      jobs = await Promise.all([
        watchJob(pixels, requests[0]!, view, callOptions, undefined),
        watchJob(pixels, requests[1]!, view, callOptions, options.cancelAtFraction ?? 0.5),
      ]);
    } finally {
      view.stop();
    }
    print();

    section("results");
    for (const job of jobs) print(`    ${describeOutcome(job, colors)}`);
    print();

    // A second Cancel of a job that no longer runs: the server's typed error crosses the wire.
    let cancelAgainCode: Code | undefined;
    try {
      await pixels.cancel({ jobId: requests[1]!.id ?? "" }, callOptions);
      section("cancel again", colors.yellow(`job-2: the server accepted it (unexpected)`));
    } catch (e) {
      const err = IpcError.from(e);
      if (err.code !== Code.NotFound) throw err;
      cancelAgainCode = err.code;
      section(
        "cancel again",
        `job-2 → IpcError ${colors.yellow(codeToString(err.code))}: ${err.rawMessage}`,
      );
    }

    const after = await pixels.status({}, callOptions);
    section("status", `${after.activeJobs} active jobs, up ${after.uptimeS} s`);
    return {
      serverVersion: status.version,
      models: models.map((m) => m.name),
      jobs,
      cancelAgainCode,
    };
  } finally {
    if (options.transport === undefined) await transport.close();
  }
}

/**
 * Runs one job to its end, feeding its progress to `view`. With `cancelAtFraction`, cancels the
 * call once the sampler has done that fraction of the steps. Never rejects: the outcome is in
 * the summary.
 */
async function watchJob(
  pixels: PixelServiceClient,
  request: MessageInitShape<typeof GenerateRequestSchema>,
  view: ProgressView,
  callOptions: CallOptions,
  cancelAtFraction: number | undefined,
): Promise<JobSummary> {
  const jobId = request.id ?? "";
  const steps = request.steps ?? 0;
  const cancelAtStep =
    cancelAtFraction === undefined ? undefined : Math.ceil(steps * cancelAtFraction);
  const bar = view.addJob(jobId);
  const stages: GenerationStage[] = [];
  const previewSteps: number[] = [];
  let started = false;
  let lastStep = 0;
  let cancelled = false;
  const job = pixels.generate(request, callOptions);
  const summary = (outcome: JobOutcome): JobSummary => ({
    jobId,
    prompt: request.prompt ?? "",
    steps,
    started,
    stages,
    lastStep,
    previewSteps,
    outcome,
  });
  try {
    for await (const { update } of job.progress) {
      switch (update.case) {
        case "jobStarted":
          started = true;
          break;
        case "progress": {
          const p = update.value;
          if (stages.at(-1) !== p.stage) stages.push(p.stage);
          lastStep = Math.max(lastStep, p.step);
          bar.update(p);
          if (
            !cancelled &&
            cancelAtStep !== undefined &&
            p.stage === GenerationStage.SAMPLING &&
            p.step >= cancelAtStep
          ) {
            cancelled = true;
            view.note(
              ` ${jobId}  cancelling at sampling step ${p.step}/${p.totalSteps}: job.cancel() on the client`,
            );
            job.cancel(`the demo cancels ${jobId} half way through sampling`);
          }
          break;
        }
        case "preview":
          previewSteps.push(update.value.step);
          bar.preview(update.value.step, update.value.imagePath);
          break;
        case undefined:
          break;
      }
    }
    const done = await job.result;
    const { bytes, header } = await inspectFile(done.imagePath);
    bar.finish(`done in ${done.durationS.toFixed(2)} s`, true);
    return summary({
      kind: "completed",
      imagePath: done.imagePath,
      durationS: done.durationS,
      bytes,
      header,
    });
  } catch (e) {
    const err = IpcError.from(e);
    bar.finish(
      err.code === Code.Canceled ? "cancelled" : `failed: ${codeToString(err.code)}`,
      false,
    );
    return summary({ kind: "failed", code: err.code, message: err.rawMessage });
  }
}

/** Reads the size and the first eight bytes of `file`. */
async function inspectFile(file: string): Promise<{ bytes: number; header: Buffer }> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(8, size));
    await handle.read(header, 0, header.length, 0);
    return { bytes: size, header };
  } finally {
    await handle.close();
  }
}

function describeOutcome(job: JobSummary, colors: Colors): string {
  const o = job.outcome;
  if (o.kind === "completed") {
    const kib = (o.bytes / 1024).toFixed(1);
    return `${job.jobId}  ${colors.green("completed")} in ${o.durationS.toFixed(2)} s → ${o.imagePath} (${kib} KiB PNG, ${job.previewSteps.length} previews)`;
  }
  const label = o.code === Code.Canceled ? colors.yellow("cancelled") : colors.red("failed");
  return `${job.jobId}  ${label} at step ${job.lastStep}/${job.steps}: IpcError ${codeToString(o.code)}: ${o.message}`;
}

function printModelTable(
  models: readonly ModelInfo[],
  print: (line: string) => void,
  colors: Colors,
): void {
  const rows = models.map((m) => [
    m.name,
    modelIdOf(m.path),
    (ModelType[m.modelType] ?? "unknown").toLowerCase(),
    formatMib(m.sizeMb),
  ]);
  const header = ["name", "request as", "type", "size"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `    ${cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")}`;
  print(colors.dim(line(header)));
  for (const row of rows) print(line(row));
}

/** A size in MiB, as `144 MiB` or `6.3 GiB`. */
function formatMib(mib: bigint): string {
  return mib >= 1024n ? `${(Number(mib) / 1024).toFixed(1)} GiB` : `${mib} MiB`;
}
