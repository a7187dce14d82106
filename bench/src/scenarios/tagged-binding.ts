/**
 * Scenarios "tagged binding vs native binding": the same generated pixels client
 * (`createClient(PixelService, …)`) and the same Python handler (bench/python/pixels_bench_server.py),
 * once on the native binding (`createZmqTransport`, DEALER ↔ ROUTER, protobuf envelopes) and
 * once on the tagged binding (`createZmqTaggedTransport`, the dgx-pixels wire: REQ ↔ ROUTER with
 * MessagePack maps, progress on SUB ↔ XPUB), in the same run, interleaved:
 *
 * - `tagged_binding_ping_round_trip_1_in_flight`: mean/p50/p99 µs of `ping` (REQ is lockstep, so
 *   one in flight is the tagged binding's only mode);
 * - `tagged_binding_progress_20k_updates`: one `generate` streaming 20 000 progress updates,
 *   updates/s from call start to result, and updates lost.
 *
 * No target: the figures are on record (the issue asks for the comparison).
 */
import { join } from "node:path";
import { type GenerateProgress, PixelService, type PixelServiceClient } from "@protoipc/pixels-sdk";
import { createClient } from "@protoipc/runtime";
import { createZmqTaggedTransport, createZmqTransport } from "@protoipc/zeromq";
import { elapsedMsSince, measureRoundTrip, median, nowMs } from "../measure.js";
import { emitLine, formatCount, log, ratio, round } from "../report.js";
import { type ServerProcess, startPythonServerProcess } from "../server-process.js";

/** Settings of the scenarios. */
export interface TaggedBindingOptions {
  /** The private socket directory. */
  readonly dir: string;
  /** Server children; the caller stops them. */
  readonly servers: ServerProcess[];
  /** Client closers; the caller runs them. */
  readonly closers: (() => Promise<void>)[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly repetitions: number;
}

const UPDATES = 20_000;
/** Sampler steps per job: the schema allows 1..150 (buf.validate), so the server streams
 * `UPDATES_PER_STEP` updates per step to reach the flood size. */
const STEPS = 100;
const UPDATES_PER_STEP = UPDATES / STEPS;

type Pixels = PixelServiceClient;

async function clientFor(binding: "native" | "tagged", o: TaggedBindingOptions): Promise<Pixels> {
  const address = `ipc://${join(o.dir, `pixels-${binding}.sock`)}`;
  const updatesAddress = `ipc://${join(o.dir, `pixels-${binding}-pub.sock`)}`;
  o.servers.push(
    await startPythonServerProcess("pixels_bench_server.py", [
      "--binding",
      binding,
      "--bind",
      address,
      "--updates-per-step",
      String(UPDATES_PER_STEP),
      ...(binding === "tagged" ? ["--updates", updatesAddress] : []),
    ]),
  );
  const transport =
    binding === "tagged"
      ? createZmqTaggedTransport({ address, updatesAddress })
      : createZmqTransport({ address });
  o.closers.push(() => transport.close());
  const client = createClient(PixelService, transport);
  await client.ping({}, { timeoutMs: 10_000 });
  return client;
}

async function progressRun(client: Pixels, id: string, steps: number) {
  let received = 0;
  const start = nowMs();
  const job = client.generate({ id, prompt: "bench", model: "bench", steps, size: [64, 64] });
  for await (const p of job.progress as AsyncIterable<GenerateProgress>) {
    if (p.update.case === "progress") received++;
  }
  await job.result;
  return {
    updatesPerSecond: (received * 1000) / elapsedMsSince(start),
    lost: steps * UPDATES_PER_STEP - received,
  };
}

/** Runs both scenarios and prints their lines; a binding that cannot start is reported. */
export async function runTaggedBindingScenarios(o: TaggedBindingOptions): Promise<void> {
  let native: Pixels;
  let tagged: Pixels;
  try {
    native = await clientFor("native", o);
    tagged = await clientFor("tagged", o);
  } catch (error) {
    const reason = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
    log(`tagged binding scenarios ${reason}`);
    emitLine({ scenario: "tagged_binding_ping_round_trip_1_in_flight", error: reason });
    return;
  }
  const impls = [
    { name: "tagged", client: tagged },
    { name: "native", client: native },
  ] as const;

  const rt = new Map<string, Awaited<ReturnType<typeof measureRoundTrip>>[]>([
    ["tagged", []],
    ["native", []],
  ]);
  for (const i of impls) await measureRoundTrip(() => i.client.ping({}), o.warmupMs);
  for (let rep = 0; rep < o.repetitions; rep++) {
    for (const i of rep % 2 === 0 ? impls : [...impls].reverse()) {
      const r = await measureRoundTrip(() => i.client.ping({}), o.durationMs);
      rt.get(i.name)!.push(r);
      log(
        `tagged-binding ping run ${rep + 1}/${o.repetitions} ${i.name}: mean ${round(r.meanUs, 1)} µs`,
      );
    }
  }
  const med = (name: string, k: "meanUs" | "p50Us" | "p99Us") =>
    round(median(rt.get(name)!.map((r) => r[k])), 1);
  emitLine({
    scenario: "tagged_binding_ping_round_trip_1_in_flight",
    unit: "µs",
    tagged_mean_us: med("tagged", "meanUs"),
    tagged_p50_us: med("tagged", "p50Us"),
    tagged_p99_us: med("tagged", "p99Us"),
    native_mean_us: med("native", "meanUs"),
    native_p50_us: med("native", "p50Us"),
    native_p99_us: med("native", "p99Us"),
    ratio_vs_native: ratio(med("tagged", "meanUs"), med("native", "meanUs")),
    target: null,
    met: null,
    runs: Object.fromEntries([...rt].map(([k, v]) => [k, v.map((r) => round(r.meanUs, 1))])),
  });

  const pr = new Map<string, { updatesPerSecond: number; lost: number }[]>([
    ["tagged", []],
    ["native", []],
  ]);
  let job = 0;
  for (const i of impls) await progressRun(i.client, `warm-${job++}`, 10);
  for (let rep = 0; rep < o.repetitions; rep++) {
    for (const i of rep % 2 === 0 ? impls : [...impls].reverse()) {
      const r = await progressRun(i.client, `job-${job++}`, STEPS);
      pr.get(i.name)!.push(r);
      log(
        `tagged-binding progress run ${rep + 1}/${o.repetitions} ${i.name}: ` +
          `${formatCount(r.updatesPerSecond)} updates/s, ${r.lost} lost`,
      );
    }
  }
  const rate = (name: string) => round(median(pr.get(name)!.map((r) => r.updatesPerSecond)), 0);
  const lost = (name: string) => Math.max(...pr.get(name)!.map((r) => r.lost));
  emitLine({
    scenario: "tagged_binding_progress_20k_updates",
    unit: "updates/s",
    count: UPDATES,
    tagged_updates_per_s: rate("tagged"),
    native_updates_per_s: rate("native"),
    ratio_vs_native: ratio(rate("tagged"), rate("native")),
    tagged_updates_lost: lost("tagged"),
    native_updates_lost: lost("native"),
    target: "updates_lost == 0",
    met: lost("tagged") === 0 && lost("native") === 0,
    runs: Object.fromEntries(
      [...pr].map(([k, v]) => [k, v.map((r) => round(r.updatesPerSecond, 0))]),
    ),
  });
}
