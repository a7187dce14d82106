import { Buffer } from "node:buffer";
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

/** Frames of at least this many bytes are written directly; smaller ones are batched. */
const DIRECT_WRITE_BYTES = 16 * 1024;
/**
 * A batch is written once it holds this many bytes, without waiting for the end of the tick.
 * With many calls in flight a whole tick's batch makes the two sides take turns (one builds all
 * its frames while the other waits for the first); writing every ~1 KiB (about ten small frames)
 * lets the peer start on the first frames while this side builds the rest, for a few more
 * syscalls. Measured on the 64-in-flight echo (bench/src/unix-native-only.ts): 16 KiB (one write
 * per tick) ~150k calls/s, 2 KiB ~220k, 1 KiB ~230k, 256 B ~210k.
 */
const FLUSH_BATCH_BYTES = 1024;

/**
 * One byte stream (socket, pipe, stdio pair) cut into frames by a {@link Framer}: one reader
 * (the stream's `data` events through one decoder) and one writer (the stream's own buffer;
 * small frames queued in the same tick are written together, one write per ~1 KiB or per tick).
 *
 * Backpressure: `send` resolves at once while the stream's buffer is under its high-water mark,
 * else when it drains. The connection owns the stream and destroys it in `close`.
 */
export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private closed = false;
  /** Small frames (and headers) of this tick, written together as one buffer. */
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  /** The stream's buffer is over its high-water mark: sends wait for "drain". */
  private backpressured = false;
  private readonly flushTick = () => {
    this.flushScheduled = false;
    this.flush();
  };
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
      // Let a last error frame written by the handler leave before closing: write the batch
      // now, as its flush on the next tick would come after `end`.
      this.flush();
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
    for (const c of chunks) {
      if (c.byteLength >= DIRECT_WRITE_BYTES) {
        // A large payload is written as is rather than copied into the batch.
        this.flush();
        if (!this.stream.write(c)) this.backpressured = true;
      } else {
        this.batch.push(c);
        this.batchBytes += c.byteLength;
      }
    }
    if (this.batchBytes >= FLUSH_BATCH_BYTES) this.flush();
    else if (this.batch.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTick);
    }
    const ok = !this.backpressured;
    if (ok && this.drained === undefined) return RESOLVED;
    this.drained ??= new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.backpressured = false;
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

  /**
   * Writes the batch as one buffer: one `write` (one syscall) per tick instead of two per frame,
   * which is most of the cost of small frames.
   */
  private flush(): void {
    if (this.batch.length === 0) return;
    const out =
      this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    if (this.closed) return;
    if (!this.stream.write(out)) this.backpressured = true;
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
