import { chmod, lstat, unlink } from "node:fs/promises";
import {
  Code,
  type FramePeer,
  IpcError,
  type ServerFrameChannel,
  type ServerFrameHandlers,
} from "@protoipc/runtime";
import { Router } from "zeromq";
import {
  channelClosedError,
  describeZmqError,
  frameHead,
  frameTooLargeError,
  partCountError,
  zmqErrorCode,
} from "./frame-errors.js";
import {
  checkEndpoint,
  checkInt,
  INT32_MAX,
  type ResolvedChannelOptions,
  resolveChannelOptions,
  SEND_RECHECK_MS,
  type ZmqRouterChannelOptions,
} from "./options.js";
import { MAX_BATCH_BYTES, MAX_BATCH_FRAMES, WriteQueue } from "./write-queue.js";

/** A {@link ServerFrameChannel} over one ZeroMQ ROUTER socket. */
export interface ZmqRouterChannel extends ServerFrameChannel {
  /**
   * The endpoint actually bound, once `start` resolved (`tcp://127.0.0.1:*` resolved to its port,
   * from ZMQ_LAST_ENDPOINT); `undefined` before.
   */
  readonly address: string | undefined;
  /**
   * Frames accepted by `send` and then dropped: the peer was gone (libzmq answered
   * EHOSTUNREACH), or its queue stayed full for `peerStallTimeoutMs`. Counts since creation.
   */
  readonly droppedFrames: number;
  /**
   * Drops the cached {@link FramePeer} of `key` (a routing id in hex), e.g. once the binding has
   * expired a silent client. Returns whether one was cached. Sends to the peer still work while
   * it is connected; its next frame creates a new `FramePeer` with the same `key`.
   */
  forgetPeer(key: string): boolean;
}

/**
 * Creates a server frame channel over a ZeroMQ ROUTER socket bound to `options.bind`
 * (`ipc://…` or `tcp://…`). Each message is `[routing id, frame]`; a peer's {@link FramePeer.key}
 * is its routing id in hex (libzmq assigns 5-byte ids, so keys look like `006b8b4567`).
 *
 * Peers: `FramePeer` objects are cached per routing id, so one connected client keeps one
 * object. The cache is bounded: a peer is forgotten when a send to it finds it gone, when it has
 * been silent for `peerIdleTimeoutMs` (1–2 ×), or by `forgetPeer`. Identity is the `key`, not the
 * object.
 *
 * Sending: the socket is ROUTER_MANDATORY, so a frame for a peer that is gone is not silently
 * swallowed by libzmq: it is dropped, counted in `droppedFrames`, and the writer goes on with the
 * other peers. A peer whose libzmq queue is full (`sendHighWaterMark` reached: it reads too
 * slowly) is retried with backoff for up to `peerStallTimeoutMs`, then its frame is dropped and
 * counted, and its later frames are dropped at once while libzmq still cannot take them; frames
 * for other peers wait behind it meanwhile (one FIFO writer). Frames handed to `send` are not
 * copied: do not modify them afterwards.
 *
 * The caller owns the channel and must `close` it. `close` drops queued frames (linger 0), waits
 * until libzmq has released the listening socket (so the same endpoint can be bound again at
 * once; at most 1 s), and removes the `ipc://` socket file if it is still the one this channel
 * created.
 *
 * `start` rejects with `IpcError` `Code.Unavailable` when libzmq cannot bind (address in use,
 * missing directory, permissions; the socket is released at once) or the channel was closed, and
 * `Code.FailedPrecondition` when called twice.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or `bind` is not an
 *   `ipc://` or `tcp://` endpoint
 */
export function createZmqRouterChannel(options: ZmqRouterChannelOptions): ZmqRouterChannel {
  return new RouterChannel(options);
}

/** Longest `close` waits for libzmq to release the listening socket, in milliseconds. */
const CLOSE_WAIT_MS = 1000;

/** Routing ids libzmq generates: a zero byte and a 32-bit counter (ids starting 0 are reserved to it). */
const GENERATED_ID_BYTES = 5;

const EMPTY = new Uint8Array(0);

/** A connected client, as the ROUTER knows it. */
class ZmqPeer implements FramePeer {
  /** Seen since the last idle sweep. */
  seen = true;
  /** A frame for it was dropped after `peerStallTimeoutMs`; until one gets through, don't wait. */
  stalled = false;
  constructor(
    readonly key: string,
    readonly routingId: Uint8Array,
    /** Key of the peer cache: the counter of a generated id (no string per message), else `key`. */
    readonly cacheKey: number | string,
  ) {}
}

