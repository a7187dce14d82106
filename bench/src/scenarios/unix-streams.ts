/**
 * Scenarios "Unix-socket streams" (issue 4): the same 64-byte echo over Unix sockets, measured
 * like `unary-echo.ts` (a verified echo and a warm-up per implementation, then `repetitions`
 * interleaved runs with the order rotating, medians reported):
 *
 * - `protoipc_unix` (native binding, `@protoipc/unix`) against `raw_unix` (a hand-written
 *   length-prefixed echo on a Node Unix socket, target `>= 0.7`) and `grpc_js` over a Unix socket
 *   (target `>= 10`);
 * - `protoipc_jsonrpc2` (jsonrpc2 binding, Content-Length framing) against `vscode_jsonrpc`
 *   (throughput target `>= 1.5`, round trip `<= 1.0`).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { measureRoundTrip, measureThroughput, median, warmUp } from "../measure.js";
import { formatCount, formatTarget, log, meets, ratio, round, type Target } from "../report.js";
import { type ServerProcess, startServerProcess } from "../server-process.js";
import type { UnaryEchoOptions } from "./unary-echo.js";

/** One implementation's echo client. */
interface Impl {
  readonly name: string;
  echo(payload: Uint8Array): Promise<Uint8Array>;
}

interface Runs {
  callsPerSecond: number[];
  meanUs: number[];
  p50Us: number[];
  p99Us: number[];
}

/** What the scenarios need from `main`. */
export interface UnixScenarioContext {
  /** The private socket directory. */
  readonly dir: string;
  /** Server children; `main` stops them. */
  readonly servers: ServerProcess[];
  /** Client closers; `main` runs them. */
  readonly closers: (() => Promise<void>)[];
  readonly echoOptions: UnaryEchoOptions;
  /** The grpc-js echo client of the main scenarios (grpc-js over a Unix socket). */
  readonly grpcEcho: (payload: Uint8Array) => Promise<Uint8Array>;
}

const NATIVE_VS_RAW: Target = { op: ">=", value: 0.7 };
const NATIVE_VS_GRPC: Target = { op: ">=", value: 10 };
const JSONRPC_THROUGHPUT: Target = { op: ">=", value: 1.5 };
const JSONRPC_ROUND_TRIP: Target = { op: "<=", value: 1.0 };

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Measures every implementation in turns; a failing one is dropped and reported. */
async function measure(
  impls: readonly Impl[],
  options: UnaryEchoOptions,
  failures: Map<string, string>,
): Promise<Map<string, Runs>> {
  const payload = new Uint8Array(randomBytes(options.payloadBytes));
  const runs = new Map<string, Runs>();
  const attempt = async (impl: Impl, step: () => Promise<void>) => {
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
  for (const impl of impls) {
    runs.set(impl.name, { callsPerSecond: [], meanUs: [], p50Us: [], p99Us: [] });
    await attempt(impl, async () => {
      const echoed = await impl.echo(payload);
      if (!Buffer.from(echoed).equals(Buffer.from(payload))) {
        throw new Error(`${impl.name} echoed bytes that differ from the ones sent`);
      }
      log(`warm-up ${impl.name} (${options.warmupMs} ms, ${options.concurrency} in flight)`);
      await warmUp(() => impl.echo(payload), options.concurrency, options.warmupMs);
    });
  }
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const impl of rotate(impls, rep)) {
      await attempt(impl, async () => {
        const r = await measureThroughput(
          () => impl.echo(payload),
          options.concurrency,
          options.durationMs,
        );
        runs.get(impl.name)?.callsPerSecond.push(r.callsPerSecond);
        log(
          `throughput run ${rep + 1}/${options.repetitions} ${impl.name}: ${formatCount(r.callsPerSecond)} calls/s`,
        );
      });
    }
  }
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const impl of rotate(impls, rep)) {
      await attempt(impl, async () => {
        const r = await measureRoundTrip(() => impl.echo(payload), options.durationMs);
        const byImpl = runs.get(impl.name);
        byImpl?.meanUs.push(r.meanUs);
        byImpl?.p50Us.push(r.p50Us);
        byImpl?.p99Us.push(r.p99Us);
        log(
          `round trip run ${rep + 1}/${options.repetitions} ${impl.name}: mean ${r.meanUs.toFixed(1)} us`,
        );
      });
    }
  }
  return runs;
}

