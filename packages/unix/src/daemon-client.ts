import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  type AnyMethodDescriptor,
  type ClientTransport,
  Code,
  createClient,
  IpcError,
} from "@protoipc/runtime";
import { ensurePrivateDir } from "./daemon-paths.js";
import { createStreamTransport, type StreamTransportOptions } from "./transport.js";

/** Default time a started daemon has to answer its health ping, in milliseconds: 5000 (crystalmath's). */
export const DEFAULT_STARTUP_TIMEOUT_MS = 5_000;
/** Default interval between health pings while a daemon starts, in milliseconds: 100. */
export const DEFAULT_STARTUP_POLL_MS = 100;

/** Options of {@link pingDaemon}. */
export interface PingDaemonOptions extends Omit<StreamTransportOptions, "endpoint" | "connect"> {
  /** The daemon's socket path. */
  readonly socketPath: string;
  /**
   * The health-check method: a unary method whose empty request the daemon answers, e.g.
   * `CrystalMathService.methods.systemPing`.
   */
  readonly pingMethod: AnyMethodDescriptor;
  /** Deadline of the ping, in milliseconds; default 1000. */
  readonly timeoutMs?: number;
}

/**
 * Health ping: calls `pingMethod` with an empty request on a fresh connection to `socketPath`
 * and resolves with its response.
 *
 * @throws IpcError Code.Unavailable when nothing listens on the path; the ping's own error else
 */
export async function pingDaemon(options: PingDaemonOptions): Promise<unknown> {
  const transport = createStreamTransport({ ...options, endpoint: { path: options.socketPath } });
  try {
    return await callPing(transport, options.pingMethod, options.timeoutMs ?? 1_000);
  } finally {
    await transport.close();
  }
}

function callPing(
  transport: ClientTransport,
  method: AnyMethodDescriptor,
  timeoutMs: number,
): Promise<unknown> {
  if (method.kind !== "unary") {
    return Promise.reject(
      new IpcError(`pingMethod ${method.path} must be unary`, Code.InvalidArgument),
    );
  }
  const client = createClient(method.service, transport) as Record<
    string,
    (req: object, opts: { timeoutMs: number }) => Promise<unknown>
  >;
  return client[method.localName]!({}, { timeoutMs });
}

/** Options of {@link connectDaemon}. */
export interface ConnectDaemonOptions extends PingDaemonOptions {
  /**
   * The command that starts the daemon, `[file, ...args]`, run detached (it outlives this
   * process) when nothing answers on the socket. Without it, `connectDaemon` only connects.
   */
  readonly command?: readonly string[];
  /** Environment of the started daemon; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the started daemon's stdout and stderr go; default `<socketPath>.log`. */
  readonly logPath?: string;
  /** How long the started daemon has to answer the ping, in milliseconds; default 5000. */
  readonly startupTimeoutMs?: number;
  /** Interval between pings while it starts, in milliseconds; default 100. */
  readonly pollIntervalMs?: number;
}

/** What {@link connectDaemon} returns. */
export interface DaemonConnection {
  /** A client transport to the daemon; the caller closes it. */
  readonly transport: ClientTransport;
  /** The pid of the daemon this call started, or `undefined` when one was already running. */
  readonly startedPid: number | undefined;
}

function tail(path: string, maxBytes = 2048): string {
  try {
    const text = readFileSync(path, "utf8");
    return text.slice(-maxBytes).trim();
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects to a local daemon, starting it first when nothing answers (the crystalmath client's
 * auto-start, PROTOCOLS.md §3): pings `socketPath`; when that fails with `Unavailable` and
 * `command` is given, spawns it detached (output to `logPath`), then pings every
 * `pollIntervalMs` until it answers or `startupTimeoutMs` passes. Two clients starting the same
 * daemon at once are safe: the second daemon finds the first's socket live and exits.
 *
 * @throws IpcError Code.Unavailable when nothing answers and there is no `command`, when the
 *   started command exits before answering (naming the command, its exit code and the tail of
 *   its output), or does not answer within `startupTimeoutMs` (naming the command)
 */
export async function connectDaemon(options: ConnectDaemonOptions): Promise<DaemonConnection> {
  const open = () => createStreamTransport({ ...options, endpoint: { path: options.socketPath } });
  const pingMs = options.timeoutMs ?? 1_000;
  const first = open();
  try {
    await callPing(first, options.pingMethod, pingMs);
    return { transport: first, startedPid: undefined };
  } catch (e) {
    await first.close();
    const err = IpcError.from(e);
    if (err.code !== Code.Unavailable || options.command === undefined) throw err;
  }
  const [file, ...args] = options.command;
  if (file === undefined) throw new IpcError("command is empty", Code.InvalidArgument);
  const shown = options.command.join(" ");
  await ensurePrivateDir(dirname(options.socketPath));
  const logPath = options.logPath ?? `${options.socketPath}.log`;
  const fd = openSync(logPath, "a", 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const child = spawn(file, args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: options.env ?? process.env,
  });
  closeSync(fd);
  child.once("error", (e) => {
    spawnError = e;
  });
  child.once("exit", (code, signal) => {
    exited = { code, signal };
  });
  child.unref();
  const deadline = Date.now() + (options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
  const pollMs = options.pollIntervalMs ?? DEFAULT_STARTUP_POLL_MS;
  for (;;) {
    if (spawnError !== undefined) {
      throw new IpcError(`cannot start daemon ${shown}: ${spawnError.message}`, Code.Unavailable, {
        cause: spawnError,
      });
    }
    const t = open();
    try {
      await callPing(t, options.pingMethod, Math.max(1, Math.min(pingMs, deadline - Date.now())));
      return { transport: t, startedPid: child.pid };
    } catch (e) {
      await t.close();
      const err = IpcError.from(e);
      if (err.code !== Code.Unavailable && err.code !== Code.DeadlineExceeded) throw err;
    }
    if (exited !== undefined) {
      const out = tail(logPath);
      throw new IpcError(
        `daemon ${shown} exited with ${exited.code === null ? `signal ${exited.signal}` : `code ${exited.code}`} before answering ${options.pingMethod.wireName ?? options.pingMethod.path}${out ? `; its output ends: ${out}` : ""}`,
        Code.Unavailable,
      );
    }
    if (Date.now() >= deadline) {
      const out = tail(logPath);
      throw new IpcError(
        `daemon ${shown} did not answer ${options.pingMethod.wireName ?? options.pingMethod.path} within startupTimeoutMs ${options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS}${out ? `; its output ends: ${out}` : ""}`,
        Code.Unavailable,
      );
    }
    await sleep(pollMs);
  }
}
