/**
 * The router's ZeroMQ ROUTER socket with one bounded queue per peer and a fair writer, so one slow
 * peer never stalls the others (issue 5). One reader loop and one writer own the socket, as
 * zeromq.js requires (one pending `send` and one `receive` per socket).
 */
import { Code, IpcError } from "@protoipc/runtime";
import { Router } from "zeromq";
import { type CurveServerOptions, curveServerSocketOptions } from "./curve.js";
import { hexOf } from "./router-frames.js";

/** Default number of frames queued per peer before the router drops frames for it: 4096. */
export const DEFAULT_MAX_QUEUED_FRAMES_PER_PEER = 4096;

/** Delay before the writer retries a peer whose libzmq queue was full, in milliseconds. */
const BLOCKED_RETRY_MS = 5;

/** Most frames of one peer sent as one multipart message. */
const MAX_BATCH_FRAMES = 64;

/** Options of {@link RouterSocket}. */
export interface RouterSocketOptions {
  /** Endpoint to bind (`tcp://0.0.0.0:5556`, `ipc:///run/x.sock`). */
  readonly bind: string;
  /** Frames queued per peer before new ones for it are dropped. */
  readonly maxQueuedFramesPerPeer: number;
  /** Largest message part accepted, in bytes (ZMQ_MAXMSGSIZE is set to twice this plus 64 KiB). */
  readonly maxFrameBytes: number;
  /** Whether frames queued for one peer may leave as one multipart message (native: yes; Hydra: no). */
  readonly batch: boolean;
  /** CURVE server keys; when set, peers without the server key and a CURVE key pair are refused. */
  readonly curve?: CurveServerOptions | undefined;
  /**
   * ZMQ_SNDHWM per peer, in messages (each up to 64 frames); default 1000. A stalled peer holds at
   * most this many messages in libzmq plus `maxQueuedFramesPerPeer` frames in its queue.
   */
  readonly sendHighWaterMark?: number | undefined;
}

/** Counters of the socket, since it was created. */
export interface RouterSocketCounters {
  /** Messages received. */
  receivedMessages: number;
  /** Frames handed to libzmq. */
  sentFrames: number;
  /** Frames refused because the peer's queue held `maxQueuedFramesPerPeer` frames. */
  droppedQueueFull: number;
  /** Frames dropped because the peer had gone (EHOSTUNREACH) or was dropped. */
  droppedUnreachable: number;
  /** Times a peer's libzmq queue was full and the writer moved on to other peers. */
  peerStalls: number;
}

class PeerQueue {
  frames: Uint8Array[] = [];
  head = 0;
  blocked = false;
  ready = false;
  dropped = 0;
  constructor(readonly id: Uint8Array) {}
  get length(): number {
    return this.frames.length - this.head;
  }
}

/**
 * A bound ROUTER socket (ROUTER_MANDATORY and ROUTER_HANDOVER set) with per-peer bounded queues.
 * `onMessage` gets every received message as its routing id and parts.
 */
