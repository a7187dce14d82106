/**
 * `pnpm bench`: protoipc's native binding over ZeroMQ `ipc://` against a raw zeromq.js
 * DEALER/ROUTER echo and against grpc-js over a Unix socket, then the TypeScript protoipc client
 * against a Python protoipc server (bench/python) and the raw zeromq.js DEALER against a raw pyzmq
 * ROUTER echo, all in one run on this machine; last, the generated validators against
 * @bufbuild/protovalidate and the overhead validation adds to a unary call
 * (scenarios/validation.ts). Every server runs in its own child process, every client here. Prints one JSON line per scenario on stdout (see README.md) and progress on
 * stderr; exits 0 even when a target is missed.
 *
 * Environment:
 * - `BENCH_SECONDS`: duration of one measurement run, in seconds; default 3.
 * - `BENCH_WARMUP_SECONDS`: warm-up per implementation, in seconds; default 1.
 * - `BENCH_REPETITIONS`: runs per measurement (median reported); default 3.
 * - `BENCH_BASELINES_ONLY=1`: skip protoipc, with TypeScript and Python servers alike (its fields
 *   print as null).
 * - `BENCH_PYTHON`: the Python interpreter of the Python servers; default `.venv/bin/python`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { createGrpcEchoClient } from "./baselines/grpc.js";
import { createRawZmqClient, createRawZmqEchoClient } from "./baselines/raw-zeromq.js";
import type { ProtoipcEchoClient } from "./protoipc-echo.js";
import { emitLine, log } from "./report.js";
import { type FloodImplementation, runProgressFlood } from "./scenarios/progress-flood.js";
import { runTaggedBindingScenarios } from "./scenarios/tagged-binding.js";
import {
  type EchoImplementation,
  type ImplementationName,
  runPythonServerUnaryEcho,
  runUnaryEcho,
  type UnaryEchoOptions,
} from "./scenarios/unary-echo.js";
import {
  type ServerProcess,
  startPythonServerProcess,
  startServerProcess,
} from "./server-process.js";

/** Reads a positive number from the environment, or `fallback`. */
function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

const PAYLOAD_BYTES = 64;
const CONCURRENCY = 64;
const FLOOD_COUNT = 100_000;
/** Time the first protoipc echo may take before protoipc is reported unavailable, in milliseconds. */
const PROBE_TIMEOUT_MS = 10_000;

/** Resolves like `promise`, or rejects after `ms` milliseconds. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the Python scenarios share with {@link main}: where to put sockets, what to clean up. */
interface PythonScenarioContext {
  /** The private socket directory. */
  readonly dir: string;
  /** Server children; {@link main} stops them. */
  readonly servers: ServerProcess[];
  /** Client closers; {@link main} runs them. */
  readonly closers: (() => Promise<void>)[];
  readonly baselinesOnly: boolean;
  readonly echoOptions: UnaryEchoOptions;
  readonly repetitions: number;
}

/**
 * The Python scenarios: the TypeScript protoipc client against the Python protoipc server
 * (bench/python/protoipc_echo_server.py), and the raw zeromq.js DEALER client of the raw_zeromq
 * baseline against a raw pyzmq ROUTER echo (bench/python/raw_pyzmq_echo_server.py): unary echo
 * throughput and round trip, then the progress flood from the Python handler. A server that
 * cannot start is reported with its reason; the other still runs.
 */
async function runPythonScenarios(ctx: PythonScenarioContext): Promise<void> {
  const unavailable = new Map<ImplementationName, string>();
  const note = (name: ImplementationName, error: unknown) => {
    const reason = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
    unavailable.set(name, reason);
    log(`${name} ${reason}`);
  };

  const rawAddress = `ipc://${join(ctx.dir, "raw-pyzmq.sock")}`;
  let raw: EchoImplementation | undefined;
  try {
    ctx.servers.push(
      await startPythonServerProcess("raw_pyzmq_echo_server.py", ["--bind", rawAddress]),
    );
    const client = createRawZmqEchoClient(rawAddress);
    ctx.closers.push(() => client.close());
    raw = { name: "raw_pyzmq", echo: client.echo };
  } catch (error) {
    note("raw_pyzmq", error);
  }

  let protoipc: ProtoipcEchoClient | undefined;
  if (ctx.baselinesOnly) {
    unavailable.set("protoipc_python", "skipped: BENCH_BASELINES_ONLY=1");
  } else {
    try {
      const address = `ipc://${join(ctx.dir, "protoipc-python.sock")}`;
      const { createProtoipcEchoClient } = await import("./protoipc-echo.js");
      ctx.servers.push(
        await startPythonServerProcess("protoipc_echo_server.py", ["--bind", address]),
      );
      const client = createProtoipcEchoClient(address);
      ctx.closers.push(() => client.close());
      await withTimeout(
        client.echo(new Uint8Array(PAYLOAD_BYTES)),
        PROBE_TIMEOUT_MS,
        "first echo to the Python protoipc server",
      );
      protoipc = client;
    } catch (error) {
      note("protoipc_python", error);
    }
  }

  const echoImplementations: EchoImplementation[] = [
    ...(protoipc === undefined ? [] : [{ name: "protoipc_python" as const, echo: protoipc.echo }]),
    ...(raw === undefined ? [] : [raw]),
  ];
  const lines = await runPythonServerUnaryEcho(echoImplementations, unavailable, ctx.echoOptions);
  for (const line of lines) emitLine(line);

  const floodUnavailable = new Map<string, string>();
  const reason = unavailable.get("protoipc_python");
  if (reason !== undefined) floodUnavailable.set("protoipc_python", reason);
  emitLine(
    await runProgressFlood(
      protoipc === undefined ? [] : [{ name: "protoipc_python", flood: protoipc.flood }],
      floodUnavailable,
      {
        count: FLOOD_COUNT,
        repetitions: ctx.repetitions,
        candidate: "protoipc_python",
        scenarioPrefix: "python_server_",
      },
    ),
  );
}

