import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Which pixels backend a server process runs: `"python"`, the Python package in `backend-py/`
 * built on the generated Python stubs (the demo's default, the shape of this project's users), or
 * `"ts"`, the TypeScript backend in `src/backend.ts` served by `src/server.ts`.
 */
export type BackendKind = "python" | "ts";

/** Every {@link BackendKind}, for argument parsing. */
export const BACKEND_KINDS: readonly BackendKind[] = ["python", "ts"];

/** How the demo names a backend in its output: `python backend`, `typescript backend`. */
export function backendLabel(backend: BackendKind): string {
  return backend === "python" ? "python backend" : "typescript backend";
}

/** The repository root (this file is `examples/pixels-demo/src/server-process.ts`). */
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** How a child process ended. */
interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** The endpoint the server binds, e.g. `ipc:///tmp/protoipc-demo-x/pixels.sock`. */
  readonly bind: string;
  /** Directory the server writes images to. */
  readonly outDir: string;
  /**
   * When set, the server speaks the tagged binding (the dgx-pixels wire) and publishes progress
   * on this endpoint; otherwise the native binding.
   */
  readonly updates?: string;
  /** Which backend to run; default `"python"`. */
  readonly backend?: BackendKind;
  /**
   * The Python interpreter for the Python backend; default {@link venvPython}, the repository's
   * `.venv`, where `pnpm install` installs `pixels_demo_backend` and its dependencies.
   */
  readonly python?: string;
  /** How long the server may take to print `ready`, in milliseconds; default 15 000. */
  readonly startupTimeoutMs?: number;
  /** How long the server may take to exit after SIGTERM, in milliseconds; default 8 000. */
  readonly shutdownTimeoutMs?: number;
}

/** A running server child process. */
export interface ServerProcess {
  /** Which backend it runs. */
  readonly backend: BackendKind;
  /** The command line that started it, for messages. */
  readonly command: string;
  /** Everything it wrote to stderr (its job log), and to stdout besides `ready`, line by line. */
  readonly log: readonly string[];
  /**
   * Sends SIGTERM and waits for the process to exit; sends SIGKILL when it takes longer than
   * `shutdownTimeoutMs`. Idempotent.
   *
   * @throws Error when the process had to be killed or exited with a non-zero code
   */
  stop(): Promise<void>;
}

/**
 * The command that runs a TypeScript file of this package in a new Node process: the running
 * Node with the tsx loader (`node --import <tsx> file.ts`), so it works without a build step and
 * wherever the caller's working directory is.
 */
export function tsCommand(file: URL, args: readonly string[]): { command: string; args: string[] } {
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { command: process.execPath, args: ["--import", tsxLoader, fileURLToPath(file), ...args] };
}

/** The Python interpreter of the repository's virtual environment, `.venv` at the root. */
export function venvPython(): string {
  return process.platform === "win32"
    ? path.join(REPO_ROOT, ".venv", "Scripts", "python.exe")
    : path.join(REPO_ROOT, ".venv", "bin", "python");
}

/**
 * The command that runs the server process of `backend` with `args`: `python -m
 * pixels_demo_backend ...` (`python` defaults to {@link venvPython}) or `src/server.ts` through
 * {@link tsCommand}. Both take `--bind <endpoint> --out <dir>` and print `ready <endpoint>`.
 */
export function serverCommand(
  backend: BackendKind,
  args: readonly string[],
  python: string = venvPython(),
): { command: string; args: string[] } {
  return backend === "python"
    ? { command: python, args: ["-m", "pixels_demo_backend", ...args] }
    : tsCommand(new URL("./server.ts", import.meta.url), args);
}

/**
 * Starts the server process of `options.backend` (default: the Python backend) and resolves
 * once it prints `ready <endpoint>`, i.e. once it is listening. The caller owns the process: call
 * `stop()`.
 *
 * @throws Error naming the command when the Python interpreter is missing (run `pnpm install`),
 *   when the process cannot start, exits before it is ready, or is not ready within
 *   `startupTimeoutMs` (it is killed then)
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const backend = options.backend ?? "python";
  const startupTimeoutMs = options.startupTimeoutMs ?? 15_000;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8_000;
  const { command, args } = serverCommand(
    backend,
    [
      "--bind",
      options.bind,
      "--out",
      options.outDir,
      ...(options.updates === undefined ? [] : ["--updates", options.updates]),
    ],
    options.python,
  );
  const commandLine = [command, ...args]
    .map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))
    .join(" ");
  if (backend === "python" && !existsSync(command)) {
    throw new Error(
      `cannot start the python backend: ${command} does not exist; run pnpm install to create .venv (command: ${commandLine})`,
    );
  }
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    // Python buffers a piped stdout; the log lines should arrive as they happen.
    env: backend === "python" ? { ...process.env, PYTHONUNBUFFERED: "1" } : process.env,
  });
  const log: string[] = [];
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A process that could not be spawned never emits "exit".
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  createInterface({ input: child.stderr! }).on("line", (line) => log.push(line));

  const ready = new Promise<void>((resolve, reject) => {
    const stdout = createInterface({ input: child.stdout! });
    let isReady = false;
    stdout.on("line", (line) => {
      if (!isReady && line === `ready ${options.bind}`) {
        isReady = true;
        resolve();
      } else {
        log.push(line);
      }
    });
    child.once("error", (e) =>
      reject(new Error(`cannot start the server (${commandLine}): ${e.message}`)),
    );
    void exited.then(({ code, signal }) => {
      if (isReady) return;
      const how = signal === null ? `with code ${code}` : `on ${signal}`;
      // The venv exists but lacks the package: say how to get it.
      const hint = log.some((l) => l.includes("No module named"))
        ? "\n  run pnpm install to install the python backend into .venv"
        : "";
      reject(
        new Error(
          `the server exited ${how} before it was ready: ${commandLine}${tail(log)}${hint}`,
        ),
      );
    });
  });

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `the server did not print "ready ${options.bind}" within ${startupTimeoutMs} ms: ${commandLine}${tail(log)}`,
        ),
      );
    }, startupTimeoutMs);
  });
  try {
    await Promise.race([ready, deadline]);
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
  }

  let stopped: Promise<void> | undefined;
  return {
    backend,
    command: commandLine,
    log,
    stop() {
      stopped ??= stopChild(child, exited, shutdownTimeoutMs);
      return stopped;
    },
  };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<ExitStatus>,
  timeoutMs: number,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const outcome = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (outcome === undefined) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM; killed it`);
  }
  if (outcome.code !== 0) {
    const how = outcome.signal === null ? `with code ${outcome.code}` : `on ${outcome.signal}`;
    throw new Error(`the server exited ${how} after SIGTERM`);
  }
}

/** The last lines of a log, indented, for an error message. */
function tail(log: readonly string[]): string {
  if (log.length === 0) return "";
  return `\n  server output:\n${log
    .slice(-20)
    .map((l) => `    ${l}`)
    .join("\n")}`;
}
