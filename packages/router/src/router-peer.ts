/**
 * A peer's connection to the native router: one ZeroMQ DEALER that registers with a role and
 * services, sends heartbeats at the negotiated interval, notices a silent router after 3 missed
 * heartbeats (RFC 6/PPP) and registers again as soon as the router answers (also when the router
 * says it does not know the peer, after a restart). One reader loop and one writer own the socket.
 */
import { randomBytes } from "node:crypto";
import { Code, DEFAULT_MAX_FRAME_BYTES, IpcError } from "@protoipc/runtime";
import { Dealer } from "zeromq";
import { type CurveClientOptions, curveClientSocketOptions } from "./curve.js";
import { type Listener, TypedEvents } from "./events.js";
import {
  DEFAULT_ROUTER_HEARTBEAT_MS,
  decodeRouterFrame,
  encodeBroadcastFrame,
  encodeCallFrame,
  encodeRouterFrame,
  HEARTBEAT_FRAME,
  HEARTBEAT_LIVENESS,
  hexOf,
  type PeerRoleName,
  ROUTER_PROTOCOL_VERSION,
  type RouterFrame,
  roleFromWire,
  roleToWire,
} from "./router-frames.js";

/** Options of {@link createRouterPeer}. */
export interface RouterPeerOptions {
  /** The router's endpoint, `tcp://host:5556` or `ipc:///…`. */
  readonly address: string;
  /** Client (calls, receives broadcasts) or server (serves `services`, publishes). */
  readonly role: PeerRoleName;
  /** Full names of the services a server offers. */
  readonly services?: readonly string[];
  /**
   * Heartbeat interval asked for, in milliseconds; default: the router's own (5000 unless it was
   * configured otherwise). The router grants at least its own interval; the granted one is in
   * `heartbeatIntervalMs` after the ack (5000 is used until then).
   */
  readonly heartbeatIntervalMs?: number;
  /** A name for the router's logs and events. */
  readonly name?: string;
  /**
   * The routing id, 1–255 bytes of UTF-8; default `"<role>-<16 random hex digits>"`. Kept across
   * reconnects, so the router's ROUTER_HANDOVER hands the old connection to the new one.
   */
  readonly routingId?: string;
  /** Whether to receive peer joined/left events (servers always get them for clients). */
  readonly peerEvents?: boolean;
  /** ZeroMQ CURVE keys; required when the router runs with CURVE. */
  readonly curve?: CurveClientOptions;
  /** Largest frame sent or accepted, in bytes; default 4 MiB. */
  readonly maxFrameBytes?: number;
}

/** One broadcast as a client receives it. */
export interface BroadcastDelivery {
  readonly topic: string;
  /** The topic's sequence number at the router. */
  readonly sequence: number;
  /** Broadcasts of this topic missed just before this one (0 when none): a visible gap. */
  readonly missed: number;
  readonly payload: Uint8Array;
  /** Routing id of the publishing server, in hex. */
  readonly publisher: string;
}

/** A peer joined or left, as the router reported it. */
export interface PeerEvent {
  readonly kind: "joined" | "left";
  /** Routing id in hex. */
  readonly id: string;
  readonly role: PeerRoleName | undefined;
  readonly services: readonly string[];
  readonly name: string;
  readonly reason: string;
}

/** Events of a router peer. */
export interface RouterPeerEvents {
  /** The router acknowledged the registration (first time and after every re-registration). */
  registered: { heartbeatIntervalMs: number };
  /** No frame from the router for 3 heartbeat intervals, or it said it does not know the peer. */
  routerLost: { reason: string };
  /** A call frame: a native Envelope, and (servers) the calling client's routing id. */
  call: { client: Uint8Array; envelope: Uint8Array };
  /** A broadcast (clients). */
  broadcast: BroadcastDelivery;
  /** Another peer joined or left. */
  peer: PeerEvent;
}

/** Counters of a peer. */
export interface RouterPeerCounters {
  /** Registrations acknowledged. */
  registrations: number;
  /** Broadcasts received. */
  broadcasts: number;
  /** Broadcasts missed, summed over the gaps seen. */
  missedBroadcasts: number;
  /** Frames from the router that could not be decoded. */
  malformedFrames: number;
}

