/**
 * `pnpm --filter @protoipc/bench validation`: only the validation scenarios of `pnpm bench`
 * (scenarios/validation.ts), same environment variables, one JSON line per scenario.
 */
import { emitLine } from "./report.js";
import { runValidationOverhead, runValidatorComparison } from "./scenarios/validation.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const options = {
  durationMs: seconds * 1000,
  warmupMs: warmup * 1000,
  repetitions: Math.round(Number(process.env.BENCH_REPETITIONS ?? 3)),
};
for (const line of runValidatorComparison(options)) emitLine(line);
emitLine(await runValidationOverhead(options));
