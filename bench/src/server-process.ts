/**
 * Runs a benchmark server in a child process, so client and server each get a core, as in a real
 * two-process deployment.
 *
 * - A TypeScript child is a tsx entry under `servers/` ({@link startServerProcess}); it reports
 *   readiness over the IPC channel (see {@link runServerChild}) and exits when the parent sends a
 *   stop message or disconnects.
 * - A Python child is a script under `bench/python/` run with the repository's venv
 *   ({@link startPythonServerProcess}); it prints `ready` on stdout once bound, exits on SIGTERM,
 *   and, started with `--exit-with-parent`, when its stdin pipe closes, i.e. when this process
 *   is gone (see bench/python/bench_child.py).
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Messages between the parent and a server child. */
type ChildMessage =
  | { readonly type: "ready" }
  | { readonly type: "error"; readonly message: string };

/** Time a child may take to bind and report ready, in milliseconds. */
const READY_TIMEOUT_MS = 30_000;
/** Time a child may take to exit after a stop message before it is killed, in milliseconds. */
const STOP_TIMEOUT_MS = 5_000;

/** A server child process; the caller stops it. */
export interface ServerProcess {
  /** The entry's name, for messages. */
  readonly name: string;
  /** Asks the child to close its server and exit; kills it if it has not exited after 5 s. */
  stop(): Promise<void>;
  /** The TypeScript child, for scenarios that talk to it over its IPC channel. */
  readonly child?: ChildProcess;
}

/**
 * Forks `servers/<entry>.ts` with `args` and resolves once it reported ready.
 *
 * @throws Error when the child fails to start, reports an error, or is not ready within 30 s
 */
export async function startServerProcess(
  entry: string,
  args: readonly string[],
): Promise<ServerProcess> {
  const script = fileURLToPath(new URL(`./servers/${entry}.ts`, import.meta.url));
  // Load tsx explicitly (not through the inherited execArgv) so the child runs TypeScript the
  // same way whatever started the parent. `--cpu-prof*` flags are passed on, so profiling the
  // benchmark (`node --cpu-prof --import tsx src/…`) profiles its servers too.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const child = fork(script, [...args], {
    execArgv: ["--import", tsx, ...process.execArgv.filter((a) => a.startsWith("--cpu-prof"))],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    await waitReady(entry, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { name: entry, stop: () => stopChild(child), child };
}

function waitReady(entry: string, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`server ${entry} not ready after ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onMessage = (message: ChildMessage) => {
      done();
      if (message.type === "ready") resolve();
      else reject(new Error(`server ${entry} failed: ${message.message}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`server ${entry} exited before ready (code ${code}, signal ${signal})`));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.send({ type: "stop" });
  else child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The repository root (this file is bench/src/server-process.ts). */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The Python interpreter of the Python servers: `BENCH_PYTHON` when set, else the repository's
 * venv (`.venv/bin/python`, created by `pnpm install`).
 */
export function pythonInterpreter(): string {
  const override = process.env.BENCH_PYTHON;
  return override !== undefined && override !== "" ? override : `${REPO_ROOT}.venv/bin/python`;
}

/**
 * Runs `bench/python/<script>` with {@link pythonInterpreter}, `PYTHONPATH=bench/python` (paths
 * from the repository root, whatever the current directory) and `args` plus `--exit-with-parent`,
 * and resolves once it printed `ready` on stdout. Its other stdout lines go to stderr (stdout is
 * the benchmark's JSON lines); its stderr is inherited.
 *
 * The returned {@link ServerProcess}'s `stop()` sends SIGTERM and kills the child if it has not
 * exited after 5 s, as for a TypeScript child.
 *
 * @throws Error when the child cannot start, exits before `ready`, or is not ready within 30 s
 */
export async function startPythonServerProcess(
  script: string,
  args: readonly string[],
): Promise<ServerProcess> {
  const pythonDir = `${REPO_ROOT}bench/python`;
  const inherited = process.env.PYTHONPATH;
  const child = spawn(
    pythonInterpreter(),
    [`${pythonDir}/${script}`, ...args, "--exit-with-parent"],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PYTHONPATH:
          inherited === undefined || inherited === "" ? pythonDir : `${pythonDir}:${inherited}`,
        // Unbuffered output, so `ready` and any error reach the parent at once.
        PYTHONUNBUFFERED: "1",
      },
      // stdin: a pipe the child only watches for end of file (the parent is gone).
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  // Never written to; an EPIPE once the child is gone is of no interest.
  child.stdin?.on("error", () => {});
  try {
    await waitReadyLine(script, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    name: script,
    async stop() {
      await stopChild(child);
      child.stdin?.destroy();
    },
  };
}

/**
 * Resolves once `child` printed the line `ready` on stdout; every other stdout line, before and
 * after, is copied to stderr with the script's name.
 */
function waitReadyLine(script: string, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdout = child.stdout;
    if (stdout === null) {
      reject(new Error(`server ${script}: no stdout pipe`));
      return;
    }
    let ready = false;
    const lines = createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY });
    const timer = setTimeout(() => {
      done();
      reject(new Error(`server ${script} not ready after ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onLine = (line: string) => {
      if (!ready && line.trim() === "ready") {
        ready = true;
        done();
        resolve();
      } else {
        process.stderr.write(`[${script}] ${line}\n`);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`server ${script} exited before ready (code ${code}, signal ${signal})`));
    };
    // Kept for the child's lifetime: an "error" event without a listener would crash the bench.
    const onError = (error: Error) => {
      if (ready) {
        process.stderr.write(`[${script}] child process error: ${error.message}\n`);
        return;
      }
      done();
      reject(new Error(`server ${script} could not start: ${error.message}`));
    };
    const done = () => {
      clearTimeout(timer);
      child.off("exit", onExit);
    };
    lines.on("line", onLine);
    child.once("exit", onExit);
    child.on("error", onError);
  });
}

/**
 * Child side: starts a server with `start`, reports ready (or the error) to the parent, and on
 * the parent's stop message or disconnect closes it and lets the process exit.
 */
export async function runServerChild(
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  const send = (message: ChildMessage) => process.send?.(message);
  let server: { close(): Promise<void> };
  try {
    server = await start();
  } catch (error) {
    send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
    return;
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.close();
    } catch (error) {
      console.error("server close failed:", error);
      process.exitCode = 1;
    }
    if (process.connected) process.disconnect();
  };
  process.on("message", (message: { type?: string }) => {
    if (message.type === "stop") void stop();
  });
  process.on("disconnect", () => void stop());
  send({ type: "ready" });
}
