/**
 * Scenario "unary echo": the same 64-byte echo through every implementation, measured in turns
 * (interleaved, rotating the order each repetition) so drifts of the machine hit all alike.
 *
 * - throughput with `concurrency` calls in flight, in calls per second;
 * - round trip with one call in flight, mean / p50 / p99 in microseconds.
 *
 * Each measurement runs `repetitions` times; the reported value is the median of the runs.
 */
import { randomBytes } from "node:crypto";
import { measureRoundTrip, measureThroughput, median, warmUp } from "../measure.js";
import { formatCount, formatTarget, log, meets, ratio, round, type Target } from "../report.js";

/** The implementations compared. */
export type ImplementationName = "protoipc" | "raw_zeromq" | "grpc_js";

/** One implementation's echo client. */
export interface EchoImplementation {
  readonly name: ImplementationName;
  /** Calls echo with `payload`; resolves with the echoed bytes. */
  echo(payload: Uint8Array): Promise<Uint8Array>;
}

/** Settings of the scenario. */
export interface UnaryEchoOptions {
  /** Request payload size, in bytes (64). */
  readonly payloadBytes: number;
  /** Calls in flight for the throughput measurement (64). */
  readonly concurrency: number;
  /** Duration of one measurement run, in milliseconds. */
  readonly durationMs: number;
  /** Warm-up per implementation before the first run, in milliseconds. */
  readonly warmupMs: number;
  /** Runs per measurement; the median is reported. */
  readonly repetitions: number;
}

/** Targets of the issue: protoipc against raw zeromq.js and grpc-js. */
const THROUGHPUT_VS_RAW: Target = { op: ">=", value: 0.9 };
const ROUND_TRIP_VS_RAW: Target = { op: "<=", value: 1.15 };
const THROUGHPUT_VS_GRPC: Target = { op: ">=", value: 8 };

interface Runs {
  readonly callsPerSecond: number[];
  readonly meanUs: number[];
  readonly p50Us: number[];
  readonly p99Us: number[];
}

/**
 * Runs the scenario over `implementations` and returns its result lines (throughput and round
 * trip against raw zeromq.js, then against grpc-js). An implementation listed in `unavailable`,
 * or one that echoes wrong bytes or whose call fails, is reported as null with its reason.
 */
