import {
  type ClientFrameChannel,
  type ClientFrameHandlers,
  Code,
  IpcError,
} from "@protoipc/runtime";
import { Dealer } from "zeromq";
import {
  channelClosedError,
  describeZmqError,
  frameTooLargeError,
  zmqErrorCode,
} from "./frame-errors.js";
import {
  checkEndpoint,
  checkInt,
  INT32_MAX,
  type ResolvedChannelOptions,
  resolveChannelOptions,
  SEND_RECHECK_MS,
  type ZmqDealerChannelOptions,
} from "./options.js";
import { MAX_BATCH_BYTES, MAX_BATCH_FRAMES, WriteQueue } from "./write-queue.js";

/** A {@link ClientFrameChannel} over one ZeroMQ DEALER socket. */
export interface ZmqDealerChannel extends ClientFrameChannel {
  /** The endpoint the channel connects to, as given. */
  readonly address: string;
}

/**
 * Creates a client frame channel over a ZeroMQ DEALER socket connected to `options.address`
 * (`ipc://…` or `tcp://…`). One ZeroMQ message is one frame (a single part).
 *
 * The socket is created and connected by `start`; connecting is asynchronous and retried forever
 * (every `reconnectIntervalMs`, backing off to `reconnectMaxIntervalMs`), so a restarted server is
 * reconnected to without any action. Frames sent while disconnected wait in libzmq's queue (up to
 * `sendHighWaterMark`), then in the writer queue (up to `writeQueueFrames`), then `send` waits.
 * A dead connection is detected by ZMTP heartbeats within `zmtpHeartbeatTimeoutMs`; frames in
 * flight on it may be lost (the native binding's deadlines and heartbeats report that).
 *
 * Concurrency: zeromq.js allows one pending `send()` and one pending `receive()` per socket, so
 * exactly one reader loop and one writer loop own the socket. Frames handed to `send` are not
 * copied (frames over 128 bytes are even sent zero-copy by zeromq.js): do not modify a frame's
 * bytes after passing it to `send`. Received frames are Buffers owned by the receiver.
 *
 * The caller owns the channel and must `close` it; `close` drops queued frames (linger 0) and
 * never waits for the peer.
 *
 * `start` throws `IpcError` `Code.InvalidArgument` when libzmq refuses the endpoint (malformed
 * host or port), `Code.FailedPrecondition` when called twice and `Code.Unavailable` after `close`.
 * A frame that fails to reach libzmq for any reason other than `close` is reported through
 * `onFrameError` (`Code.Unavailable`), which cannot happen with the options set here.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or `address` is not an
 *   `ipc://` or `tcp://` endpoint
 */
export function createZmqDealerChannel(options: ZmqDealerChannelOptions): ZmqDealerChannel {
  return new DealerChannel(options);
}

class DealerChannel implements ZmqDealerChannel {
  readonly address: string;
  readonly maxFrameBytes: number;
  private readonly options: ResolvedChannelOptions;
  private readonly reconnectIntervalMs: number;
  private readonly reconnectMaxIntervalMs: number;
  private readonly queue: WriteQueue<undefined>;
  private socket: Dealer | undefined;
  private handlers: ClientFrameHandlers | undefined;
  private writing = false;
  private closed = false;

  constructor(options: ZmqDealerChannelOptions) {
    this.address = checkEndpoint("address", options.address);
    this.options = resolveChannelOptions(options);
    this.maxFrameBytes = this.options.maxFrameBytes;
    this.reconnectIntervalMs = checkInt(
      "reconnectIntervalMs",
      options.reconnectIntervalMs ?? 100,
      1,
      INT32_MAX,
    );
    this.reconnectMaxIntervalMs = checkInt(
      "reconnectMaxIntervalMs",
      options.reconnectMaxIntervalMs ?? 2000,
      0,
      INT32_MAX,
    );
    this.queue = new WriteQueue(this.options.writeQueueFrames);
  }

  start(handlers: ClientFrameHandlers): void {
    if (this.closed) throw channelClosedError(`dealer channel to ${this.address}`);
    if (this.socket !== undefined) {
      throw new IpcError(
        `dealer channel to ${this.address} is started already`,
        Code.FailedPrecondition,
      );
    }
    const o = this.options;
    const socket = new Dealer({
      // Close never waits for unsent frames: pending calls fail through the binding instead.
      linger: 0,
      // See SEND_RECHECK_MS: a send re-checks for room by itself instead of trusting a wakeup.
      sendTimeout: SEND_RECHECK_MS,
      reconnectInterval: this.reconnectIntervalMs,
      reconnectMaxInterval: this.reconnectMaxIntervalMs,
      maxMessageSize: o.maxMessageSize,
      sendHighWaterMark: o.sendHighWaterMark,
      receiveHighWaterMark: o.receiveHighWaterMark,
      ...(o.zmtpHeartbeatIntervalMs > 0
        ? {
            heartbeatInterval: o.zmtpHeartbeatIntervalMs,
            heartbeatTimeout: o.zmtpHeartbeatTimeoutMs,
            heartbeatTimeToLive: o.zmtpHeartbeatTimeoutMs,
          }
        : {}),
    });
    try {
      socket.connect(this.address);
    } catch (error) {
      socket.close();
      throw new IpcError(
        `cannot connect to ${this.address}: ${describeZmqError(error)}`,
        Code.InvalidArgument,
        { cause: error },
      );
    }
    this.socket = socket;
    this.handlers = handlers;
    void this.readLoop(socket, handlers);
    this.kick();
  }