async function main(): Promise<void> {
  const durationMs = envNumber("BENCH_SECONDS", 3) * 1000;
  const warmupMs = envNumber("BENCH_WARMUP_SECONDS", 1) * 1000;
  const repetitions = Math.round(envNumber("BENCH_REPETITIONS", 3));
  const baselinesOnly = process.env.BENCH_BASELINES_ONLY === "1";
  log(
    `node ${process.version}, libzmq ${zmq.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}); ` +
      `${repetitions} runs of ${durationMs} ms per measurement, ${warmupMs} ms warm-up`,
  );

  // mkdtemp creates the directory 0700, so the sockets inside are private to this user.
  const dir = await mkdtemp(join(tmpdir(), "protoipc-bench-"));
  const servers: ServerProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  const unavailable = new Map<ImplementationName, string>();
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const close of closers.reverse()) {
        await close().catch((error: unknown) => log(`closing a client failed: ${String(error)}`));
      }
      await Promise.all(servers.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  // Ctrl-C: stop the children and remove the socket directory before exiting.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const rawAddresses = {
      echo: `ipc://${join(dir, "raw-echo.sock")}`,
      flood: `ipc://${join(dir, "raw-flood.sock")}`,
    };
    const grpcSocket = join(dir, "grpc.sock");
    const protoipcAddress = `ipc://${join(dir, "protoipc.sock")}`;

    const [rawServer, grpcServer] = await Promise.all([
      startServerProcess("raw-zeromq", [rawAddresses.echo, rawAddresses.flood]),
      startServerProcess("grpc", [grpcSocket]),
    ]);
    servers.push(rawServer, grpcServer);
    const raw = createRawZmqClient(rawAddresses);
    closers.push(() => raw.close());
    const grpc = createGrpcEchoClient(grpcSocket);
    closers.push(() => grpc.close());

    let protoipc: ProtoipcEchoClient | undefined;
    if (baselinesOnly) {
      unavailable.set("protoipc", "skipped: BENCH_BASELINES_ONLY=1");
    } else {
      try {
        // Imported late so the baselines still run while protoipc does not load.
        const { createProtoipcEchoClient } = await import("./protoipc-echo.js");
        servers.push(await startServerProcess("protoipc", [protoipcAddress]));
        const client = createProtoipcEchoClient(protoipcAddress);
        closers.push(() => client.close());
        await withTimeout(
          client.echo(new Uint8Array(PAYLOAD_BYTES)),
          PROBE_TIMEOUT_MS,
          "first protoipc echo",
        );
        protoipc = client;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        unavailable.set("protoipc", `unavailable: ${reason}`);
        log(`protoipc unavailable, running the baselines only: ${reason}`);
      }
    }

    const echoImplementations: EchoImplementation[] = [
      ...(protoipc === undefined ? [] : [{ name: "protoipc" as const, echo: protoipc.echo }]),
      { name: "raw_zeromq", echo: raw.echo },
      { name: "grpc_js", echo: grpc.echo },
    ];
    const echoOptions: UnaryEchoOptions = {
      payloadBytes: PAYLOAD_BYTES,
      concurrency: CONCURRENCY,
      durationMs,
      warmupMs,
      repetitions,
    };
    const lines = await runUnaryEcho(echoImplementations, unavailable, echoOptions);
    for (const line of lines) emitLine(line);

    const floodImplementations: FloodImplementation[] = [
      ...(protoipc === undefined ? [] : [{ name: "protoipc" as const, flood: protoipc.flood }]),
      { name: "raw_zeromq", flood: raw.flood },
    ];
    emitLine(
      await runProgressFlood(floodImplementations, unavailable, {
        count: FLOOD_COUNT,
        repetitions,
      }),
    );

    await runPythonScenarios({ dir, servers, closers, baselinesOnly, echoOptions, repetitions });

    // Generated validators vs @bufbuild/protovalidate, and what validation costs a unary call.
    const validation = await import("./scenarios/validation.js");
    const validationOptions = { durationMs, warmupMs, repetitions };
    for (const line of validation.runValidatorComparison(validationOptions)) emitLine(line);
    emitLine(await validation.runValidationOverhead(validationOptions));
    if (!baselinesOnly) {
      try {
        const { runRouterScenarios } = await import("./scenarios/router.js");
        await runRouterScenarios({
          dir,
          servers,
          closers,
          echoOptions,
          direct: protoipc === undefined ? undefined : { name: "protoipc", echo: protoipc.echo },
          raw: { name: "raw_zeromq", echo: raw.echo },
        });
      } catch (error) {
        log(`router scenarios failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      await runTaggedBindingScenarios({ dir, servers, closers, durationMs, warmupMs, repetitions });
    }
    // Issue 4: Unix-socket streams (native vs a raw Node echo and grpc-js; jsonrpc2 vs vscode-jsonrpc).
    const { runUnixScenarios } = await import("./scenarios/unix-streams.js");
    for (const l of await runUnixScenarios({
      dir,
      servers,
      closers,
      echoOptions,
      grpcEcho: grpc.echo,
    })) {
      emitLine(l);
    }

    // Issue 4: command frames (PoppoBuilder's wire), the poppo SDK vs a hand-written client.
    const { runCommandFrameScenario } = await import("./scenarios/command-frames.js");
    for (const l of await runCommandFrameScenario({ dir, servers, closers, echoOptions })) {
      emitLine(l);
    }
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

try {
  await main();
} catch (error) {
  log(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
}