export async function runUnaryEcho(
  implementations: readonly EchoImplementation[],
  unavailable: ReadonlyMap<ImplementationName, string>,
  options: UnaryEchoOptions,
): Promise<Record<string, unknown>[]> {
  const payload = new Uint8Array(randomBytes(options.payloadBytes));
  const runs = new Map<ImplementationName, Runs>();
  // An implementation whose call fails is dropped from the rest of the scenario and reported
  // with its error, so one broken implementation does not hide the others' numbers.
  const failures = new Map<ImplementationName, string>(unavailable);
  const attempt = async (impl: EchoImplementation, step: () => Promise<void>) => {
    if (failures.has(impl.name)) return;
    try {
      await step();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.set(impl.name, message);
      runs.delete(impl.name);
      log(`${impl.name} failed, dropped from the scenario: ${message}`);
    }
  };

  for (const impl of implementations) {
    runs.set(impl.name, { callsPerSecond: [], meanUs: [], p50Us: [], p99Us: [] });
    await attempt(impl, async () => {
      await assertEchoes(impl, payload);
      log(`warm-up ${impl.name} (${options.warmupMs} ms, ${options.concurrency} in flight)`);
      await warmUp(() => impl.echo(payload), options.concurrency, options.warmupMs);
    });
  }

  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const impl of rotate(implementations, rep)) {
      await attempt(impl, async () => {
        const r = await measureThroughput(
          () => impl.echo(payload),
          options.concurrency,
          options.durationMs,
        );
        runs.get(impl.name)!.callsPerSecond.push(r.callsPerSecond);
        log(
          `throughput run ${rep + 1}/${options.repetitions} ${impl.name}: ` +
            `${formatCount(r.callsPerSecond)} calls/s (${formatCount(r.calls)} calls)`,
        );
      });
    }
  }
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const impl of rotate(implementations, rep)) {
      await attempt(impl, async () => {
        const r = await measureRoundTrip(() => impl.echo(payload), options.durationMs);
        const byImpl = runs.get(impl.name)!;
        byImpl.meanUs.push(r.meanUs);
        byImpl.p50Us.push(r.p50Us);
        byImpl.p99Us.push(r.p99Us);
        log(
          `round trip run ${rep + 1}/${options.repetitions} ${impl.name}: mean ` +
            `${r.meanUs.toFixed(1)} us, p50 ${r.p50Us.toFixed(1)} us, p99 ${r.p99Us.toFixed(1)} us ` +
            `(${formatCount(r.calls)} calls)`,
        );
      });
    }
  }

  const stat = (name: ImplementationName, key: keyof Runs, digits: number) => {
    const values = runs.get(name)?.[key];
    return values === undefined ? null : round(median(values), digits);
  };
  const all = (name: ImplementationName, key: keyof Runs, digits: number) =>
    runs.get(name)?.[key].map((v) => round(v, digits)) ?? null;
  // protoipc ÷ baseline per round: the two runs of a round are adjacent in time, so these show
  // how much of the spread is the machine's rather than the implementations'.
  const paired = (baseline: ImplementationName, key: keyof Runs) => {
    const p = runs.get("protoipc")?.[key];
    const b = runs.get(baseline)?.[key];
    if (p === undefined || b === undefined) return null;
    return p.map((v, i) => ratio(v, b[i] ?? null));
  };
  const errors: Record<string, string> = {};
  for (const [name, reason] of failures) errors[`${name}_error`] = reason;

  const size = `${options.payloadBytes}B`;
  const throughputLine = (baseline: ImplementationName, scenario: string, target: Target) => {
    const r = ratio(stat("protoipc", "callsPerSecond", 0), stat(baseline, "callsPerSecond", 0));
    return {
      scenario,
      unit: "calls/s",
      in_flight: options.concurrency,
      protoipc: stat("protoipc", "callsPerSecond", 0),
      [baseline]: stat(baseline, "callsPerSecond", 0),
      [`ratio_vs_${baseline}`]: r,
      target: formatTarget(target),
      met: meets(r, target),
      runs: {
        protoipc: all("protoipc", "callsPerSecond", 0),
        [baseline]: all(baseline, "callsPerSecond", 0),
      },
      ratio_per_round: paired(baseline, "callsPerSecond"),
      ...errors,
    };
  };
  const roundTripLine = (baseline: ImplementationName, scenario: string, target?: Target) => {
    const r = ratio(stat("protoipc", "meanUs", 2), stat(baseline, "meanUs", 2));
    return {
      scenario,
      unit: "us",
      in_flight: 1,
      protoipc: stat("protoipc", "meanUs", 2),
      [baseline]: stat(baseline, "meanUs", 2),
      [`ratio_vs_${baseline}`]: r,
      target: formatTarget(target),
      met: meets(r, target),
      protoipc_p50: stat("protoipc", "p50Us", 2),
      protoipc_p99: stat("protoipc", "p99Us", 2),
      [`${baseline}_p50`]: stat(baseline, "p50Us", 2),
      [`${baseline}_p99`]: stat(baseline, "p99Us", 2),
      runs: { protoipc: all("protoipc", "meanUs", 2), [baseline]: all(baseline, "meanUs", 2) },
      ratio_per_round: paired(baseline, "meanUs"),
      ...errors,
    };
  };
  return [
    throughputLine(
      "raw_zeromq",
      `unary_echo_${size}_throughput_${options.concurrency}_in_flight`,
      THROUGHPUT_VS_RAW,
    ),
    roundTripLine("raw_zeromq", `unary_echo_${size}_round_trip_1_in_flight`, ROUND_TRIP_VS_RAW),
    throughputLine("grpc_js", `unary_echo_${size}_throughput_vs_grpc`, THROUGHPUT_VS_GRPC),
    // No target in the issue: printed so the round trip against grpc-js is on record too.
    roundTripLine("grpc_js", `unary_echo_${size}_round_trip_vs_grpc`),
  ];
}

/** `items` rotated left by `by`, so each run starts with a different implementation. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Checks one echo round trip returns the payload unchanged. */
async function assertEchoes(impl: EchoImplementation, payload: Uint8Array): Promise<void> {
  const echoed = await impl.echo(payload);
  if (!Buffer.from(echoed).equals(Buffer.from(payload))) {
    throw new Error(
      `${impl.name} echoed ${echoed.length} bytes that differ from the ${payload.length} sent`,
    );
  }
}
