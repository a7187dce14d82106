/**
 * The framer contract: how a byte stream (Unix socket, named pipe, stdio, TCP) is cut into
 * frames. Stream transports take any {@link Framer}; two exist: Content-Length headers
 * (`createContentLengthFramer`, LSP's framing) and a length prefix with an optional magic
 * (`createLengthPrefixFramer`).
 */

/** Default largest frame a framer accepts, in bytes: 16 MiB. */
export const DEFAULT_STREAM_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Incremental decoder: feed bytes as they arrive, get whole frames out. One per connection. */
export interface FrameDecoder {
  /**
   * Appends a chunk; returns the frames it completed (maybe none), in order. A returned frame
   * may be a view into `chunk`: consume it before the next `push`, or copy it.
   *
   * @throws IpcError Code.InvalidArgument on a malformed header
   * @throws IpcError Code.ResourceExhausted when a declared length exceeds `maxFrameBytes`
   *   (checked before allocating). After a throw the decoder is unusable: the connection
   *   answers with an error and closes.
   */
  push(chunk: Uint8Array): Uint8Array[];
  /** Bytes held for an incomplete frame. */
  readonly bufferedBytes: number;
}

/** Cuts a byte stream into frames and frames into bytes. Stateless; shared by connections. */
export interface Framer {
  /** Largest payload accepted or sent, in bytes. */
  readonly maxFrameBytes: number;
  /** New decoder for one connection. */
  createDecoder(): FrameDecoder;
  /**
   * The bytes to write for one frame (header + payload; may be several chunks, written in order).
   *
   * @throws IpcError Code.ResourceExhausted when `payload` exceeds `maxFrameBytes`
   */
  encode(payload: Uint8Array): Uint8Array[];
}

/** Options every framer takes. */
export interface FramerOptions {
  /** Largest payload, in bytes; default 16 MiB ({@link DEFAULT_STREAM_MAX_FRAME_BYTES}). */
  readonly maxFrameBytes?: number;
}
