/**
 * Timing helpers of the benchmark. Times come from `performance.now()` (monotonic, sub-microsecond
 * resolution); results are plain numbers with the unit in their name.
 */
import { performance } from "node:perf_hooks";

/** One call under measurement: resolves when the response arrived, rejects when the call failed. */
export type Call = () => Promise<unknown>;

/** The result of {@link measureThroughput}. */
export interface ThroughputResult {
  /** Calls that completed, including the ones in flight when the duration ran out. */
  readonly calls: number;
  /** Wall time from the first call's start to the last call's completion, in milliseconds. */
  readonly elapsedMs: number;
  /** `calls / elapsed`, in calls per second. */
  readonly callsPerSecond: number;
}

/**
 * Measures throughput with `concurrency` calls in flight: `concurrency` loops each start the next
 * call as soon as their previous one completed, until `durationMs` has passed; the calls still in
 * flight then complete and are counted.
 *
 * @throws the first call's rejection, after the other loops stopped
 */
export async function measureThroughput(
  call: Call,
  concurrency: number,
  durationMs: number,
): Promise<ThroughputResult> {
  let calls = 0;
  const start = performance.now();
  const end = start + durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      await call();
      calls++;
    }
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) loops.push(loop());
  await Promise.all(loops);
  const elapsedMs = performance.now() - start;
  return { calls, elapsedMs, callsPerSecond: (calls * 1000) / elapsedMs };
}

/** The result of {@link measureRoundTrip}; times in microseconds. */
export interface RoundTripResult {
  /** Number of sequential calls measured. */
  readonly calls: number;
  /** Mean round trip, in microseconds. */
  readonly meanUs: number;
  /** Median round trip, in microseconds. */
  readonly p50Us: number;
  /** 99th percentile round trip, in microseconds. */
  readonly p99Us: number;
}

/**
 * Measures the round trip with one call in flight: calls run one after the other for `durationMs`
 * and each one's time from start to response is recorded.
 *
 * @throws the first call's rejection
 */
export async function measureRoundTrip(call: Call, durationMs: number): Promise<RoundTripResult> {
  const samplesUs: number[] = [];
  const end = performance.now() + durationMs;
  let now = performance.now();
  while (now < end) {
    const t0 = now;
    await call();
    now = performance.now();
    samplesUs.push((now - t0) * 1000);
  }
  samplesUs.sort((a, b) => a - b);
  let sum = 0;
  for (const s of samplesUs) sum += s;
  return {
    calls: samplesUs.length,
    meanUs: sum / samplesUs.length,
    p50Us: percentile(samplesUs, 0.5),
    p99Us: percentile(samplesUs, 0.99),
  };
}

/**
 * Runs `call` with `concurrency` in flight for `durationMs` and discards the result, so JIT
 * compilation, connection set-up and buffer growth happen before measuring.
 */
export async function warmUp(call: Call, concurrency: number, durationMs: number): Promise<void> {
  await measureThroughput(call, concurrency, durationMs);
}

/** The value at quantile `q` (0..1) of ascending `sorted` (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values` (mean of the middle two when even); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds elapsed since `start`, a `performance.now()` reading. */
export function elapsedMsSince(start: number): number {
  return performance.now() - start;
}

/** The current `performance.now()` reading, in milliseconds. */
export function nowMs(): number {
  return performance.now();
}
