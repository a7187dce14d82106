import type { Duplex } from "node:stream";
import { Code, IpcError } from "@protoipc/runtime";
import type { FrameDecoder, Framer } from "./framer.js";

/** What a {@link FramedConnection} reports. */
export interface FramedConnectionHandlers {
  /** One whole frame, in arrival order. It may be a view into a larger buffer. */
  onFrame(frame: Uint8Array): void;
  /**
   * The byte stream could not be framed (malformed header, declared length over the limit). The
   * connection stops reading; the handler may still `send` a last error frame, then it closes.
   */
  onFrameError(error: IpcError): void;
  /** The connection closed (either side, or an I/O error, given as `error`). Called once. */
  onClose(error: IpcError | undefined): void;
}

const RESOLVED = Promise.resolve();

/**
 * One byte stream (socket, pipe, stdio pair) cut into frames by a {@link Framer}: one reader
 * (the stream's `data` events through one decoder) and one writer (the stream's own buffer;
 * frames queued in the same tick are written together with one `writev`).
 *
 * Backpressure: `send` resolves at once while the stream's buffer is under its high-water mark,
 * else when it drains. The connection owns the stream and destroys it in `close`.
 */
export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private closed = false;
  private corked = false;
  private drained: Promise<void> | undefined;
  private closeError: IpcError | undefined;
  private readonly closedPromise: Promise<void>;

  constructor(
    readonly stream: Duplex,
    readonly framer: Framer,
    private readonly handlers: FramedConnectionHandlers,
    /** Names the connection in error messages, e.g. `unix:/run/app/app.sock`. */
    readonly description: string,
  ) {
    this.decoder = framer.createDecoder();
    stream.on("data", (chunk: Uint8Array) => this.onData(chunk));
    this.closedPromise = new Promise((resolve) => {
      stream.once("close", () => {
        this.closed = true;
        this.handlers.onClose(this.closeError);
        resolve();
      });
    });
    stream.on("error", (e: NodeJS.ErrnoException) => {
      this.closeError ??= new IpcError(
        `connection ${description} failed: ${e.code ?? e.message}`,
        Code.Unavailable,
        { cause: e },
      );
      this.closed = true;
      this.stream.destroy();
    });
    // A peer that half-closes is done with us: close our side too.
    stream.once("end", () => this.stream.end());
  }

  /** Whether the connection is closed or closing. */
  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.stream.pause();
      this.stream.removeAllListeners("data");
      this.handlers.onFrameError(IpcError.from(e, Code.InvalidArgument));
      // Let a last error frame written by the handler leave before closing.
      this.stream.end();
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.handlers.onFrame(frame);
    }
  }

  /**
   * Queues one frame. Resolves once the stream accepted it, waiting while its buffer is over
   * the high-water mark. Do not modify `payload` afterwards (it is written without a copy).
   *
   * @throws IpcError Code.ResourceExhausted when `payload` exceeds the framer's `maxFrameBytes`
   * @throws IpcError Code.Unavailable when the connection is closed
   */
  send(payload: Uint8Array): Promise<void> {
    if (this.closed || this.stream.writableEnded) {
      return Promise.reject(
        this.closeError ??
          new IpcError(`connection ${this.description} is closed`, Code.Unavailable),
      );
    }
    let chunks: Uint8Array[];
    try {
      chunks = this.framer.encode(payload);
    } catch (e) {
      return Promise.reject(IpcError.from(e, Code.ResourceExhausted));
    }
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    let ok = true;
    for (const c of chunks) ok = this.stream.write(c);
    if (ok && this.drained === undefined) return RESOLVED;
    this.drained ??= new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(
          this.closeError ??
            new IpcError(`connection ${this.description} closed`, Code.Unavailable),
        );
      };
      const cleanup = () => {
        this.drained = undefined;
        this.stream.off("drain", onDrain);
        this.stream.off("close", onClose);
      };
      this.stream.once("drain", onDrain);
      this.stream.once("close", onClose);
    });
    return this.drained;
  }

  /** Closes the connection (destroys the stream); resolves once closed. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.stream.destroy();
    }
    return this.closedPromise;
  }
}
