import { Buffer } from "node:buffer";
import { connect as netConnect, type Socket } from "node:net";
import { Code, IpcError } from "@protoipc/runtime";

/**
 * Where a stream transport connects or listens:
 * - `{ path }`: a Unix domain socket file, or on Windows a named pipe (`\\.\pipe\name`);
 * - `{ host, port }`: TCP (`port` 0 when listening picks a free one).
 */
export type StreamEndpoint =
  | { readonly path: string }
  | { readonly host: string; readonly port: number };

/**
 * Longest Unix socket path, in bytes, the platform accepts: `sun_path` holds 108 bytes on Linux
 * and 104 on macOS and the BSDs, including the terminating NUL.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === "linux" ? 107 : 103;

/** True for a Windows named pipe path, `\\.\pipe\name` or `\\?\pipe\name`. */
export function isNamedPipePath(path: string): boolean {
  return /^[\\/]{2}[.?][\\/]pipe[\\/]/i.test(path);
}

/**
 * The named pipe path for `name` on Windows, `\\.\pipe\<name>`.
 *
 * @throws IpcError Code.InvalidArgument when `name` is empty or contains a backslash
 */
export function namedPipePath(name: string): string {
  if (name === "" || name.includes("\\")) {
    throw new IpcError(
      `named pipe name ${JSON.stringify(name)} is empty or has a backslash`,
      Code.InvalidArgument,
    );
  }
  return `\\\\.\\pipe\\${name}`;
}

/**
 * Checks that `path` can be used as a socket path here: a named pipe path only on Windows (Node
 * supports named pipes only there), a Unix socket path no longer than
 * {@link MAX_SOCKET_PATH_BYTES} bytes of UTF-8.
 *
 * @throws IpcError Code.InvalidArgument when the path is empty, too long, or a named pipe path
 *   off Windows
 */
export function assertSocketPath(path: string, platform: NodeJS.Platform = process.platform): void {
  if (path === "") throw new IpcError("socket path is empty", Code.InvalidArgument);
  if (isNamedPipePath(path)) {
    if (platform !== "win32") {
      throw new IpcError(
        `named pipe ${path} is only supported on windows, not on ${platform}`,
        Code.InvalidArgument,
      );
    }
    return;
  }
  if (platform === "win32") return; // AF_UNIX on Windows: the OS reports its own limit
  const limit = platform === "linux" ? 107 : 103;
  const bytes = Buffer.byteLength(path, "utf8");
  if (bytes > limit) {
    throw new IpcError(
      `socket path of ${bytes} bytes exceeds the limit of ${limit} bytes (${path})`,
      Code.InvalidArgument,
    );
  }
}

/** A readable description of an endpoint for error messages: `unix:/run/x.sock`, `tcp:127.0.0.1:80`. */
export function describeEndpoint(endpoint: StreamEndpoint): string {
  return "path" in endpoint
    ? `${isNamedPipePath(endpoint.path) ? "pipe" : "unix"}:${endpoint.path}`
    : `tcp:${endpoint.host}:${endpoint.port}`;
}

/**
 * Opens a connection to `endpoint`; resolves once connected. The caller owns the socket.
 *
 * @throws IpcError Code.Unavailable when nothing listens there (ENOENT, ECONNREFUSED, ...)
 * @throws IpcError Code.InvalidArgument when the path is invalid (see {@link assertSocketPath})
 */
export function connectEndpoint(endpoint: StreamEndpoint): Promise<Socket> {
  if ("path" in endpoint) assertSocketPath(endpoint.path);
  return new Promise((resolve, reject) => {
    const socket =
      "path" in endpoint
        ? netConnect({ path: endpoint.path })
        : netConnect({ host: endpoint.host, port: endpoint.port });
    const onError = (e: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(
        new IpcError(
          `cannot connect to ${describeEndpoint(endpoint)}: ${e.code ?? e.message}`,
          Code.Unavailable,
          { cause: e },
        ),
      );
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      if ("host" in endpoint) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
