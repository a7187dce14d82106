import { Code, IpcError } from "@protoipc/runtime";

/** Options of {@link createBackoff}. All durations in milliseconds. */
export interface BackoffOptions {
  /** Delay before the first retry; default 100. */
  readonly initialDelayMs?: number;
  /** Largest delay; default 5 000. */
  readonly maxDelayMs?: number;
  /** Growth per attempt; default 2. */
  readonly multiplier?: number;
  /**
   * Fraction of each delay that is random, 0..1; default 0.5: a delay is uniformly drawn from
   * `[(1 - jitter) × d, d]`, so clients that lost the same server do not retry in lockstep.
   */
  readonly jitter?: number;
  /** Source of randomness in [0, 1); `Math.random` by default (tests pass their own). */
  readonly random?: () => number;
}

/** Delays between reconnect attempts: exponential, capped, jittered. */
export interface Backoff {
  /** The delay before the next attempt, in milliseconds; each call grows the next one. */
  next(): number;
  /** Starts over at `initialDelayMs` (after a successful connection). */
  reset(): void;
}

/**
 * Jittered exponential backoff: attempt n waits `min(maxDelayMs, initialDelayMs × multiplierⁿ)`
 * less a random fraction of up to `jitter` of it.
 *
 * @throws IpcError Code.InvalidArgument when a delay is negative, `multiplier` < 1 or `jitter`
 *   is outside 0..1
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const multiplier = options.multiplier ?? 2;
  const jitter = options.jitter ?? 0.5;
  const random = options.random ?? Math.random;
  if (!(initial >= 0) || !(max >= initial) || !(multiplier >= 1) || !(jitter >= 0 && jitter <= 1)) {
    throw new IpcError(
      `backoff options out of range: initialDelayMs ${initial}, maxDelayMs ${max}, multiplier ${multiplier}, jitter ${jitter}`,
      Code.InvalidArgument,
    );
  }
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(max, initial * multiplier ** attempt);
      attempt++;
      return Math.round(ceiling * (1 - jitter * random()));
    },
    reset() {
      attempt = 0;
    },
  };
}
