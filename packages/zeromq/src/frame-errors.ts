import { Code, IpcError } from "@protoipc/runtime";

/** Most bytes of a refused frame handed to `onFrameError` as its head. */
export const FRAME_HEAD_BYTES = 64;

/** `Code.ResourceExhausted`: `frame of N bytes exceeds maxFrameBytes M`. */
export function frameTooLargeError(bytes: number, maxFrameBytes: number): IpcError {
  return new IpcError(
    `frame of ${bytes} bytes exceeds maxFrameBytes ${maxFrameBytes}`,
    Code.ResourceExhausted,
  );
}

/** `Code.InvalidArgument`: a ZeroMQ message whose part count is not the expected one. */
export function partCountError(parts: number, expected: number, layout: string): IpcError {
  return new IpcError(
    `message of ${parts} parts, expected ${expected} (${layout})`,
    Code.InvalidArgument,
  );
}

/** `Code.Unavailable`: the channel was closed. */
export function channelClosedError(what: string): IpcError {
  return new IpcError(`${what} is closed`, Code.Unavailable);
}

/**
 * A copy of the first {@link FRAME_HEAD_BYTES} bytes of `frame`, so a refused frame's large
 * buffer is not kept alive by its head.
 */
export function frameHead(frame: Uint8Array | undefined): Uint8Array {
  if (frame === undefined) return new Uint8Array(0);
  // Not frame.slice(): on a Buffer, slice() is a view that would pin the whole frame.
  const head = new Uint8Array(Math.min(frame.byteLength, FRAME_HEAD_BYTES));
  head.set(frame.subarray(0, head.byteLength));
  return head;
}

/** The errno name zeromq.js puts on its errors (`EAGAIN`, `EHOSTUNREACH`, ...), if any. */
export function zmqErrorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** A zeromq.js error as lowercase text with its errno name: `address already in use (EADDRINUSE)`. */
export function describeZmqError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = zmqErrorCode(error);
  const text = message.charAt(0).toLowerCase() + message.slice(1);
  return code === undefined || text.includes(code) ? text : `${text} (${code})`;
}
