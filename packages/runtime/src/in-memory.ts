import type { ClientTransport, ServerTransport } from "./call.js";
import { Code, IpcError } from "./error.js";
import {
  type ClientFrameChannel,
  type ClientFrameHandlers,
  DEFAULT_MAX_FRAME_BYTES,
  type FramePeer,
  type ServerFrameChannel,
  type ServerFrameHandlers,
} from "./frame-channel.js";
import { createNativeClientTransport, type NativeClientOptions } from "./native-client.js";
import { createNativeServerTransport, type NativeServerOptions } from "./native-server.js";

/** Options of {@link createInMemoryTransport}. */
export interface InMemoryTransportOptions extends NativeClientOptions, NativeServerOptions {
  /** Largest frame, in bytes; default 4 MiB. */
  readonly maxFrameBytes?: number;
}

/** A server transport and a way to connect clients to it, all inside one process. */
export interface InMemoryTransport {
  /** The server side; pass it to `createServer`. */
  readonly server: ServerTransport;
  /** Connects a new client; each has its own connection (peer) and must be closed by its owner. */
  connect(): ClientTransport;
}

/**
 * Creates an in-process transport: frames pass between client and server through the event loop
 * (each frame is delivered in a later microtask, in order), through the same native binding and
 * envelope codec as the socket transports, so it doubles as the test harness of the call
 * semantics. Nothing is bound; nothing needs closing but the clients and the server.
 */
export function createInMemoryTransport(options: InMemoryTransportOptions = {}): InMemoryTransport {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let serverHandlers: ServerFrameHandlers | undefined;
  let serverClosed = false;
  const clients = new Map<string, ClientFrameHandlers>();
  let nextPeer = 1;

  const tooBig = (n: number) =>
    new IpcError(
      `frame of ${n} bytes exceeds maxFrameBytes ${maxFrameBytes}`,
      Code.ResourceExhausted,
    );

  const serverChannel: ServerFrameChannel = {
    maxFrameBytes,
    async start(handlers) {
      serverHandlers = handlers;
    },
    async send(peer, frame) {
      if (serverClosed) throw new IpcError("channel is closed", Code.Unavailable);
      if (frame.byteLength > maxFrameBytes) throw tooBig(frame.byteLength);
      const h = clients.get(peer.key);
      if (h === undefined) return; // the client left; like a ZeroMQ ROUTER, drop
      queueMicrotask(() => h.onFrame(frame));
    },
    async close() {
      serverClosed = true;
      serverHandlers = undefined;
    },
  };

  return {
    server: createNativeServerTransport(serverChannel, options),
    connect() {
      const peer: FramePeer = { key: `mem-${nextPeer++}` };
      let closed = false;
      const channel: ClientFrameChannel = {
        maxFrameBytes,
        start(handlers) {
          clients.set(peer.key, handlers);
        },
        async send(frame) {
          if (closed) throw new IpcError("channel is closed", Code.Unavailable);
          if (frame.byteLength > maxFrameBytes) throw tooBig(frame.byteLength);
          queueMicrotask(() => serverHandlers?.onFrame(peer, frame));
        },
        async close() {
          closed = true;
          clients.delete(peer.key);
        },
      };
      return createNativeClientTransport(channel, options);
    },
  };
}
