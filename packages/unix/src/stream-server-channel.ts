import { chmod, lstat, unlink } from "node:fs/promises";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import {
  Code,
  type FramePeer,
  IpcError,
  type ServerFrameChannel,
  type ServerFrameHandlers,
} from "@protoipc/runtime";
import {
  assertSocketPath,
  describeEndpoint,
  isNamedPipePath,
  type StreamEndpoint,
} from "./endpoint.js";
import { FramedConnection } from "./framed-connection.js";
import type { Framer } from "./framer.js";

/** Options of {@link createStreamServerChannel}. */
export interface StreamServerChannelOptions {
  /**
   * Where to listen. A Unix socket path must not exist yet (use `prepareDaemonSocket` from the
   * daemon helpers to reclaim a stale one safely); its file is made `socketMode` and removed on
   * close.
   */
  readonly endpoint: StreamEndpoint;
  /** How frames are cut from each connection's stream. */
  readonly framer: Framer;
  /** Mode of the Unix socket file; default 0o600 (owner only). */
  readonly socketMode?: number;
  /** Called for each accepted connection (e.g. to track activity); optional. */
  readonly onConnection?: (peer: StreamPeer) => void;
  /** Called when a connection closes; optional. */
  readonly onDisconnect?: (peer: StreamPeer) => void;
}

/** A connected client of a {@link StreamServerChannel}. */
export interface StreamPeer extends FramePeer {
  /** The connection's framed stream. */
  readonly connection: FramedConnection;
}

/** A {@link ServerFrameChannel} over a listening stream socket: one peer per connection. */
export interface StreamServerChannel extends ServerFrameChannel {
  /** The endpoint bound, once `start` resolved (TCP port 0 resolved); `undefined` before. */
  readonly endpoint: StreamEndpoint | undefined;
  /** Connected peers now. */
  readonly peerCount: number;
}

/**
 * Creates a server frame channel listening on a Unix socket, named pipe (Windows) or TCP port.
 * Each accepted connection is one {@link FramePeer} (`key` `conn-<n>`), framed by `framer`. A
 * connection whose bytes cannot be framed gets `onFrameError` (with the bytes' head empty: a
 * stream has no frame to name) and is closed after that reply; other connections go on.
 *
 * The caller owns the channel and must `close` it: that stops listening, closes every
 * connection, and removes the socket file if it is still the one this channel created.
 *
 * `start` rejects with `IpcError` `Code.Unavailable` when the endpoint cannot be bound (in use,
 * missing directory, permissions) and `Code.InvalidArgument` for a bad socket path.
 */
export function createStreamServerChannel(
  options: StreamServerChannelOptions,
): StreamServerChannel {
  return new StreamServerChannelImpl(options);
}

class StreamServerChannelImpl implements StreamServerChannel {
  readonly maxFrameBytes: number;
  endpoint: StreamEndpoint | undefined;
  private server: NetServer | undefined;
  private readonly peers = new Map<string, StreamPeer>();
  private nextPeer = 1;
  private closed = false;
  private socketIno: number | undefined;

  constructor(private readonly options: StreamServerChannelOptions) {
    this.maxFrameBytes = options.framer.maxFrameBytes;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  async start(handlers: ServerFrameHandlers): Promise<void> {
    if (this.server !== undefined) {
      throw new IpcError("channel is already started", Code.FailedPrecondition);
    }
    if (this.closed) throw new IpcError("channel is closed", Code.Unavailable);
    const ep = this.options.endpoint;
    if ("path" in ep) assertSocketPath(ep.path);
    const server = createNetServer((socket) => this.accept(socket, handlers));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          new IpcError(
            `cannot listen on ${describeEndpoint(ep)}: ${e.code ?? e.message}`,
            Code.Unavailable,
            {
              cause: e,
            },
          ),
        ),
      );
      if ("path" in ep) server.listen({ path: ep.path }, resolve);
      else server.listen({ host: ep.host, port: ep.port }, resolve);
    }).catch((e: unknown) => {
      this.server = undefined;
      server.close();
      throw e;
    });
    server.on("error", () => {
      // After listening, errors are per connection and handled there.
    });
    if ("path" in ep) {
      this.endpoint = ep;
      if (!isNamedPipePath(ep.path)) {
        await chmod(ep.path, this.options.socketMode ?? 0o600);
        this.socketIno = (await lstat(ep.path)).ino;
      }
    } else {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : ep.port;
      this.endpoint = { host: ep.host, port };
    }
  }

  private accept(socket: Socket, handlers: ServerFrameHandlers): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if ("host" in this.options.endpoint) socket.setNoDelay(true);
    const key = `conn-${this.nextPeer++}`;
    const peer = { key } as { key: string; connection: FramedConnection };
    peer.connection = new FramedConnection(
      socket,
      this.options.framer,
      {
        onFrame: (frame) => handlers.onFrame(peer, frame),
        onFrameError: (error) => handlers.onFrameError?.(peer, error, new Uint8Array(0)),
        onClose: () => {
          this.peers.delete(key);
          handlers.onPeerClosed?.(peer);
          this.options.onDisconnect?.(peer);
        },
      },
      `${describeEndpoint(this.options.endpoint)}#${key}`,
    );
    this.peers.set(key, peer);
    this.options.onConnection?.(peer);
  }

  send(peer: FramePeer, frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new IpcError("channel is closed", Code.Unavailable));
    const p = this.peers.get(peer.key);
    // The client left: like a ZeroMQ ROUTER, drop the frame; its calls end on their own.
    if (p === undefined) return Promise.resolve();
    return p.connection.send(frame);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const server = this.server;
    const closing =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.peers.values()].map((p) => p.connection.close()));
    await closing;
    const ep = this.options.endpoint;
    if ("path" in ep && this.socketIno !== undefined) {
      // Remove the file only if it is still ours (another server may have replaced it).
      try {
        if ((await lstat(ep.path)).ino === this.socketIno) await unlink(ep.path);
      } catch {
        // Already gone.
      }
    }
  }
}