function cacheKeyOf(routingId: Buffer): number | string {
  return routingId.byteLength === GENERATED_ID_BYTES && routingId[0] === 0
    ? routingId.readUInt32BE(1)
    : routingId.toString("hex");
}

class RouterChannel implements ZmqRouterChannel {
  readonly maxFrameBytes: number;
  address: string | undefined;
  droppedFrames = 0;
  private readonly bind: string;
  private readonly options: ResolvedChannelOptions;
  private readonly peerStallTimeoutMs: number;
  private readonly peerIdleTimeoutMs: number;
  private readonly queue: WriteQueue<ZmqPeer>;
  private readonly peers = new Map<number | string, ZmqPeer>();
  private socket: Router | undefined;
  private handlers: ServerFrameHandlers | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private writing = false;
  private stallSince = 0;
  private stallRetries = 0;
  private wakeWriter: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private monitorEnded: Promise<void> | undefined;
  private ipcFile: { path: string; dev: number; ino: number } | undefined;

  constructor(options: ZmqRouterChannelOptions) {
    this.bind = checkEndpoint("bind", options.bind);
    this.options = resolveChannelOptions(options);
    this.maxFrameBytes = this.options.maxFrameBytes;
    this.peerStallTimeoutMs = checkInt(
      "peerStallTimeoutMs",
      options.peerStallTimeoutMs ?? 5000,
      1,
      INT32_MAX,
    );
    this.peerIdleTimeoutMs = checkInt(
      "peerIdleTimeoutMs",
      options.peerIdleTimeoutMs ?? 60_000,
      0,
      INT32_MAX,
    );
    this.queue = new WriteQueue(this.options.writeQueueFrames);
  }

  start(handlers: ServerFrameHandlers): Promise<void> {
    if (this.closed) return Promise.reject(channelClosedError(`router channel on ${this.bind}`));
    if (this.starting !== undefined) {
      return Promise.reject(
        new IpcError(`router channel on ${this.bind} is started already`, Code.FailedPrecondition),
      );
    }
    this.starting = this.listen(handlers);
    return this.starting;
  }

