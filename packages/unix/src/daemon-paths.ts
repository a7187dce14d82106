import { lstat, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, IpcError } from "@protoipc/runtime";
import { assertSocketPath } from "./endpoint.js";

/** Options of {@link daemonSocketPath}. */
export interface DaemonPathOptions {
  /** The application's name: the directory and, by default, the socket's base name. */
  readonly app: string;
  /** File name of the socket in the directory; default `<app>.sock`. */
  readonly socketName?: string;
  /** The environment to read `XDG_RUNTIME_DIR` from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * The directory a daemon's socket lives in: `$XDG_RUNTIME_DIR/<app>` (the XDG Base Directory
 * spec's per-user runtime directory, itself 0700), or, when `XDG_RUNTIME_DIR` is unset or not
 * absolute, `<os.tmpdir()>/<app>-<uid>` (a per-user directory made 0700 and checked for owner
 * and mode by {@link ensurePrivateDir}, so another user cannot plant a socket there).
 *
 * @throws IpcError Code.InvalidArgument when `app` is empty or contains a path separator
 */
export function daemonDir(options: DaemonPathOptions): string {
  const { app } = options;
  if (app === "" || /[/\\]/.test(app) || app === "." || app === "..") {
    throw new IpcError(
      `app name ${JSON.stringify(app)} is empty or not a single path segment`,
      Code.InvalidArgument,
    );
  }
  const xdg = (options.env ?? process.env).XDG_RUNTIME_DIR;
  if (xdg?.startsWith("/")) return join(xdg, app);
  return join(tmpdir(), `${app}-${currentUid()}`);
}

/**
 * The socket path of a daemon: `<daemonDir>/<app>.sock`, checked against the platform's
 * socket-path limit (108 bytes with the NUL on Linux).
 *
 * @throws IpcError Code.InvalidArgument when the path is too long (naming its length and the limit)
 */
export function daemonSocketPath(options: DaemonPathOptions): string {
  const path = join(daemonDir(options), options.socketName ?? `${options.app}.sock`);
  assertSocketPath(path);
  return path;
}

/**
 * Makes sure `dir` is a private directory of this user: creates it (and missing parents) with
 * mode 0700 if absent, then checks that it is a real directory (not a symlink), owned by this
 * user, with no permissions for group or others.
 *
 * @throws IpcError Code.PermissionDenied when it is a symlink or not a directory, owned by
 *   another user, or open to group or others (naming the mode)
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new IpcError(`${dir} is not a directory (symlinks are refused)`, Code.PermissionDenied);
  }
  const uid = currentUid();
  if (process.platform !== "win32" && st.uid !== uid) {
    throw new IpcError(
      `${dir} is owned by uid ${st.uid}, not by uid ${uid}`,
      Code.PermissionDenied,
    );
  }
  const mode = st.mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new IpcError(
      `${dir} has mode 0${mode.toString(8)}; a socket directory must be 0700`,
      Code.PermissionDenied,
    );
  }
}