export class RouterSocket {
  readonly counters: RouterSocketCounters = {
    receivedMessages: 0,
    sentFrames: 0,
    droppedQueueFull: 0,
    droppedUnreachable: 0,
    peerStalls: 0,
  };
  address: string | undefined;
  private readonly queues = new Map<string, PeerQueue>();
  private readonly ready: PeerQueue[] = [];
  private readyHead = 0;
  private socket: Router | undefined;
  private writing = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: RouterSocketOptions,
    private readonly onMessage: (id: Buffer, key: string, parts: Buffer[]) => void,
  ) {}

  /**
   * Binds and starts reading.
   *
   * @throws IpcError Code.Unavailable when libzmq cannot bind
   */
  async start(): Promise<void> {
    const socket = new Router({
      linger: 0,
      // A frame for a peer that is gone fails with EHOSTUNREACH instead of vanishing, and a full
      // peer queue answers EAGAIN at once (sendTimeout 0) so the writer can serve other peers.
      mandatory: true,
      // A peer that reconnects with the same routing id (after a network cut or its own restart)
      // takes over its old connection instead of being refused.
      handover: true,
      sendTimeout: 0,
      // libzmq counts messages (a batch of up to MAX_BATCH_FRAMES frames is one). A low mark
      // makes the writer park busy peers for BLOCKED_RETRY_MS far too often; 1000 (libzmq's
      // default) keeps them flowing.
      sendHighWaterMark: this.options.sendHighWaterMark ?? 1000,
      maxMessageSize: 2 * this.options.maxFrameBytes + 64 * 1024,
      ...curveServerSocketOptions(this.options.curve),
    });
    this.socket = socket;
    try {
      await socket.bind(this.options.bind);
    } catch (e) {
      this.closed = true;
      socket.close();
      throw new IpcError(
        `cannot bind ${this.options.bind}: ${(e as Error).message}`,
        Code.Unavailable,
        { cause: e },
      );
    }
    this.address = socket.lastEndpoint ?? this.options.bind;
    void this.readLoop(socket);
  }

  /**
   * Queues `frame` for the peer `id` (key = its hex). Returns false, and counts the frame in
   * `droppedQueueFull`, when the peer's queue is full: the policy is to drop the newest frame for
   * that peer only; others are unaffected. `force` queues it anyway (the router's own error
   * frame that ends a call whose frames could not be queued: one per call, so still bounded).
   */
  send(id: Uint8Array, key: string, frame: Uint8Array, force = false): boolean {
    if (this.closed) return false;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = new PeerQueue(id);
      this.queues.set(key, q);
    }
    if (!force && q.length >= this.options.maxQueuedFramesPerPeer) {
      q.dropped++;
      this.counters.droppedQueueFull++;
      return false;
    }
    q.frames.push(frame);
    if (!q.ready && !q.blocked) {
      q.ready = true;
      this.ready.push(q);
    }
    this.kick();
    return true;
  }

  /** Frames queued for the peer `key`. */
  queued(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /** Frames dropped for the peer `key` because its queue was full. */
  droppedFor(key: string): number {
    return this.queues.get(key)?.dropped ?? 0;
  }

  /** Drops the peer's queue (it left); its queued frames count as unreachable. */
  forget(key: string): void {
    const q = this.queues.get(key);
    if (q === undefined) return;
    this.counters.droppedUnreachable += q.length;
    q.frames = [];
    q.head = 0;
    this.queues.delete(key);
  }

  /** Closes the socket; queued frames are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close();
    this.queues.clear();
    this.ready.length = 0;
  }

  private kick(): void {
    if (this.writing || this.closed || this.socket === undefined) return;
    this.writing = true;
    queueMicrotask(() => void this.writeLoop());
  }

  /** Round robin over peers with frames: one batch per peer per turn. */
  private async writeLoop(): Promise<void> {
    const socket = this.socket;
    while (!this.closed && socket !== undefined && this.readyHead < this.ready.length) {
      const q = this.ready[this.readyHead++] as PeerQueue;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      q.ready = false;
      if (q.length === 0) continue;
      const count = this.options.batch ? Math.min(q.length, MAX_BATCH_FRAMES) : 1;
      const message: Uint8Array[] = [q.id];
      for (let i = 0; i < count; i++) message.push(q.frames[q.head + i] as Uint8Array);
      try {
        await socket.send(message);
        this.counters.sentFrames += count;
        this.take(q, count);
      } catch (e) {
        if (this.closed) break;
        const code = (e as { code?: string }).code;
        if (code === "EAGAIN") {
          // This peer reads too slowly (or is reconnecting): park it and serve the others.
          this.counters.peerStalls++;
          q.blocked = true;
          this.scheduleRetry(q);
          continue;
        }
        // EHOSTUNREACH (gone) or anything else: its queued frames cannot be delivered.
        this.counters.droppedUnreachable += q.length;
        this.queues.delete(hexOf(q.id));
        q.frames = [];
        q.head = 0;
        continue;
      }
      if (q.length > 0 && !q.ready && !q.blocked) {
        q.ready = true;
        this.ready.push(q);
      }
    }
    this.writing = false;
    // Frames queued while the last send was pending.
    if (!this.closed && this.readyHead < this.ready.length) this.kick();
  }

  private take(q: PeerQueue, count: number): void {
    q.head += count;
    if (q.head === q.frames.length) {
      q.frames = [];
      q.head = 0;
    } else if (q.head > 256 && q.head * 2 > q.frames.length) {
      q.frames = q.frames.slice(q.head);
      q.head = 0;
    }
  }

  private readonly blockedQueues = new Set<PeerQueue>();

  private scheduleRetry(q: PeerQueue): void {
    this.blockedQueues.add(q);
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const b of this.blockedQueues) {
        b.blocked = false;
        if (b.length > 0 && !b.ready) {
          b.ready = true;
          this.ready.push(b);
        }
      }
      this.blockedQueues.clear();
      this.kick();
    }, BLOCKED_RETRY_MS);
  }

  private async readLoop(socket: Router): Promise<void> {
    for (;;) {
      let message: Buffer[];
      try {
        message = await socket.receive();
      } catch {
        return; // closed
      }
      if (this.closed) return;
      this.counters.receivedMessages++;
      const id = message[0];
      if (id === undefined || message.length < 2) continue;
      try {
        this.onMessage(id, id.toString("hex"), message.slice(1));
      } catch (e) {
        process.emitWarning(`protoipc router: message handler failed: ${(e as Error).message}`);
      }
    }
  }
}
