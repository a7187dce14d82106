import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

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
  /** How long the server may take to print `ready`, in milliseconds; default 15 000. */
  readonly startupTimeoutMs?: number;
  /** How long the server may take to exit after SIGTERM, in milliseconds; default 8 000. */
  readonly shutdownTimeoutMs?: number;
}

/** A running server child process. */
export interface ServerProcess {
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

/**
 * Starts `src/server.ts` as a child process and resolves once it prints `ready <endpoint>`, i.e.
 * once it is listening. The caller owns the process: call `stop()`.
 *
 * @throws Error naming the command when the process cannot start, exits before it is ready, or is
 *   not ready within `startupTimeoutMs` (it is killed then)
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const startupTimeoutMs = options.startupTimeoutMs ?? 15_000;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8_000;
  const { command, args } = tsCommand(new URL("./server.ts", import.meta.url), [
    "--bind",
    options.bind,
    "--out",
    options.outDir,
  ]);
  const commandLine = [command, ...args]
    .map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))
    .join(" ");
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
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
      reject(new Error(`the server exited ${how} before it was ready: ${commandLine}${tail(log)}`));
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
