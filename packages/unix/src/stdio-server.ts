import type { Readable, Writable } from "node:stream";
import {
  Code,
  type FramePeer,
  IpcError,
  type ServerFrameChannel,
  type ServerFrameHandlers,
  type ServerTransport,
} from "@protoipc/runtime";
import { FramedConnection } from "./framed-connection.js";
import type { Framer } from "./framer.js";
import { stdioDuplex } from "./stdio.js";
import {
  defaultFramer,
  type StreamBinding,
  type StreamServerTransportOptions,
  serverTransportFor,
} from "./transport.js";

/** Options of {@link createStdioServerTransport}. */
export interface StdioServerTransportOptions
  extends Omit<StreamServerTransportOptions, "endpoint" | "socketMode" | "onConnection"> {
  /** Where requests come from; default `process.stdin`. */
  readonly readable?: Readable;
  /** Where answers go; default `process.stdout` (so nothing else may write to it). */
  readonly writable?: Writable;
  /** Called once when the parent closes the stream (the process usually exits then). */
  readonly onClose?: () => void;
}

/**
 * A server transport over this process's stdio, for a server started as a child by its one
 * client (an LSP-style backend): one peer, the parent, framed by `framer` (default of the
 * binding). Pair it with `createStreamTransport({ connect: () => childStdioDuplex(child) })` in
 * the parent. Nothing else may write to stdout; log to stderr.
 */
export function createStdioServerTransport(
  options: StdioServerTransportOptions = {},
): ServerTransport {
  const binding: StreamBinding = options.binding ?? "native";
  const framer = options.framer ?? defaultFramer(binding);
  return serverTransportFor(binding, new StdioServerChannel(framer, options), options);
}

const PARENT: FramePeer = { key: "stdio" };

class StdioServerChannel implements ServerFrameChannel {
  readonly maxFrameBytes: number;
  private connection: FramedConnection | undefined;
  private closed = false;

  constructor(
    private readonly framer: Framer,
    private readonly options: StdioServerTransportOptions,
  ) {
    this.maxFrameBytes = framer.maxFrameBytes;
  }

  async start(handlers: ServerFrameHandlers): Promise<void> {
    if (this.connection !== undefined) {
      throw new IpcError("channel is already started", Code.FailedPrecondition);
    }
    const stream = stdioDuplex(
      this.options.readable ?? process.stdin,
      this.options.writable ?? process.stdout,
    );
    this.connection = new FramedConnection(
      stream,
      this.framer,
      {
        onFrame: (frame) => handlers.onFrame(PARENT, frame),
        onFrameError: (error) => handlers.onFrameError?.(PARENT, error, new Uint8Array(0)),
        onClose: () => {
          handlers.onPeerClosed?.(PARENT);
          this.options.onClose?.();
        },
      },
      "stdio",
    );
  }

  send(_peer: FramePeer, frame: Uint8Array): Promise<void> {
    if (this.closed || this.connection === undefined) {
      return Promise.reject(new IpcError("stdio channel is closed", Code.Unavailable));
    }
    return this.connection.send(frame);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close();
  }
}
