import { constants as bufferConstants } from "node:buffer";
import {
  Code,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WRITE_QUEUE_FRAMES,
  IpcError,
} from "@protoipc/runtime";

/**
 * Default high-water mark of a ZeroMQ socket, in messages per peer and direction: 1000, libzmq's
 * own default (ZMQ_SNDHWM / ZMQ_RCVHWM).
 */
export const DEFAULT_ZMQ_HIGH_WATER_MARK = 1000;

/** Default interval of ZMTP PING heartbeats, in milliseconds: 1000. */
export const DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Longest one zeromq.js `send` waits for room before the channel's writer re-checks, in
 * milliseconds. zeromq.js can miss the wakeup when a full peer queue drains (seen here: a progress
 * flood to a slower reader stalled until the next incoming message, about a second), so the
 * writers never trust a single wait: they retry every 10 ms at most.
 */
export const SEND_RECHECK_MS = 10;

/** Headroom added to `2 × maxFrameBytes` for libzmq's hard message size cap: 64 KiB. */
const MAX_MESSAGE_SIZE_HEADROOM_BYTES = 64 * 1024;

/**
 * Options shared by both ZeroMQ frame channels (DEALER client, ROUTER server).
 *
 * Memory bound: each peer can hold up to `sendHighWaterMark + receiveHighWaterMark` messages in
 * libzmq queues, each up to the hard cap `2 × maxFrameBytes + 64 KiB`; lower the high-water marks
 * when frames are large.
 */
export interface ZmqChannelOptions {
  /**
   * Largest frame sent or accepted, in bytes; default `DEFAULT_MAX_FRAME_BYTES` (4 MiB). A larger
   * frame is refused by `send` before it is written, and reported via `onFrameError` when
   * received (the channel goes on reading). libzmq itself enforces a hard cap of
   * `2 × maxFrameBytes + 64 KiB` (ZMQ_MAXMSGSIZE, checked before it allocates); a peer sending a
   * message over that cap is disconnected by libzmq, losing the frames in flight on that
   * connection.
   */
  readonly maxFrameBytes?: number;
  /**
   * Frames the writer queue holds before `send` waits (backpressure); default
   * `DEFAULT_WRITE_QUEUE_FRAMES` (1024). The queue is FIFO and written by one writer loop.
   */
  readonly writeQueueFrames?: number;
  /**
   * ZMQ_SNDHWM: messages libzmq queues per peer for sending, in messages; default 1000 (libzmq's
   * default). When reached, the DEALER's writer waits; the ROUTER's writer retries (see
   * `ZmqRouterChannelOptions.peerStallTimeoutMs`). 0 means no limit (not recommended).
   */
  readonly sendHighWaterMark?: number;
  /**
   * ZMQ_RCVHWM: messages libzmq queues per peer before the channel's reader takes them, in
   * messages; default 1000 (libzmq's default). When reached, libzmq stops reading that
   * connection, which pushes back on the peer. 0 means no limit (not recommended).
   */
  readonly receiveHighWaterMark?: number;
  /**
   * Interval of ZMTP PING heartbeats (ZMQ_HEARTBEAT_IVL), the transport keepalive, in
   * milliseconds; default 1000; 0 disables them. Separate from the native binding's application
   * heartbeats (`heartbeatIntervalMs`).
   */
  readonly zmtpHeartbeatIntervalMs?: number;
  /**
   * Time without any traffic after which a connection is dropped (ZMQ_HEARTBEAT_TIMEOUT, and
   * ZMQ_HEARTBEAT_TTL announced to the peer), in milliseconds; default 3 ×
   * `zmtpHeartbeatIntervalMs`. A DEALER reconnects after such a drop; a ROUTER forgets the peer.
   */
  readonly zmtpHeartbeatTimeoutMs?: number;
}

/** Options of {@link createZmqDealerChannel}. */
export interface ZmqDealerChannelOptions extends ZmqChannelOptions {
  /**
   * Endpoint to connect to: `ipc:///path/to/socket` or `tcp://host:port`. Connecting is
   * asynchronous and retried forever; frames sent meanwhile wait in libzmq's queue (up to
   * `sendHighWaterMark`) and then in the writer queue.
   */
  readonly address: string;
  /** First delay before reconnecting after a lost connection (ZMQ_RECONNECT_IVL), in milliseconds; default 100. */
  readonly reconnectIntervalMs?: number;
  /**
   * Longest delay between reconnect attempts (ZMQ_RECONNECT_IVL_MAX), in milliseconds; default
   * 2000. The delay doubles from `reconnectIntervalMs` up to this value.
   */
  readonly reconnectMaxIntervalMs?: number;
}

