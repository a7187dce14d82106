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
import { readFileSync } from "node:fs";
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
/** CPU seconds (user + system) a process has used, from /proc (Linux), or NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}
const impls = [
  {
    name: "protoipc_unix",
    echo: native.echo,
    runs: [] as number[],
    clientUs: [] as number[],
    serverUs: [] as number[],
    pid: servers[0]?.child?.pid,
  },
  {
    name: "raw_unix",
    echo: raw.echo,
    runs: [] as number[],
    clientUs: [] as number[],
    serverUs: [] as number[],
    pid: servers[1]?.child?.pid,
  },
].filter((i) => only === undefined || i.name === only);
try {
  for (const impl of impls) await warmUp(() => impl.echo(payload), concurrency, warmupMs);
  for (let rep = 0; rep < repetitions; rep++) {
    const order = rep % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      const client0 = process.cpuUsage();
      const server0 = cpuSeconds(impl.pid);
      const r = await measureThroughput(() => impl.echo(payload), concurrency, durationMs);
      const client = process.cpuUsage(client0);
      const clientUs = (client.user + client.system) / r.calls;
      const serverUs = ((cpuSeconds(impl.pid) - server0) * 1e6) / r.calls;
      impl.runs.push(Math.round(r.callsPerSecond));
      impl.clientUs.push(Math.round(clientUs * 100) / 100);
      impl.serverUs.push(Math.round(serverUs * 100) / 100);
      process.stderr.write(
        `${impl.name}: ${Math.round(r.callsPerSecond)} calls/s, CPU per call: client ${clientUs.toFixed(2)} us, server ${serverUs.toFixed(2)} us\n`,
      );
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
      // CPU time (user + system) per call in each process, microseconds: what each side costs,
      // whatever the machine's other load does to the throughput.
      client_cpu_us_per_call: Object.fromEntries(impls.map((i) => [i.name, median(i.clientUs)])),
      server_cpu_us_per_call: Object.fromEntries(impls.map((i) => [i.name, median(i.serverUs)])),
    }),
  );
} finally {
  await native.close();
  await raw.close();
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
}