  send(peer: FramePeer, frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(frameTooLargeError(frame.byteLength, this.maxFrameBytes));
    }
    let target: ZmqPeer;
    if (peer instanceof ZmqPeer) {
      target = peer;
    } else {
      const routingId = parseKey(peer.key);
      if (routingId === undefined) {
        return Promise.reject(
          new IpcError(
            `peer key ${JSON.stringify(peer.key)} is not a routing id in hex (1 to 255 bytes)`,
            Code.InvalidArgument,
          ),
        );
      }
      const cacheKey = cacheKeyOf(routingId);
      target = this.peers.get(cacheKey) ?? new ZmqPeer(peer.key, routingId, cacheKey);
    }
    const accepted = this.queue.offer(target, frame);
    this.kick();
    return accepted;
  }

  forgetPeer(key: string): boolean {
    const routingId = parseKey(key);
    return routingId !== undefined && this.peers.delete(cacheKeyOf(routingId));
  }

  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async listen(handlers: ServerFrameHandlers): Promise<void> {
    const o = this.options;
    const socket = new Router({
      linger: 0,
      // EHOSTUNREACH instead of a silent drop for a gone peer; EAGAIN instead of a silent drop
      // when the peer's queue is full.
      mandatory: true,
      // A reconnecting client that sets its own routing id takes over the old connection.
      handover: true,
      // A send waits at most SEND_RECHECK_MS for room, then answers EAGAIN and the writer's stall
      // policy (measured on our own clock, peerStallTimeoutMs) decides: zeromq.js can miss the
      // wakeup when a full peer queue drains (seen here: a progress flood stalled until the next
      // incoming message, ~1 s), so the writer must re-check by itself. This also keeps a send
      // to an unknown peer from waiting forever while no peer is connected.
      sendTimeout: SEND_RECHECK_MS,
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
    this.socket = socket;
    // The monitor reports "end" (ZMQ_EVENT_MONITOR_STOPPED) only after libzmq closed the
    // listener, which is what `close` waits for. The observer must exist before the socket
    // closes, and in emitter mode it keeps draining its queue of events.
    this.monitorEnded = new Promise((resolve) => socket.events.on("end", () => resolve()));
    try {
      // Bind before the loops run: zeromq.js refuses send()/receive() (EBUSY) during bind.
      await socket.bind(this.bind);
    } catch (error) {
      // The channel is unusable: release the socket now, so an owner that never calls close
      // does not leak it; later sends fail with Code.Unavailable.
      this.closed = true;
      this.queue.close(channelClosedError(`router channel on ${this.bind}`));
      this.socket = undefined;
      socket.close();
      throw new IpcError(`cannot bind ${this.bind}: ${describeZmqError(error)}`, Code.Unavailable, {
        cause: error,
      });
    }
    this.address = socket.lastEndpoint ?? this.bind;
    // Before the closed check, so a close during bind still removes the socket file.
    await this.protectIpcFile(this.address);
    if (this.closed) throw channelClosedError(`router channel on ${this.bind}`);
    this.handlers = handlers;
    if (this.peerIdleTimeoutMs > 0) {
      this.sweepTimer = setInterval(() => this.sweepIdlePeers(), this.peerIdleTimeoutMs);
      this.sweepTimer.unref();
    }
    void this.readLoop(socket, handlers);
    this.kick();
  }

  private async teardown(): Promise<void> {
    this.closed = true;
    this.queue.close(channelClosedError(`router channel on ${this.bind}`));
    clearInterval(this.sweepTimer);
    this.wakeWriter?.();
    // Never close during bind (zeromq.js would defer it); let bind settle first.
    await this.starting?.catch(() => undefined);
    const socket = this.socket;
    if (socket === undefined) return;
    socket.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.monitorEnded,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.removeIpcFile();
    this.peers.clear();
  }

  /** Makes an `ipc://` socket file 0600 and remembers it, so `close` removes only our own file. */
  private async protectIpcFile(endpoint: string): Promise<void> {
    const path = ipcPath(endpoint);
    if (path === undefined) return;
    try {
      await chmod(path, 0o600);
      const stat = await lstat(path);
      this.ipcFile = { path, dev: stat.dev, ino: stat.ino };
    } catch {
      // The directory's permissions are the real protection (see `bind`); nothing to undo.
    }
  }

  /** libzmq 4.3 leaves the socket file of an explicit ipc:// path behind on close. */
  private async removeIpcFile(): Promise<void> {
    const file = this.ipcFile;
    if (file === undefined) return;
    this.ipcFile = undefined;
    try {
      const stat = await lstat(file.path);
      // Someone may have bound the path again since; their file is not ours to remove.
      if (stat.dev === file.dev && stat.ino === file.ino) await unlink(file.path);
    } catch {
      // Gone already.
    }
  }

  private peerOf(routingId: Buffer): ZmqPeer {
    const cacheKey = cacheKeyOf(routingId);
    let peer = this.peers.get(cacheKey);
    if (peer === undefined) {
      peer = new ZmqPeer(routingId.toString("hex"), routingId, cacheKey);
      this.peers.set(cacheKey, peer);
    } else {
      peer.seen = true;
    }
    return peer;
  }

  private sweepIdlePeers(): void {
    for (const [cacheKey, peer] of this.peers) {
      if (peer.seen) peer.seen = false;
      else this.peers.delete(cacheKey);
    }
  }

  /**
   * Starts the writer one microtask later rather than at once: frames queued in the same
   * synchronous burst (the replies to one received batch, the calls a resolved batch of replies
   * triggers) then leave as one batch, which costs libzmq and zeromq.js one message instead of
   * many. A microtask adds no event-loop turn, so a lone frame is not delayed measurably.
   */
  private kick(): void {
    if (this.writing || this.closed || this.handlers === undefined) return;
    this.writing = true;
    queueMicrotask(() => {
      if (this.closed) {
        this.writing = false;
        return;
      }
      void this.writeLoop(this.socket!);
    });
  }

  /**
   * The only caller of `socket.send`. A send that libzmq can queue completes within the call
   * (zeromq.js returns a settled promise, deferring one send in 512 to the event loop), so a burst
   * costs one microtask per frame.
   */
  private async writeLoop(socket: Router): Promise<void> {
    const queue = this.queue;
    while (queue.length > 0 && !this.closed) {
      // Consecutive frames for the same peer leave together: [routing id, frame, frame, ...],
      // up to MAX_BATCH_FRAMES. They are taken off the queue only once sent (or dropped).
      const peer = queue.peekTarget();
      const parts: Uint8Array[] = [peer.routingId, queue.peekFrame()];
      let bytes = parts[1]!.byteLength;
      for (
        let i = 1;
        i < queue.length && parts.length <= MAX_BATCH_FRAMES && bytes < MAX_BATCH_BYTES;
        i++
      ) {
        if (queue.peekTargetAt(i) !== peer) break;
        const f = queue.peekFrameAt(i);
        parts.push(f);
        bytes += f.byteLength;
      }
      const frames = parts.length - 1;
      try {
        await socket.send(parts);
        for (let i = 0; i < frames; i++) queue.shift();
        if (peer.stalled) peer.stalled = false;
        if (this.stallRetries !== 0) {
          this.stallSince = 0;
          this.stallRetries = 0;
        }
      } catch (error) {
        if (this.closed) break;
        const code = zmqErrorCode(error);
        if (code === "EAGAIN") {
          if (!peer.stalled && !this.stallExpired()) {
            await this.backOff();
            continue;
          }
          // Waited peerStallTimeoutMs for this peer once: its later frames must not make the
          // others wait that long again, so they are dropped at once until one gets through.
          peer.stalled = true;
        }
        // EHOSTUNREACH (gone), a stalled peer, or anything else: drop and go on.
        for (let i = 0; i < frames; i++) queue.shift();
        this.droppedFrames += frames;
        this.stallSince = 0;
        this.stallRetries = 0;
        if (code === "EHOSTUNREACH" && this.peers.get(peer.cacheKey) === peer) {
          this.peers.delete(peer.cacheKey);
        }
      }
    }
    this.writing = false;
  }

  private stallExpired(): boolean {
    const now = performance.now();
    if (this.stallRetries === 0) this.stallSince = now;
    return now - this.stallSince >= this.peerStallTimeoutMs;
  }

  /**
   * Waits before retrying a frame for a peer whose queue is full while others have room: a few
   * event-loop turns first (libzmq's I/O thread usually drains within microseconds), then timers
   * doubling from 1 ms to 64 ms. `close` cuts the wait short.
   */
  private backOff(): Promise<void> {
    const retry = this.stallRetries++;
    return new Promise<void>((resolve) => {
      if (retry < 8) {
        const immediate = setImmediate(resolve);
        this.wakeWriter = () => {
          clearImmediate(immediate);
          resolve();
        };
      } else {
        const timer = setTimeout(resolve, Math.min(2 ** (retry - 8), 64));
        this.wakeWriter = () => {
          clearTimeout(timer);
          resolve();
        };
      }
    }).finally(() => {
      this.wakeWriter = undefined;
    });
  }

  /** The only caller of `socket.receive`. Checks each message before handing its frame on. */
  private async readLoop(socket: Router, handlers: ServerFrameHandlers): Promise<void> {
    const maxFrameBytes = this.maxFrameBytes;
    for (;;) {
      // Let the writer (started a microtask after a reply is queued) send what the last message's
      // handlers answered before this loop asks libzmq for the next message: a reply then leaves
      // without waiting behind a receive call.
      await undefined;
      let message: Buffer[];
      try {
        message = await socket.receive();
      } catch {
        // Only a closed socket fails receive() (no receiveTimeout is set). Should libzmq fail
        // otherwise, nothing can be read any more: close, so sends fail with Code.Unavailable.
        if (!this.closed) void this.close();
        return;
      }
      if (this.closed) return;
      // A ROUTER always prepends the routing id, so there is at least one part.
      const peer = this.peerOf(message[0]!);
      if (message.length < 2) {
        this.reportError(peer, partCountError(message.length, 2, "routing id and a frame"), EMPTY);
        continue;
      }
      // One frame per part after the routing id: a peer may batch frames queued together.
      for (let i = 1; i < message.length; i++) {
        const frame = message[i]!;
        if (frame.byteLength > maxFrameBytes) {
          this.reportError(
            peer,
            frameTooLargeError(frame.byteLength, maxFrameBytes),
            frameHead(frame),
          );
          continue;
        }
        try {
          handlers.onFrame(peer, frame);
        } catch (error) {
          // A throwing handler is a binding bug; it must not stop the reader.
          this.reportError(peer, IpcError.from(error, Code.Internal), frameHead(frame));
        }
      }
    }
  }

  private reportError(peer: FramePeer, error: IpcError, head: Uint8Array): void {
    try {
      this.handlers?.onFrameError?.(peer, error, head);
    } catch {
      // Nothing sensible is left to do with an error from the error handler.
    }
  }
}

/** The routing id of a peer key (hex, 1 to 255 bytes), or `undefined` when it is not one. */
function parseKey(key: string): Buffer | undefined {
  if (typeof key !== "string" || !/^(?:[0-9a-fA-F]{2}){1,255}$/.test(key)) return undefined;
  return Buffer.from(key, "hex");
}

/** The file system path of an `ipc://` endpoint; `undefined` for tcp:// and abstract (`@`) names. */
function ipcPath(endpoint: string): string | undefined {
  if (!endpoint.startsWith("ipc://")) return undefined;
  const path = endpoint.slice("ipc://".length);
  return path.startsWith("@") ? undefined : path;
}
