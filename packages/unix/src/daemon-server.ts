import { lstat, unlink } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { dirname } from "node:path";
import {
  Code,
  type Dispatcher,
  IpcError,
  type ServerFrameChannel,
  type ServerTransport,
} from "@protoipc/runtime";
import lockfile from "proper-lockfile";
import { type DaemonPathOptions, daemonSocketPath, ensurePrivateDir } from "./daemon-paths.js";
import { createStreamServerChannel } from "./stream-server-channel.js";
import {
  defaultFramer,
  type StreamBinding,
  type StreamServerTransportOptions,
  serverTransportFor,
} from "./transport.js";

/** Default time a probe connect to an existing socket may take, in milliseconds: 1000. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;

/** How long another process may hold the reclaim lock before it counts as stale (proper-lockfile's minimum). */
const LOCK_STALE_MS = 5_000;

/**
 * Whether something accepts connections on the Unix socket at `path`: `"live"` (a connect
 * succeeded), `"stale"` (a socket file nobody listens on: ECONNREFUSED), `"absent"` (no file).
 * A probe that neither connects nor fails within `timeoutMs` counts as live (a busy server is
 * never stolen from).
 *
 * @throws IpcError Code.FailedPrecondition when `path` exists but is not a socket
 */
export async function probeSocket(
  path: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<"live" | "stale" | "absent"> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) {
      throw new IpcError(
        `${path} exists and is not a socket; refusing to remove it`,
        Code.FailedPrecondition,
      );
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw e;
  }
  return new Promise((resolve) => {
    const socket = netConnect({ path });
    const done = (state: "live" | "stale" | "absent") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done("live"), timeoutMs);
    socket.once("connect", () => done("live"));
    socket.once("error", (e: NodeJS.ErrnoException) =>
      done(e.code === "ENOENT" ? "absent" : e.code === "ECONNREFUSED" ? "stale" : "live"),
    );
  });
}

/**
 * Prepares a daemon's socket path for listening: makes its directory private (0700), takes the
 * reclaim lock `<path>.lock` (proper-lockfile; Python's `protoipc.unix.daemon` takes the same
 * lock), probes the path, removes a stale socket file nobody answers on, then runs `listen`
 * while still holding the lock, so two servers starting at once cannot both reclaim and bind.
 * A live server's socket is never removed.
 *
 * @throws IpcError Code.AlreadyExists when a server answers on `path`
 * @throws IpcError Code.FailedPrecondition when `path` exists and is not a socket
 * @throws IpcError Code.PermissionDenied when the directory is not private (see ensurePrivateDir)
 * @throws IpcError Code.Unavailable when the lock stays taken (another server is starting)
 */
export async function reclaimAndListen<T>(
  path: string,
  listen: () => Promise<T>,
  probeTimeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<T> {
  await ensurePrivateDir(dirname(path));
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      lockfilePath: `${path}.lock`,
      realpath: false,
      stale: LOCK_STALE_MS,
      retries: { retries: 40, minTimeout: 25, maxTimeout: 250 },
    });
  } catch (e) {
    throw new IpcError(
      `cannot take the lock ${path}.lock: ${(e as Error).message}`,
      Code.Unavailable,
      { cause: e },
    );
  }
  try {
    const state = await probeSocket(path, probeTimeoutMs);
    if (state === "live") {
      throw new IpcError(`a server is already listening on ${path}`, Code.AlreadyExists);
    }
    if (state === "stale") await unlink(path).catch(() => undefined);
    return await listen();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Options of {@link createDaemonServerTransport}. */
export interface DaemonServerTransportOptions
  extends Omit<StreamServerTransportOptions, "endpoint">,
    Partial<DaemonPathOptions> {
  /** The socket path; default {@link daemonSocketPath} of `app`. One of `socketPath` and `app` is required. */
  readonly socketPath?: string;
  /**
   * Milliseconds without any connection after which `inactive` resolves (the owner then closes
   * the server and exits); 0 (default) never. The timer starts when listening and restarts
   * whenever the last connection closes.
   */
  readonly inactivityTimeoutMs?: number;
  /** Milliseconds a probe connect to an existing socket may take; default 1000. */
  readonly probeTimeoutMs?: number;
}

/** A {@link ServerTransport} for a daemon: its socket path, and when it went idle. */
export interface DaemonServerTransport extends ServerTransport {
  /** The Unix socket path served. */
  readonly socketPath: string;
  /** Resolves once no client has been connected for `inactivityTimeoutMs` (never when 0). */
  readonly inactive: Promise<void>;
}

/**
 * A server transport for a local daemon: listens on `$XDG_RUNTIME_DIR/<app>/<app>.sock` (or
 * `socketPath`) in a private directory, with the socket file 0600, after reclaiming a stale
 * socket safely ({@link reclaimAndListen}: lock, probe, unlink only if nothing answers, listen).
 * `inactive` resolves after `inactivityTimeoutMs` without clients.
 *
 * Speaks `binding` (default native) with its default framer, like `createStreamServerTransport`.
 * `listen` rejects with `Code.AlreadyExists` when another server answers on the path.
 *
 * @throws IpcError Code.InvalidArgument when neither `socketPath` nor `app` is given, or the path is too long
 */
export function createDaemonServerTransport(
  options: DaemonServerTransportOptions,
): DaemonServerTransport {
  let socketPath = options.socketPath;
  if (socketPath === undefined) {
    if (options.app === undefined) {
      throw new IpcError("give socketPath or app", Code.InvalidArgument);
    }
    socketPath = daemonSocketPath({ ...options, app: options.app });
  }
  const binding: StreamBinding = options.binding ?? "native";
  const idleMs = options.inactivityTimeoutMs ?? 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveInactive!: () => void;
  const inactive = new Promise<void>((resolve) => {
    resolveInactive = resolve;
  });
  const arm = () => {
    if (idleMs <= 0) return;
    clearTimeout(timer);
    timer = setTimeout(resolveInactive, idleMs);
  };
  const channel = createStreamServerChannel({
    endpoint: { path: socketPath },
    framer: options.framer ?? defaultFramer(binding),
    ...(options.socketMode === undefined ? {} : { socketMode: options.socketMode }),
    onConnection: (peer) => {
      clearTimeout(timer);
      options.onConnection?.(peer);
    },
    onDisconnect: (peer) => {
      if (channel.peerCount === 0) arm();
      options.onDisconnect?.(peer);
    },
  });
  const guarded: ServerFrameChannel = {
    maxFrameBytes: channel.maxFrameBytes,
    start: (handlers) =>
      reclaimAndListen(socketPath, () => channel.start(handlers), options.probeTimeoutMs).then(arm),
    send: (peer, frame) => channel.send(peer, frame),
    close: () => {
      clearTimeout(timer);
      return channel.close();
    },
  };
  const inner = serverTransportFor(binding, guarded, options);
  return {
    socketPath,
    inactive,
    listen: (dispatcher: Dispatcher) => inner.listen(dispatcher),
    close: () => inner.close(),
  };
}
