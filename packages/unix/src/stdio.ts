import type { ChildProcess } from "node:child_process";
import { Duplex, type Readable, type Writable } from "node:stream";
import { Code, IpcError } from "@protoipc/runtime";

/**
 * A duplex stream over a child process's stdio: reads its stdout, writes its stdin. Pass it as
 * `connect: () => childStdioDuplex(child)` to a stream client transport. The child must be
 * spawned with `stdio: ["pipe", "pipe", <anything>]`; the caller owns the child (closing the
 * transport ends its stdin, it does not kill it).
 *
 * @throws IpcError Code.InvalidArgument when the child has no piped stdin or stdout
 */
export function childStdioDuplex(child: ChildProcess): Duplex {
  if (child.stdin === null || child.stdout === null) {
    throw new IpcError("child process needs piped stdin and stdout", Code.InvalidArgument);
  }
  return stdioDuplex(child.stdout, child.stdin);
}

/**
 * A duplex stream over a separate readable and writable, e.g. this process's own
 * `process.stdin` / `process.stdout` when it is the child serving a parent.
 */
export function stdioDuplex(readable: Readable, writable: Writable): Duplex {
  return Duplex.from({ readable, writable });
}