/** A peer's connection to the router. */
export interface RouterPeer {
  readonly role: PeerRoleName;
  /** The routing id, in hex. */
  readonly id: string;
  /** Whether the router has acknowledged the registration and has not gone silent since. */
  readonly registered: boolean;
  /** The heartbeat interval granted by the router, in milliseconds (the asked one before). */
  readonly heartbeatIntervalMs: number;
  readonly maxFrameBytes: number;
  readonly counters: Readonly<RouterPeerCounters>;
  /** Connects and registers; idempotent. */
  start(): void;
  /**
   * Resolves once registered (at once when already).
   *
   * @throws IpcError Code.DeadlineExceeded when `timeoutMs` passes first
   * @throws IpcError Code.Unavailable when the peer is closed
   */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Queues one native Envelope; `client` is the caller's routing id (servers), empty for clients.
   * Resolves at once while the peer's queue holds fewer than 1024 frames, else once it drained
   * below (backpressure for progress floods).
   */
  sendCall(envelope: Uint8Array, client?: Uint8Array): Promise<void>;
  /** Publishes a broadcast (servers); the router numbers it per topic. */
  publish(topic: string, payload: Uint8Array): void;
  on<K extends keyof RouterPeerEvents>(
    event: K,
    listener: Listener<RouterPeerEvents[K]>,
  ): () => void;
  /** Says goodbye, closes the socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a peer of the native router; `start()` connects. The caller owns it and must `close()`.
 *
 * @throws IpcError Code.InvalidArgument when `routingId` is empty, longer than 255 bytes or
 *   starts with a zero byte
 */
export function createRouterPeer(options: RouterPeerOptions): RouterPeer {
  return new Peer(options);
}

/** Frames queued before `sendCall` makes its caller wait. */
const MAX_QUEUED_FRAMES = 1024;

/** Most frames the writer puts into one multipart message. */
const MAX_BATCH = 64;

class Peer implements RouterPeer {
  readonly role: PeerRoleName;
  readonly id: string;
  readonly maxFrameBytes: number;
  registered = false;
  heartbeatIntervalMs: number;
  readonly counters: RouterPeerCounters = {
    registrations: 0,
    broadcasts: 0,
    missedBroadcasts: 0,
    malformedFrames: 0,
  };
  private readonly routingId: Uint8Array;
  private readonly events = new TypedEvents<RouterPeerEvents>();
  private readonly queue: Uint8Array[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private readonly lastSequence = new Map<string, number>();
  private socket: Dealer | undefined;
  private writing = false;
  private closed = false;
  private lastReceived = 0;
  private lastSent = 0;
  private lastRegisterSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly registerFrame: Uint8Array;

  constructor(private readonly options: RouterPeerOptions) {
    this.role = options.role;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_ROUTER_HEARTBEAT_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const rid = Buffer.from(
      options.routingId ?? `${options.role}-${randomBytes(8).toString("hex")}`,
      "utf8",
    );
    if (rid.byteLength < 1 || rid.byteLength > 255 || rid[0] === 0) {
      throw new IpcError(
        `routingId of ${rid.byteLength} bytes must be 1..255 bytes not starting with 0`,
        Code.InvalidArgument,
      );
    }
    this.routingId = rid;
    this.id = hexOf(rid);
    this.registerFrame = encodeRouterFrame({
      frame: {
        case: "register",
        value: {
          protocolVersion: ROUTER_PROTOCOL_VERSION,
          role: roleToWire(options.role),
          services: [...(options.services ?? [])],
          heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0,
          peerEvents: options.peerEvents ?? options.role === "server",
          name: options.name ?? "",
        },
      },
    });
  }

  on<K extends keyof RouterPeerEvents>(
    event: K,
    listener: Listener<RouterPeerEvents[K]>,
  ): () => void {
    return this.events.on(event, listener);
  }

  start(): void {
    if (this.socket !== undefined || this.closed) return;
    const socket = new Dealer({
      linger: 0,
      routingId: Buffer.from(this.routingId).toString("utf8"),
      sendTimeout: 10,
      // Frames wait in our queue, not in libzmq's, while the router is unreachable: so a
      // registration is not sent once per interval of an outage, and nothing goes to a dead
      // connection.
      immediate: true,
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
      maxMessageSize: 2 * this.maxFrameBytes + 64 * 1024,
      ...curveClientSocketOptions(this.options.curve),
    });
    socket.connect(this.options.address);
    this.socket = socket;
    this.lastReceived = Date.now();
    this.sendRegister();
    void this.readLoop(socket);
    this.armTimer();
  }

  /** Checks four times per heartbeat interval: liveness is judged within 3.25 intervals. */
  private armTimer(): void {
    clearInterval(this.timer);
    const tickMs = Math.max(1, Math.floor(this.heartbeatIntervalMs / 4));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  ready(timeoutMs = 30_000): Promise<void> {
    if (this.registered) return Promise.resolve();
    if (this.closed) return Promise.reject(new IpcError("router peer is closed", Code.Unavailable));
    return new Promise((resolve, reject) => {
      const off = this.on("registered", () => {
        clearTimeout(timer);
        off();
        resolve();
      });
      const timer = setTimeout(() => {
        off();
        reject(
          new IpcError(
            `no registration ack from ${this.options.address} within ${timeoutMs} ms`,
            Code.DeadlineExceeded,
          ),
        );
      }, timeoutMs);
    });
  }

  sendCall(envelope: Uint8Array, client?: Uint8Array): Promise<void> {
    this.write(encodeCallFrame(envelope, client));
    if (this.queue.length < MAX_QUEUED_FRAMES) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  publish(topic: string, payload: Uint8Array): void {
    this.write(encodeBroadcastFrame(topic, 0, payload));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const socket = this.socket;
    if (socket === undefined) return;
    if (this.registered) {
      // Best effort goodbye, so the router drops the registration now rather than after 3
      // intervals; never waits for a router that is not there.
      try {
        await socket.send(
          encodeRouterFrame({ frame: { case: "disconnect", value: { reason: "goodbye" } } }),
        );
      } catch {
        // The router is gone or our queue is full: it will expire us.
      }
    }
    this.registered = false;
    for (const w of this.drainWaiters.splice(0)) w();
    socket.close();
  }

  private sendRegister(): void {
    this.lastRegisterSent = Date.now();
    // One registration waiting is enough (the DEALER holds frames while disconnected).
    if (this.queue.includes(this.registerFrame)) return;
    // The registration goes ahead of anything queued.
    this.queue.unshift(this.registerFrame);
    this.kick();
  }

  private write(frame: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.kick();
  }

  private kick(): void {
    if (this.writing || this.closed || this.socket === undefined) return;
    this.writing = true;
    queueMicrotask(() => void this.writeLoop());
  }

  private async writeLoop(): Promise<void> {
    const socket = this.socket;
    let backoffMs = 1;
    while (!this.closed && socket !== undefined && this.queue.length > 0) {
      const batch = this.queue.slice(0, MAX_BATCH);
      try {
        await socket.send(batch);
        backoffMs = 1;
        this.queue.splice(0, batch.length);
        this.lastSent = Date.now();
        if (this.drainWaiters.length > 0 && this.queue.length < MAX_QUEUED_FRAMES) {
          for (const w of this.drainWaiters.splice(0)) w();
        }
      } catch (e) {
        if (this.closed) break;
        if ((e as { code?: string }).code === "EAGAIN") {
          // Not connected yet, or the router reads slowly: wait (up to 100 ms) and try again.
          await new Promise((r) => setTimeout(r, backoffMs));
          backoffMs = Math.min(100, backoffMs * 2);
          continue;
        }
        this.queue.splice(0, batch.length);
      }
    }
    this.writing = false;
  }

  private tick(): void {
    const now = Date.now();
    const limit = HEARTBEAT_LIVENESS * this.heartbeatIntervalMs;
    if (this.registered && now - this.lastReceived > limit) {
      this.lost(`no frame from the router for ${now - this.lastReceived} ms`);
    }
    if (!this.registered) {
      // PPP: keep asking until a router answers (libzmq reconnects the DEALER by itself).
      if (now - this.lastRegisterSent >= this.heartbeatIntervalMs) this.sendRegister();
      return;
    }
    if (now - this.lastSent >= this.heartbeatIntervalMs && this.queue.length === 0) {
      this.lastSent = now;
      this.write(HEARTBEAT_FRAME);
    }
  }

  private lost(reason: string): void {
    if (!this.registered) return;
    this.registered = false;
    this.events.emit("routerLost", { reason });
  }

  private async readLoop(socket: Dealer): Promise<void> {
    for (;;) {
      let message: Buffer[];
      try {
        message = await socket.receive();
      } catch {
        return;
      }
      if (this.closed) return;
      this.lastReceived = Date.now();
      for (const part of message) this.onFrame(part);
    }
  }

  private onFrame(bytes: Buffer): void {
    let frame: RouterFrame;
    try {
      frame = decodeRouterFrame(bytes);
    } catch {
      this.counters.malformedFrames++;
      return;
    }
    const f = frame.frame;
    switch (f.case) {
      case "registerAck": {
        const granted = f.value.heartbeatIntervalMs || this.heartbeatIntervalMs;
        if (granted !== this.heartbeatIntervalMs) {
          this.heartbeatIntervalMs = granted;
          this.armTimer();
        }
        this.counters.registrations++;
        // A new registration (router restart) restarts the routers' topic sequences.
        this.lastSequence.clear();
        this.registered = true;
        this.events.emit("registered", { heartbeatIntervalMs: this.heartbeatIntervalMs });
        return;
      }
      case "heartbeat":
        return;
      case "disconnect":
        // The router does not know us (it restarted, or expired us): register again at once.
        this.lost(f.value.reason);
        this.sendRegister();
        return;
      case "call":
        this.events.emit("call", { client: f.value.client, envelope: f.value.envelope });
        return;
      case "broadcast": {
        const b = f.value;
        const seq = Number(b.sequence);
        const last = this.lastSequence.get(b.topic);
        const missed = last !== undefined && seq > last + 1 ? seq - last - 1 : 0;
        this.lastSequence.set(b.topic, seq);
        this.counters.broadcasts++;
        this.counters.missedBroadcasts += missed;
        this.events.emit("broadcast", {
          topic: b.topic,
          sequence: seq,
          missed,
          payload: b.payload,
          publisher: hexOf(b.publisher),
        });
        return;
      }
      case "peerEvent": {
        const e = f.value;
        this.events.emit("peer", {
          kind: e.kind === 1 ? "joined" : "left",
          id: hexOf(e.peerId),
          role: roleFromWire(e.role),
          services: e.services,
          name: e.name,
          reason: e.reason,
        });
        return;
      }
      default:
        this.counters.malformedFrames++;
    }
  }
}
