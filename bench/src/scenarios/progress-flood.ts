/**
 * Scenario "progress flood": one call that streams `count` progress updates (100 000) from the
 * server to the client. Measures updates per second (received updates over the time from the
 * call's start to its result) and updates lost (requested minus received), and checks the
 * sequence numbers arrive consecutive (1, 2, 3, ...). The raw zeromq.js flood runs beside it for
 * scale; the target is on losses only.
 *
 * The same scenario runs against the Python protoipc server (`protoipc_python`, the TypeScript
 * client receiving the updates a Python handler sends), alone: the target is on losses only.
 */
import { elapsedMsSince, median, nowMs } from "../measure.js";
import { formatCount, log, ratio, round } from "../report.js";

/** One implementation's flood client. */
export interface FloodImplementation {
  readonly name: "protoipc" | "raw_zeromq" | "protoipc_python";
  /**
   * Asks for `count` updates; `onUpdate` sees each sequence number in arrival order. Resolves
   * with the server's count of sent updates.
   */
  flood(count: number, onUpdate: (sequence: bigint) => void): Promise<number>;
}

/** Settings of the scenario. */
export interface ProgressFloodOptions {
  /** Updates requested per call (100 000). */
  readonly count: number;
  /** Calls per implementation; the median rate and the worst loss are reported. */
  readonly repetitions: number;
  /**
   * The implementation the target applies to (`updates_per_s`, `updates_lost`, ...); default
   * `protoipc`.
   */
  readonly candidate?: FloodImplementation["name"];
  /** Prefix of the scenario name, e.g. `python_server_`; default none. */
  readonly scenarioPrefix?: string;
}

/** The outcome of one flood call. */
interface FloodRun {
  readonly updatesPerSecond: number;
  readonly received: number;
  /** Updates whose sequence number was not the previous one plus one. */
  readonly outOfSequence: number;
  /** The call's error message, when it failed. */
  readonly error?: string;
}

/** Runs one flood call and counts what arrived. Never throws: a failed call is a result. */
async function floodOnce(impl: FloodImplementation, count: number): Promise<FloodRun> {
  let received = 0;
  let outOfSequence = 0;
  let expected = 1n;
  const start = nowMs();
  let error: string | undefined;
  try {
    const sent = await impl.flood(count, (sequence) => {
      received++;
      if (sequence !== expected) outOfSequence++;
      expected = sequence + 1n;
    });
    if (sent !== count) error = `server reports ${sent} updates sent, ${count} requested`;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const updatesPerSecond = (received * 1000) / elapsedMsSince(start);
  return { updatesPerSecond, received, outOfSequence, ...(error === undefined ? {} : { error }) };
}

/**
 * Runs the scenario (implementations in turns, `repetitions` rounds) and returns its result line.
 * An implementation listed in `unavailable` is reported as null with its reason.
 */
export async function runProgressFlood(
  implementations: readonly FloodImplementation[],
  unavailable: ReadonlyMap<string, string>,
  options: ProgressFloodOptions,
): Promise<Record<string, unknown>> {
  const runs = new Map<string, FloodRun[]>();
  for (const impl of implementations) runs.set(impl.name, []);
  // One small call each first, so the measured calls do not pay for JIT and connection set-up.
  for (const impl of implementations) await floodOnce(impl, Math.min(options.count, 10_000));
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const impl of rep % 2 === 0 ? implementations : [...implementations].reverse()) {
      const run = await floodOnce(impl, options.count);
      runs.get(impl.name)!.push(run);
      log(
        `progress flood run ${rep + 1}/${options.repetitions} ${impl.name}: ` +
          `${formatCount(run.updatesPerSecond)} updates/s, ${formatCount(run.received)} of ` +
          `${formatCount(options.count)} received, ${run.outOfSequence} out of sequence` +
          (run.error === undefined ? "" : `, error: ${run.error}`),
      );
    }
  }

  const candidate = options.candidate ?? "protoipc";
  // At most one baseline, for scale: the raw zeromq.js flood beside protoipc; none for Python.
  const baseline = implementations.find((i) => i.name !== candidate)?.name;
  const rate = (name: string) => {
    const r = runs.get(name);
    return r === undefined ? null : round(median(r.map((x) => x.updatesPerSecond)), 0);
  };
  const candidateRuns = runs.get(candidate);
  const lost =
    candidateRuns === undefined
      ? null
      : Math.max(...candidateRuns.map((r) => options.count - r.received));
  const outOfSequence =
    candidateRuns === undefined ? null : Math.max(...candidateRuns.map((r) => r.outOfSequence));
  const errors = candidateRuns?.flatMap((r) => (r.error === undefined ? [] : [r.error])) ?? [];
  // The target: no update lost; updates out of sequence or a failed call miss it too.
  const met = lost === null ? null : lost === 0 && outOfSequence === 0 && errors.length === 0;
  const count = options.count % 1000 === 0 ? `${options.count / 1000}k` : `${options.count}`;
  const perSecond = (r: readonly FloodRun[] | undefined) =>
    r?.map((x) => round(x.updatesPerSecond, 0)) ?? null;
  const line: Record<string, unknown> = {
    scenario: `${options.scenarioPrefix ?? ""}progress_${count}_updates`,
    unit: "updates/s",
    count: options.count,
    updates_per_s: rate(candidate),
    updates_lost: lost,
    out_of_sequence: outOfSequence,
    target: "updates_lost == 0",
    met,
  };
  if (baseline === undefined) {
    line.runs = { [candidate]: perSecond(candidateRuns) };
  } else {
    line[`${baseline}_updates_per_s`] = rate(baseline);
    line[`ratio_vs_${baseline}`] = ratio(rate(candidate), rate(baseline));
    line.runs = {
      [candidate]: perSecond(candidateRuns),
      [baseline]: perSecond(runs.get(baseline)),
    };
    line.ratio_per_round =
      candidateRuns?.map((r, i) =>
        ratio(r.updatesPerSecond, runs.get(baseline)?.[i]?.updatesPerSecond ?? null),
      ) ?? null;
  }
  if (errors.length > 0) line[`${candidate}_errors`] = errors;
  const baselineErrors =
    baseline === undefined
      ? undefined
      : runs.get(baseline)?.flatMap((r) => (r.error === undefined ? [] : [r.error]));
  if (baseline !== undefined && baselineErrors !== undefined && baselineErrors.length > 0) {
    line[`${baseline}_errors`] = baselineErrors;
  }
  for (const [name, reason] of unavailable) line[`${name}_error`] = reason;
  return line;
}
