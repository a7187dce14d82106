/**
 * `pnpm --filter @protoipc/bench unix-native`: only the native-binding-over-a-Unix-socket
 * throughput (64 B echo, 64 in flight) against the raw Node length-prefixed echo, measured like
 * `scenarios/unix-streams.ts` (a warm-up each, then `BENCH_REPETITIONS` interleaved runs of
 * `BENCH_SECONDS`). For working on `@protoipc/unix` without running the whole benchmark.
 * `BENCH_ONLY=protoipc_unix` (or `raw_unix`) measures one implementation; to profile both
 * processes run it as `node --cpu-prof --cpu-prof-dir=<dir> --import tsx src/unix-native-only.ts`
 * (the server children inherit the `--cpu-prof*` flags).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureThroughput, median, warmUp } from "./measure.js";
import { startServerProcess } from "./server-process.js";
import { createProtoipcUnixEchoClient } from "./unix/protoipc-unix.js";
import { createRawUnixEchoClient } from "./unix/raw-unix.js";

const envNumber = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return process.env[name] === undefined || !Number.isFinite(v) ? fallback : v;
};
const durationMs = envNumber("BENCH_SECONDS", 3) * 1000;
const warmupMs = envNumber("BENCH_WARMUP_SECONDS", 1) * 1000;
const repetitions = Math.round(envNumber("BENCH_REPETITIONS", 3));
const concurrency = 64;
const payload = new Uint8Array(randomBytes(64));

const dir = await mkdtemp(join(tmpdir(), "protoipc-bench-unix-"));
const nativePath = join(dir, "native.sock");
const rawPath = join(dir, "raw.sock");
const servers = [
  await startServerProcess("unix", ["protoipc-native", nativePath]),
  await startServerProcess("unix", ["raw", rawPath]),
];
const native = createProtoipcUnixEchoClient(nativePath, "native");
const raw = await createRawUnixEchoClient(rawPath);
const only = process.env.BENCH_ONLY;
const impls = [
  { name: "protoipc_unix", echo: native.echo, runs: [] as number[] },
  { name: "raw_unix", echo: raw.echo, runs: [] as number[] },
].filter((i) => only === undefined || i.name === only);
try {
  for (const impl of impls) await warmUp(() => impl.echo(payload), concurrency, warmupMs);
  for (let rep = 0; rep < repetitions; rep++) {
    const order = rep % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      const r = await measureThroughput(() => impl.echo(payload), concurrency, durationMs);
      impl.runs.push(Math.round(r.callsPerSecond));
      process.stderr.write(`${impl.name}: ${Math.round(r.callsPerSecond)} calls/s\n`);
    }
  }
  const med = (name: string) => {
    const runs = impls.find((i) => i.name === name)?.runs;
    return runs === undefined ? Number.NaN : median(runs);
  };
  const [p, b] = [med("protoipc_unix"), med("raw_unix")];
  console.log(
    JSON.stringify({
      scenario: "unix_native_echo_64B_throughput_64_in_flight",
      protoipc_unix: p,
      raw_unix: b,
      ratio_vs_raw_unix: Math.round((p / b) * 1000) / 1000,
      runs: Object.fromEntries(impls.map((i) => [i.name, i.runs])),
    }),
  );
} finally {
  await native.close();
  await raw.close();
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
}
