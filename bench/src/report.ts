/**
 * Output of the benchmark: one JSON line per scenario on stdout (machine-readable, the contract
 * of `pnpm bench`), human-readable progress on stderr.
 */

/** A target a ratio is checked against: `ratio >= value` or `ratio <= value`. */
export interface Target {
  readonly op: ">=" | "<=";
  readonly value: number;
}

/** The target as printed, e.g. `">= 0.9"`; null when the scenario has none. */
export function formatTarget(target: Target | undefined): string | null {
  return target === undefined ? null : `${target.op} ${target.value}`;
}

/** `candidate / baseline`, rounded to 3 decimals; null when either is missing or not finite. */
export function ratio(candidate: number | null, baseline: number | null): number | null {
  if (candidate === null || baseline === null || !Number.isFinite(candidate / baseline))
    return null;
  return round(candidate / baseline, 3);
}

/** Whether `value` meets `target`; null when there is no value or no target. */
export function meets(value: number | null, target: Target | undefined): boolean | null {
  if (value === null || target === undefined) return null;
  return target.op === ">=" ? value >= target.value : value <= target.value;
}

/** `value` rounded to `digits` decimals; null stays null. */
export function round(value: number, digits: number): number;
export function round(value: number | null, digits: number): number | null;
export function round(value: number | null, digits: number): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Prints one scenario's result as one JSON line on stdout. */
export function emitLine(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Prints a human-readable progress message on stderr. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** `n` with thousands separators and no decimals, for stderr messages. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