  send(frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(frameTooLargeError(frame.byteLength, this.maxFrameBytes));
    }
    const accepted = this.queue.offer(undefined, frame);
    this.kick();
    return accepted;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.queue.close(channelClosedError(`dealer channel to ${this.address}`));
      // Synchronous in zeromq.js: the pending receive() and send() settle, and both loops stop.
      this.socket?.close();
    }
    return Promise.resolve();
  }

  /**
   * Starts the writer one microtask later rather than at once: frames queued in the same
   * synchronous burst (the replies to one received batch, the calls a resolved batch of replies
   * triggers) then leave as one batch, which costs libzmq and zeromq.js one message instead of
   * many. A microtask adds no event-loop turn, so a lone frame is not delayed measurably.
   */
  private kick(): void {
    const socket = this.socket;
    if (this.writing || this.closed || socket === undefined) return;
    this.writing = true;
    queueMicrotask(() => {
      if (this.closed) {
        this.writing = false;
        return;
      }
      void this.writeLoop(socket);
    });
  }

  /**
   * The only caller of `socket.send`. When the socket can take a message, zeromq.js sends it
   * within the call and returns a settled promise (up to 512 times in a row, then it defers one
   * send to the event loop so I/O is not starved), so a burst of queued frames costs one
   * microtask per frame and no event-loop turn.
   */
  private async writeLoop(socket: Dealer): Promise<void> {
    const queue = this.queue;
    while (queue.length > 0 && !this.closed) {
      // Frames queued together leave together: one multipart message of up to MAX_BATCH_FRAMES
      // frames, one part each. A lone frame still goes at once, so batching adds no latency.
      // They stay in the queue until sent, so the queue's bound holds while a send is pending.
      const first = queue.peekFrame();
      let message: Uint8Array | Uint8Array[] = first;
      let count = 1;
      if (queue.length > 1) {
        const batch = [first];
        let bytes = first.byteLength;
        for (
          ;
          count < queue.length && count < MAX_BATCH_FRAMES && bytes < MAX_BATCH_BYTES;
          count++
        ) {
          const f = queue.peekFrameAt(count);
          batch.push(f);
          bytes += f.byteLength;
        }
        message = batch;
      }
      try {
        await socket.send(message);
        if (!this.closed) for (let i = 0; i < count; i++) queue.shift();
      } catch (error) {
        if (this.closed) break;
        if (zmqErrorCode(error) === "EAGAIN") {
          // No room yet (high-water mark, or not connected): keep the frames, try again. A DEALER
          // holds its frames until a server takes them; the binding's deadlines bound the wait.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        for (let i = 0; i < count; i++) queue.shift();
        // Anything but EAGAIN means the socket is gone; say so.
        const n = count;
        this.reportError(
          new IpcError(
            `send to ${this.address} failed (${zmqErrorCode(error) ?? "unknown"}), ${n} frame(s) dropped`,
            Code.Unavailable,
            { cause: error },
          ),
        );
      }
    }
    this.writing = false;
  }

  /** The only caller of `socket.receive`. Checks each message before handing its frame on. */
  private async readLoop(socket: Dealer, handlers: ClientFrameHandlers): Promise<void> {
    const maxFrameBytes = this.maxFrameBytes;
    for (;;) {
      let message: Buffer[];
      try {
        message = await socket.receive();
      } catch (error) {
        if (!this.closed) {
          this.reportError(
            new IpcError(`receive from ${this.address} failed, reader stopped`, Code.Unavailable, {
              cause: error,
            }),
          );
        }
        return;
      }
      if (this.closed) return;
      // One frame per part: a peer may batch frames queued together into one message.
      for (const frame of message) {
        if (frame.byteLength > maxFrameBytes) {
          this.reportError(frameTooLargeError(frame.byteLength, maxFrameBytes));
          continue;
        }
        try {
          handlers.onFrame(frame);
        } catch (error) {
          // A throwing handler is a binding bug; it must not stop the reader.
          this.reportError(IpcError.from(error, Code.Internal));
        }
      }
    }
  }

  private reportError(error: IpcError): void {
    try {
      this.handlers?.onFrameError?.(error);
    } catch {
      // Nothing sensible is left to do with an error from the error handler.
    }
  }
}
