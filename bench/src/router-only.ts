/**
 * `pnpm --filter @protoipc/bench router`: only the router scenarios of `pnpm bench`
 * (scenarios/router.ts) with the two baselines they compare against (the protoipc echo direct over
 * DEALER/ROUTER and the raw zeromq.js echo), same environment variables, one JSON line per
 * scenario. `BENCH_ROUTER_SCENARIOS=throughput` runs the throughput scenario only.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRawZmqClient } from "./baselines/raw-zeromq.js";
import { createProtoipcEchoClient } from "./protoipc-echo.js";
import { log } from "./report.js";
import { runRouterScenarios } from "./scenarios/router.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const dir = await mkdtemp(join(tmpdir(), "protoipc-bench-"));
const servers: ServerProcess[] = [];
const closers: (() => Promise<void>)[] = [];
try {
  const rawAddresses = {
    echo: `ipc://${join(dir, "raw-echo.sock")}`,
    flood: `ipc://${join(dir, "raw-flood.sock")}`,
  };
  const protoipcAddress = `ipc://${join(dir, "protoipc.sock")}`;
  servers.push(await startServerProcess("raw-zeromq", [rawAddresses.echo, rawAddresses.flood]));
  servers.push(await startServerProcess("protoipc", [protoipcAddress]));
  const raw = createRawZmqClient(rawAddresses);
  closers.push(() => raw.close());
  const direct = createProtoipcEchoClient(protoipcAddress);
  closers.push(() => direct.close());
  await runRouterScenarios({
    dir,
    servers,
    closers,
    echoOptions: {
      payloadBytes: 64,
      concurrency: 64,
      durationMs: seconds * 1000,
      warmupMs: warmup * 1000,
      repetitions: Math.round(Number(process.env.BENCH_REPETITIONS ?? 3)),
    },
    direct: { name: "protoipc", echo: direct.echo },
    raw: { name: "raw_zeromq", echo: raw.echo },
    only: process.env.BENCH_ROUTER_SCENARIOS === "throughput" ? "throughput" : undefined,
  });
} catch (error) {
  log(
    `router scenarios failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
}