function line(
  runs: Map<string, Runs>,
  failures: Map<string, string>,
  scenario: string,
  candidate: string,
  baseline: string,
  key: "callsPerSecond" | "meanUs",
  options: UnaryEchoOptions,
  target?: Target,
): Record<string, unknown> {
  const digits = key === "callsPerSecond" ? 0 : 2;
  const stat = (name: string) => {
    const v = runs.get(name)?.[key];
    return v === undefined || v.length === 0 ? null : round(median(v), digits);
  };
  const r = ratio(stat(candidate), stat(baseline));
  const errors: Record<string, string> = {};
  for (const [name, reason] of failures) errors[`${name}_error`] = reason;
  return {
    scenario,
    unit: key === "callsPerSecond" ? "calls/s" : "us",
    in_flight: key === "callsPerSecond" ? options.concurrency : 1,
    [candidate]: stat(candidate),
    [baseline]: stat(baseline),
    [`ratio_vs_${baseline}`]: r,
    target: formatTarget(target),
    met: meets(r, target),
    runs: {
      [candidate]: runs.get(candidate)?.[key].map((v) => round(v, digits)) ?? null,
      [baseline]: runs.get(baseline)?.[key].map((v) => round(v, digits)) ?? null,
    },
    ...errors,
  };
}

/**
 * Starts the Unix-socket servers (each in its own child process), connects the clients, runs
 * both comparisons and returns their result lines. A server that cannot start is reported with
 * its reason; the others still run.
 */
export async function runUnixScenarios(
  ctx: UnixScenarioContext,
): Promise<Record<string, unknown>[]> {
  const failures = new Map<string, string>();
  const start = async (
    name: string,
    kind: string,
    connect: (path: string) => Promise<Impl & { close(): Promise<void> }>,
  ): Promise<Impl | undefined> => {
    const path = join(ctx.dir, `${kind}.sock`);
    try {
      ctx.servers.push(await startServerProcess("unix", [kind, path]));
      const client = await connect(path);
      ctx.closers.push(() => client.close());
      return client;
    } catch (error) {
      const reason = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
      failures.set(name, reason);
      log(`${name} ${reason}`);
      return undefined;
    }
  };
  const { createProtoipcUnixEchoClient } = await import("../unix/protoipc-unix.js");
  const { createRawUnixEchoClient } = await import("../unix/raw-unix.js");
  const { createVscodeJsonRpcEchoClient } = await import("../unix/vscode-jsonrpc.js");
  const named = (name: string, c: { echo: Impl["echo"]; close(): Promise<void> }) => ({
    name,
    echo: c.echo,
    close: c.close,
  });
  const native = await start("protoipc_unix", "protoipc-native", async (p) =>
    named("protoipc_unix", createProtoipcUnixEchoClient(p, "native")),
  );
  const raw = await start("raw_unix", "raw", async (p) =>
    named("raw_unix", await createRawUnixEchoClient(p)),
  );
  const jsonrpc = await start("protoipc_jsonrpc2", "protoipc-jsonrpc2", async (p) =>
    named("protoipc_jsonrpc2", createProtoipcUnixEchoClient(p, "jsonrpc2")),
  );
  const vscode = await start("vscode_jsonrpc", "vscode-jsonrpc", async (p) =>
    named("vscode_jsonrpc", await createVscodeJsonRpcEchoClient(p)),
  );
  const grpc: Impl = { name: "grpc_js", echo: ctx.grpcEcho };
  const o = ctx.echoOptions;
  const size = `${o.payloadBytes}B`;

  const nativeRuns = await measure(
    [native, raw, grpc].filter((i): i is Impl => i !== undefined),
    o,
    failures,
  );
  const jsonRuns = await measure(
    [jsonrpc, vscode].filter((i): i is Impl => i !== undefined),
    o,
    failures,
  );
  return [
    line(
      nativeRuns,
      failures,
      `unix_native_echo_${size}_throughput_${o.concurrency}_in_flight`,
      "protoipc_unix",
      "raw_unix",
      "callsPerSecond",
      o,
      NATIVE_VS_RAW,
    ),
    line(
      nativeRuns,
      failures,
      `unix_native_echo_${size}_round_trip_1_in_flight`,
      "protoipc_unix",
      "raw_unix",
      "meanUs",
      o,
    ),
    line(
      nativeRuns,
      failures,
      `unix_native_echo_${size}_throughput_vs_grpc`,
      "protoipc_unix",
      "grpc_js",
      "callsPerSecond",
      o,
      NATIVE_VS_GRPC,
    ),
    line(
      jsonRuns,
      failures,
      `unix_jsonrpc2_echo_${size}_throughput_${o.concurrency}_in_flight`,
      "protoipc_jsonrpc2",
      "vscode_jsonrpc",
      "callsPerSecond",
      o,
      JSONRPC_THROUGHPUT,
    ),
    line(
      jsonRuns,
      failures,
      `unix_jsonrpc2_echo_${size}_round_trip_1_in_flight`,
      "protoipc_jsonrpc2",
      "vscode_jsonrpc",
      "meanUs",
      o,
      JSONRPC_ROUND_TRIP,
    ),
  ];
}