/** Options of {@link createZmqRouterChannel}. */
export interface ZmqRouterChannelOptions extends ZmqChannelOptions {
  /**
   * Endpoint to bind: `ipc:///path/to/socket` or `tcp://host:port`; `tcp://127.0.0.1:*` binds a
   * free port (read the result from the channel's `address`). An `ipc://` path must lie in a
   * private (0700) directory you own: the socket file is made 0600 after binding, but between
   * bind and chmod only the directory protects it. A stale socket file at the path is replaced.
   */
  readonly bind: string;
  /**
   * How long the writer keeps retrying a frame for a peer whose libzmq queue is full (it reads
   * too slowly), in milliseconds; default 5000. Past it the frame is dropped and counted in
   * `droppedFrames`, and so is every later frame for that peer that libzmq cannot take at once,
   * until one gets through. While the writer retries, frames for other peers wait behind it (one
   * FIFO writer), so this bounds how long one stalled peer can hold up the others.
   */
  readonly peerStallTimeoutMs?: number;
  /**
   * A peer not heard from for between 1 and 2 × this long is forgotten from the peer cache, in
   * milliseconds; default 60 000; 0 disables the sweep. Forgetting only drops the cached
   * `FramePeer` object: sends to it still work while it is connected, and its next frame creates
   * a new object with the same `key`.
   */
  readonly peerIdleTimeoutMs?: number;
}

/** Channel options with every default applied and every value checked. */
export interface ResolvedChannelOptions {
  readonly maxFrameBytes: number;
  readonly writeQueueFrames: number;
  readonly sendHighWaterMark: number;
  readonly receiveHighWaterMark: number;
  readonly zmtpHeartbeatIntervalMs: number;
  readonly zmtpHeartbeatTimeoutMs: number;
  /** libzmq's hard cap on one message part, in bytes: `2 × maxFrameBytes + 64 KiB`. */
  readonly maxMessageSize: number;
}

/**
 * Applies defaults and checks ranges.
 *
 * @throws IpcError Code.InvalidArgument when a value is not an integer in its range
 */
export function resolveChannelOptions(options: ZmqChannelOptions): ResolvedChannelOptions {
  const maxFrameBytes = checkInt(
    "maxFrameBytes",
    options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    1,
    bufferConstants.MAX_LENGTH,
  );
  const zmtpHeartbeatIntervalMs = checkInt(
    "zmtpHeartbeatIntervalMs",
    options.zmtpHeartbeatIntervalMs ?? DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS,
    0,
    INT32_MAX,
  );
  return {
    maxFrameBytes,
    writeQueueFrames: checkInt(
      "writeQueueFrames",
      options.writeQueueFrames ?? DEFAULT_WRITE_QUEUE_FRAMES,
      1,
      INT32_MAX,
    ),
    sendHighWaterMark: checkInt(
      "sendHighWaterMark",
      options.sendHighWaterMark ?? DEFAULT_ZMQ_HIGH_WATER_MARK,
      0,
      INT32_MAX,
    ),
    receiveHighWaterMark: checkInt(
      "receiveHighWaterMark",
      options.receiveHighWaterMark ?? DEFAULT_ZMQ_HIGH_WATER_MARK,
      0,
      INT32_MAX,
    ),
    zmtpHeartbeatIntervalMs,
    // ZMQ_HEARTBEAT_TTL is carried in deciseconds in a 16-bit field (max 6553.5 s).
    zmtpHeartbeatTimeoutMs: checkInt(
      "zmtpHeartbeatTimeoutMs",
      options.zmtpHeartbeatTimeoutMs ?? 3 * zmtpHeartbeatIntervalMs,
      0,
      6_553_500,
    ),
    maxMessageSize: 2 * maxFrameBytes + MAX_MESSAGE_SIZE_HEADROOM_BYTES,
  };
}

/** Largest value of a libzmq int option. */
export const INT32_MAX = 2 ** 31 - 1;

/**
 * Returns `value` when it is an integer in `[min, max]`.
 *
 * @throws IpcError Code.InvalidArgument otherwise, naming the option and the value
 */
export function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new IpcError(
      `${name} of ${String(value)} is not an integer from ${min} to ${max}`,
      Code.InvalidArgument,
    );
  }
  return value;
}

/**
 * Returns `endpoint` when it is an `ipc://` or `tcp://` endpoint.
 *
 * @throws IpcError Code.InvalidArgument otherwise
 */
export function checkEndpoint(name: string, endpoint: string): string {
  if (typeof endpoint !== "string" || !/^(ipc|tcp):\/\/.+/.test(endpoint)) {
    throw new IpcError(
      `${name} of ${JSON.stringify(endpoint)} is not an ipc:// or tcp:// endpoint`,
      Code.InvalidArgument,
    );
  }
  return endpoint;
}
