/**
 * Frame channels: the contract between a binding (which turns calls into frames) and a transport
 * (which moves frames). A frame is one opaque message: one ZeroMQ message, one length-prefixed
 * record on a stream socket, one in-memory hand-off. Channels know nothing of method semantics.
 */

/** Default largest frame, in bytes, that a channel sends or accepts: 4 MiB, as gRPC's default. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Default number of frames a channel's writer queue holds before `send` waits: 1024. */
export const DEFAULT_WRITE_QUEUE_FRAMES = 1024;

/** Handlers a client channel delivers to. */
export interface ClientFrameHandlers {
  /** One frame from the server, in arrival order. The array may be a view into a larger buffer. */
  onFrame(frame: Uint8Array): void;
  /**
   * A frame was refused before decoding, e.g. `frame of 5000000 bytes exceeds maxFrameBytes 4194304`.
   * The channel goes on reading.
   */
  onFrameError?(error: import("./error.js").IpcError): void;
  /**
   * The connection closed (stream transports; ZeroMQ has no such event). The channel may connect
   * again on the next `send`; the binding fails the calls it sent on the closed connection.
   */
  onClosed?(): void;
}

/** One connection from a client to a server that carries frames. */
export interface ClientFrameChannel {
  /** Largest frame accepted in either direction, in bytes. */
  readonly maxFrameBytes: number;
  /** Starts the reader (and connects). Called once by the binding, before the first `send`. */
  start(handlers: ClientFrameHandlers): void;
  /**
   * Queues one frame for the server. Resolves once the writer queue accepted it; waits while the
   * queue is full (backpressure). The queue is written in order by one writer.
   *
   * @throws IpcError Code.ResourceExhausted when the frame exceeds `maxFrameBytes`
   * @throws IpcError Code.Unavailable when the channel is closed
   */
  send(frame: Uint8Array): Promise<void>;
  /** Stops reading and writing and releases the socket. Idempotent. */
  close(): Promise<void>;
}

/** A peer of a server channel: a connected client. */
export interface FramePeer {
  /** Stable key of the peer while it is connected, e.g. its ZeroMQ routing id in hex. */
  readonly key: string;
}

/** Handlers a server channel delivers to. */
export interface ServerFrameHandlers {
  /** One frame from `peer`, in arrival order per peer. */
  onFrame(peer: FramePeer, frame: Uint8Array): void;
  /**
   * A frame from `peer` was refused before decoding (e.g. over `maxFrameBytes`). `frame` is its
   * first bytes (at most 64), so the binding can still name the call in an error reply.
   */
  onFrameError?(peer: FramePeer, error: import("./error.js").IpcError, head: Uint8Array): void;
  /**
   * `peer`'s connection closed (stream transports; ZeroMQ has no such event): the binding may
   * end its calls at once instead of waiting for missed heartbeats.
   */
  onPeerClosed?(peer: FramePeer): void;
}

/** The listening side: many peers, frames addressed per peer. */
export interface ServerFrameChannel {
  /** Largest frame accepted in either direction, in bytes. */
  readonly maxFrameBytes: number;
  /** Binds and starts the reader. Resolves once bound. */
  start(handlers: ServerFrameHandlers): Promise<void>;
  /**
   * Queues one frame for `peer`. Resolves once queued; waits while the writer queue is full.
   *
   * @throws IpcError Code.ResourceExhausted when the frame exceeds `maxFrameBytes`
   * @throws IpcError Code.Unavailable when the channel is closed
   */
  send(peer: FramePeer, frame: Uint8Array): Promise<void>;
  /** Stops reading and writing and releases the socket. Idempotent. */
  close(): Promise<void>;
}
