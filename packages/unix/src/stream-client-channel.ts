import type { Duplex } from "node:stream";
import {
  type ClientFrameChannel,
  type ClientFrameHandlers,
  Code,
  IpcError,
} from "@protoipc/runtime";
import { connectEndpoint, describeEndpoint, type StreamEndpoint } from "./endpoint.js";
import { FramedConnection } from "./framed-connection.js";
import type { Framer } from "./framer.js";

/** Options of {@link createStreamClientChannel}. */
export interface StreamClientChannelOptions {
  /** Where to connect; or give `connect` instead. */
  readonly endpoint?: StreamEndpoint;
  /**
   * Opens the byte stream, instead of `endpoint`: e.g. a child process's stdio
   * (`stdioDuplex(child)`). Called again to reconnect after the stream closed.
   */
  readonly connect?: () => Duplex | Promise<Duplex>;
  /** How frames are cut from the stream. */
  readonly framer: Framer;
}

/** A {@link ClientFrameChannel} over a byte stream, reconnecting on demand. */
export interface StreamClientChannel extends ClientFrameChannel {
  /** Whether a connection is open now. */
  readonly connected: boolean;
}

/**
 * Creates a client frame channel over a stream (Unix socket, named pipe, TCP, or any duplex
 * stream given by `connect`). Connecting is lazy: the first `send` connects, and a `send` after
 * the connection closed (e.g. the server restarted) connects again; frames sent while connecting
 * wait for it. A failed connect rejects those sends with `Code.Unavailable`, naming the
 * endpoint and the OS error. Frames are never resent on a new connection.
 *
 * The caller (normally the binding's client transport) owns the channel and closes it.
 *
 * @throws IpcError Code.InvalidArgument when neither or both of `endpoint` and `connect` are given
 */
export function createStreamClientChannel(
  options: StreamClientChannelOptions,
): StreamClientChannel {
  if ((options.endpoint === undefined) === (options.connect === undefined)) {
    throw new IpcError("give exactly one of endpoint and connect", Code.InvalidArgument);
  }
  return new StreamClientChannelImpl(options);
}

class StreamClientChannelImpl implements StreamClientChannel {
  readonly maxFrameBytes: number;
  private handlers: ClientFrameHandlers | undefined;
  private connection: FramedConnection | undefined;
  private connecting: Promise<FramedConnection> | undefined;
  private closed = false;
  private readonly description: string;

  constructor(private readonly options: StreamClientChannelOptions) {
    this.maxFrameBytes = options.framer.maxFrameBytes;
    this.description =
      options.endpoint === undefined ? "stream" : describeEndpoint(options.endpoint);
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.isClosed;
  }

  start(handlers: ClientFrameHandlers): void {
    this.handlers = handlers;
  }

  private open(): Promise<FramedConnection> {
    this.connecting ??= (async () => {
      try {
        const stream =
          this.options.endpoint !== undefined
            ? await connectEndpoint(this.options.endpoint)
            : await this.options.connect!();
        if (this.closed) {
          stream.destroy();
          throw new IpcError("channel is closed", Code.Unavailable);
        }
        const conn: FramedConnection = new FramedConnection(
          stream,
          this.options.framer,
          {
            onFrame: (frame) => this.handlers?.onFrame(frame),
            onFrameError: (error) => this.handlers?.onFrameError?.(error),
            onClose: () => {
              if (this.connection === conn) this.connection = undefined;
              this.handlers?.onClosed?.();
            },
          },
          this.description,
        );
        this.connection = conn;
        return conn;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new IpcError("channel is closed", Code.Unavailable));
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(
        new IpcError(
          `frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
          Code.ResourceExhausted,
        ),
      );
    }
    const conn = this.connection;
    if (conn !== undefined && !conn.isClosed) return conn.send(frame);
    return this.open().then((c) => c.send(frame));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    if (pending !== undefined) await pending.catch(() => undefined);
    await this.connection?.close();
    this.connection = undefined;
  }
}
