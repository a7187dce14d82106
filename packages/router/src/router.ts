/**
 * The native router (router.proto): peers register with a role and services, heartbeats keep
 * them registered, requests are load-balanced over the servers of their service and every later
 * frame of a call is routed by (client, request id), broadcasts fan out to all clients with
 * per-topic sequence numbers. Modelled on ZeroMQ RFC 7/MDP and RFC 6/PPP; fixes AI Hydra's router
 * (PROTOCOLS.md §2). The Hydra-compatible mode lives in hydra-router.ts and shares the socket.
 */
import {
  Code,
  DEFAULT_MAX_FRAME_BYTES,
  encodeEnvelope,
  FrameKind,
  IpcError,
  routerSchema,
} from "@protoipc/runtime";
import { type CurveServerOptions, startZapHandler } from "./curve.js";
import { type Listener, TypedEvents } from "./events.js";
import { createHydraRouterCore } from "./hydra-router.js";
import {
  DEFAULT_ROUTER_HEARTBEAT_MS,
  type DecodedRouterBroadcast,
  type DecodedRouterCall,
  decodeRouterFrame,
  type EnvelopeHead,
  encodeBroadcastFrame,
  encodeCallFrame,
  encodeRouterFrame,
  endsCall,
  errorEnvelope,
  HEARTBEAT_FRAME,
  HEARTBEAT_LIVENESS,
  hexOf,
  type PeerRoleName,
  peekEnvelopeHead,
  ROUTER_PROTOCOL_VERSION,
  type RouterFrame,
  type RouterFrameValue,
  roleFromWire,
  roleToWire,
  sameId,
  serviceOfPath,
} from "./router-frames.js";
import {
  DEFAULT_MAX_QUEUED_FRAMES_PER_PEER,
  RouterSocket,
  type RouterSocketCounters,
} from "./router-socket.js";

export { DEFAULT_ROUTER_HEARTBEAT_MS, HEARTBEAT_LIVENESS };

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /** Endpoint to bind: `tcp://0.0.0.0:5556`, `tcp://127.0.0.1:*` (free port), `ipc:///…`. */
  readonly bind: string;
  /**
   * `"native"` (default): router.proto frames. `"hydra"`: AI Hydra's JSON envelope
   * (PROTOCOLS.md §2), compatible with existing Hydra peers.
   */
  readonly protocol?: "native" | "hydra";
  /**
   * Heartbeat interval, in milliseconds; default 5000. The router sends each peer a heartbeat
   * per interval and expires a peer after {@link HEARTBEAT_LIVENESS} intervals of silence. A
   * peer may ask for a longer interval in its registration (the ack carries the one granted).
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Frames queued per peer before the router drops frames for it; default 4096. Policy when
   * full: a request for a server whose queue is full goes to the next server of the service, or
   * fails at once with `Code.ResourceExhausted` when all are full; a frame of a call for a client
   * whose queue is full ends that call: the client gets `Code.ResourceExhausted` and the server a
   * cancel; a broadcast is dropped for that client, which sees the gap in the topic's sequence
   * numbers. Every drop is counted. Other peers are never held up.
   */
  readonly maxQueuedFramesPerPeer?: number;
  /**
   * ZMQ_SNDHWM of the ROUTER socket: messages libzmq holds per peer before the writer parks that
   * peer, each up to 64 frames; default 1000. Lower it to bound the memory a stalled peer can
   * hold (at most this many messages plus `maxQueuedFramesPerPeer` frames).
   */
  readonly sendHighWaterMark?: number;
  /** Largest frame accepted, in bytes; default 4 MiB. */
  readonly maxFrameBytes?: number;
  /** ZeroMQ CURVE: when set, only CURVE peers (and, with `authorizedKeys`, only those keys) get in. */
  readonly curve?: CurveServerOptions;
}

/** A registered peer, as the router reports it. */
export interface RouterPeerInfo {
  /** Routing id in hex. */
  readonly id: string;
  readonly role: PeerRoleName;
  /** Services offered (servers). */
  readonly services: readonly string[];
  /** The name from its registration. */
  readonly name: string;
  /** The heartbeat interval granted, in milliseconds. */
  readonly heartbeatIntervalMs: number;
}

/** Why a peer left. */
export interface PeerLeftEvent extends RouterPeerInfo {
  /** `"goodbye"`, or `"heartbeat expired after 15000 ms"`. */
  readonly reason: string;
}

/** Events of a router. */
export interface RouterEvents {
  /** A peer registered (also again after an expiry or a router restart). */
  peerJoined: RouterPeerInfo;
  /** A peer said goodbye or was expired. */
  peerLeft: PeerLeftEvent;
}

/** Counters of a router, since it started. */
export interface RouterCounters extends RouterSocketCounters {
  /** Requests routed to a server. */
  routedRequests: number;
  /** Frames of calls the router no longer knew (cancelled, ended, or routed before a restart). */
  staleCallFrames: number;
  /** Broadcasts accepted from servers. */
  broadcasts: number;
  /** Frames from peers that were not registered (each answered with a disconnect). */
  unregisteredFrames: number;
  /** Malformed frames dropped. */
  malformedFrames: number;
  /** Peers expired for missing heartbeats. */
  expiredPeers: number;
  /** Calls failed with `Code.Unavailable` because their server left. */
  failedCalls: number;
}

/** A running router. */
export interface RouterHandle {
  /** The bound endpoint (a `tcp://…:*` bind resolved to its port), once `start` resolved. */
  readonly address: string | undefined;
  /** The protocol spoken. */
  readonly protocol: "native" | "hydra";
  /** The heartbeat interval, in milliseconds. */
  readonly heartbeatIntervalMs: number;
  /** Live counters (the same object throughout). */
  readonly counters: Readonly<RouterCounters>;
  /** The registered peers. */
  peers(): RouterPeerInfo[];
  /** Frames queued for a peer (routing id in hex), and frames dropped for it as its queue was full. */
  queueOf(id: string): { queued: number; dropped: number };
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RouterEvents>(event: K, listener: Listener<RouterEvents[K]>): () => void;
  /**
   * Binds and starts routing.
   *
   * @throws IpcError Code.Unavailable when the endpoint cannot be bound
   */
  start(): Promise<void>;
  /** Stops: closes the socket, drops queued frames and registrations. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a router; call `start()` to bind. The caller owns it and must `close()` it.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range
 */
export function createRouter(options: RouterOptions): RouterHandle {
  return new Router(options);
}

/** A registered peer. */
interface PeerRecord {
  readonly id: Buffer;
  readonly key: string;
  role: PeerRoleName;
  services: string[];
  name: string;
  heartbeatMs: number;
  lastSeen: number;
  nextHeartbeatAt: number;
  wantsEvents: boolean;
  /** Pending calls it made (clients), by request id: numeric keys, no per-call string. */
  readonly made: Map<number, CallRecord>;
  /** Pending calls it serves (servers). */
  readonly serving: Set<CallRecord>;
}

interface CallRecord {
  readonly client: PeerRecord;
  readonly server: PeerRecord;
  readonly requestId: number;
}

interface ServiceRecord {
  servers: PeerRecord[];
  next: number;
}

function checkPositiveInt(name: string, value: number, max = 2 ** 31 - 1): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new IpcError(`${name} ${value} must be an integer in 1..${max}`, Code.InvalidArgument);
  }
  return value;
}

class Router implements RouterHandle {
  readonly protocol: "native" | "hydra";
  readonly heartbeatIntervalMs: number;
  readonly counters: RouterCounters;
  private readonly socket: RouterSocket;
  private readonly events = new TypedEvents<RouterEvents>();
  private readonly registry = new Map<string, PeerRecord>();
  /** The client whose reply was routed last (a cache for runs of replies; reset on any change). */
  private lastCaller: PeerRecord | undefined;
  private readonly services = new Map<string, ServiceRecord>();
  private readonly topics = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopZap: (() => void) | undefined;
  private readonly hydra: ReturnType<typeof createHydraRouterCore> | undefined;
  private closed = false;
  private readonly maxQueued: number;

  constructor(private readonly options: RouterOptions) {
    this.protocol = options.protocol ?? "native";
    this.heartbeatIntervalMs = checkPositiveInt(
      "heartbeatIntervalMs",
      options.heartbeatIntervalMs ?? DEFAULT_ROUTER_HEARTBEAT_MS,
    );
    this.maxQueued = checkPositiveInt(
      "maxQueuedFramesPerPeer",
      options.maxQueuedFramesPerPeer ?? DEFAULT_MAX_QUEUED_FRAMES_PER_PEER,
    );
    const maxQueued = this.maxQueued;
    const maxFrameBytes = checkPositiveInt(
      "maxFrameBytes",
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    );
    this.socket = new RouterSocket(
      {
        bind: options.bind,
        maxQueuedFramesPerPeer: maxQueued,
        maxFrameBytes,
        batch: this.protocol === "native",
        curve: options.curve,
        sendHighWaterMark:
          options.sendHighWaterMark === undefined
            ? undefined
            : checkPositiveInt("sendHighWaterMark", options.sendHighWaterMark),
      },
      this.protocol === "native"
        ? (id, key, parts) => this.onMessage(id, key, parts)
        : (id, key, parts) => this.hydra?.onMessage(id, key, parts),
    );
    this.counters = Object.assign(this.socket.counters, {
      routedRequests: 0,
      staleCallFrames: 0,
      broadcasts: 0,
      unregisteredFrames: 0,
      malformedFrames: 0,
      expiredPeers: 0,
      failedCalls: 0,
    });
    this.hydra =
      this.protocol === "hydra"
        ? createHydraRouterCore({
            socket: this.socket,
            counters: this.counters,
            heartbeatIntervalMs: this.heartbeatIntervalMs,
            maxFrameBytes,
            onJoined: (p) => this.events.emit("peerJoined", p),
            onLeft: (p) => this.events.emit("peerLeft", p),
          })
        : undefined;
  }

  get address(): string | undefined {
    return this.socket.address;
  }

  peers(): RouterPeerInfo[] {
    if (this.hydra !== undefined) return this.hydra.peers();
    return [...this.registry.values()].map(infoOf);
  }

  queueOf(id: string): { queued: number; dropped: number } {
    return { queued: this.socket.queued(id), dropped: this.socket.droppedFor(id) };
  }

  on<K extends keyof RouterEvents>(event: K, listener: Listener<RouterEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  async start(): Promise<void> {
    const authorized = this.options.curve?.authorizedKeys;
    if (authorized !== undefined) this.stopZap = await startZapHandler(authorized);
    try {
      await this.socket.start();
    } catch (e) {
      this.stopZap?.();
      throw e;
    }
    const tickMs = Math.max(1, Math.floor(this.heartbeatIntervalMs / 4));
    this.timer = setInterval(() => (this.hydra ? this.hydra.tick() : this.tick()), tickMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.socket.close();
    this.stopZap?.();
    this.registry.clear();
    this.services.clear();
  }

  private send(peer: { id: Uint8Array; key: string }, frame: Uint8Array): boolean {
    return this.socket.send(peer.id, peer.key, frame);
  }

  private onMessage(id: Buffer, key: string, parts: Buffer[]): void {
    for (const part of parts) {
      let frame: RouterFrame;
      try {
        frame = decodeRouterFrame(part);
      } catch {
        this.counters.malformedFrames++;
        continue;
      }
      const f = frame.frame;
      if (f.case === "register") {
        this.register(id, key, f.value);
        continue;
      }
      const peer = this.registry.get(key);
      if (peer === undefined) {
        this.refuseUnregistered(id, key, f);
        continue;
      }
      peer.lastSeen = Date.now();
      switch (f.case) {
        case "heartbeat":
          break;
        case "disconnect":
          this.remove(peer, "goodbye");
          return;
        case "call":
          if (peer.role === "client") this.fromClient(peer, f.value);
          else this.fromServer(peer, f.value);
          break;
        case "broadcast":
          if (peer.role === "server") this.broadcast(peer, f.value);
          else this.counters.malformedFrames++;
          break;
        default:
          this.counters.malformedFrames++;
      }
    }
  }

  /** MDP/PPP: a peer the router does not know is told to register again. */
  private refuseUnregistered(id: Buffer, key: string, f: RouterFrameValue): void {
    this.counters.unregisteredFrames++;
    if (f.case === "disconnect") return;
    const peer = { id, key };
    if (f.case === "call") {
      // Fail the call at once rather than let it run into its deadline.
      try {
        const head = peekEnvelopeHead(f.value.envelope);
        if (head.kind === FrameKind.REQUEST) {
          this.send(
            peer,
            encodeCallFrame(
              errorEnvelope(
                head.requestId,
                Code.Unavailable,
                "peer is not registered with the router",
              ),
            ),
          );
        }
      } catch {
        this.counters.malformedFrames++;
      }
    }
    this.send(
      peer,
      encodeRouterFrame({
        frame: { case: "disconnect", value: { reason: "peer is not registered" } },
      }),
    );
  }

  private register(id: Buffer, key: string, r: routerSchema.RouterRegister): void {
    const role = roleFromWire(r.role);
    if (role === undefined) {
      this.counters.malformedFrames++;
      this.send(
        { id, key },
        encodeRouterFrame({
          frame: {
            case: "disconnect",
            value: { reason: `registration refused: role ${r.role} is not client or server` },
          },
        }),
      );
      return;
    }
    const heartbeatMs = Math.max(this.heartbeatIntervalMs, r.heartbeatIntervalMs);
    const now = Date.now();
    let peer = this.registry.get(key);
    const joined = peer === undefined || peer.role !== role || !sameList(peer.services, r.services);
    if (peer !== undefined && joined)
      this.remove(peer, "registered again with another role or services");
    if (peer === undefined || joined) {
      peer = {
        id,
        key,
        role,
        services: [...r.services],
        name: r.name,
        heartbeatMs,
        lastSeen: now,
        nextHeartbeatAt: now + heartbeatMs,
        wantsEvents: r.peerEvents,
        made: new Map(),
        serving: new Set(),
      };
      this.registry.set(key, peer);
      this.lastCaller = undefined;
      if (role === "server") {
        for (const s of peer.services) {
          let rec = this.services.get(s);
          if (rec === undefined) {
            rec = { servers: [], next: 0 };
            this.services.set(s, rec);
          }
          rec.servers.push(peer);
        }
      }
    } else {
      peer.lastSeen = now;
      peer.heartbeatMs = heartbeatMs;
      peer.wantsEvents = r.peerEvents;
      peer.name = r.name;
    }
    this.send(
      peer,
      encodeRouterFrame({
        frame: {
          case: "registerAck",
          value: {
            protocolVersion: ROUTER_PROTOCOL_VERSION,
            heartbeatIntervalMs: heartbeatMs,
            peerId: id,
          },
        },
      }),
    );
    if (joined) {
      this.notifyPeers(peer, routerSchema.PeerEventKind.JOINED, "");
      this.events.emit("peerJoined", infoOf(peer));
    }
  }

  private remove(peer: PeerRecord, reason: string): void {
    if (this.registry.get(peer.key) !== peer) return;
    this.registry.delete(peer.key);
    this.lastCaller = undefined;
    if (peer.role === "server") {
      for (const s of peer.services) {
        const rec = this.services.get(s);
        if (rec === undefined) continue;
        rec.servers = rec.servers.filter((p) => p !== peer);
        if (rec.servers.length === 0) this.services.delete(s);
      }
    }
    for (const call of peer.serving) {
      // Pending callers learn at once that their server is gone.
      call.client.made.delete(call.requestId);
      this.counters.failedCalls++;
      this.send(
        call.client,
        encodeCallFrame(
          errorEnvelope(
            call.requestId,
            Code.Unavailable,
            `server ${peer.name || peer.key} left the router (${reason})`,
          ),
        ),
      );
    }
    peer.serving.clear();
    for (const call of peer.made.values()) {
      // The caller is gone: its server's handler is cancelled.
      call.server.serving.delete(call);
      this.send(call.server, encodeCallFrame(cancelEnvelope(call.requestId), peer.id));
    }
    peer.made.clear();
    this.socket.forget(peer.key);
    this.notifyPeers(peer, routerSchema.PeerEventKind.LEFT, reason);
    this.events.emit("peerLeft", { ...infoOf(peer), reason });
  }

  private notifyPeers(peer: PeerRecord, kind: routerSchema.PeerEventKind, reason: string): void {
    let frame: Uint8Array | undefined;
    for (const other of this.registry.values()) {
      if (!other.wantsEvents || other === peer) continue;
      frame ??= encodeRouterFrame({
        frame: {
          case: "peerEvent",
          value: {
            kind,
            peerId: peer.id,
            role: roleToWire(peer.role),
            services: peer.services,
            name: peer.name,
            reason,
          },
        },
      });
      this.send(other, frame);
    }
  }

  private fromClient(client: PeerRecord, call: DecodedRouterCall): void {
    let head: EnvelopeHead;
    try {
      head = peekEnvelopeHead(call.envelope);
    } catch {
      this.counters.malformedFrames++;
      return;
    }
    if (head.kind === FrameKind.REQUEST) {
      const service = call.service || serviceOfPath(head.method);
      const server = service === undefined ? undefined : this.pickServer(service);
      if (server === undefined || server === "full") {
        const message =
          server === "full"
            ? `every server of ${service} has its queue of ${this.maxQueued} frames full`
            : `no server registered for service ${service ?? JSON.stringify(head.method)}`;
        this.send(
          client,
          encodeCallFrame(
            errorEnvelope(
              head.requestId,
              server === "full" ? Code.ResourceExhausted : Code.Unavailable,
              message,
            ),
          ),
        );
        return;
      }
      const record: CallRecord = { client, server, requestId: head.requestId };
      // A request id reused while its call is pending replaces the old record, as before.
      const old = client.made.get(head.requestId);
      if (old !== undefined) old.server.serving.delete(old);
      client.made.set(head.requestId, record);
      server.serving.add(record);
      this.counters.routedRequests++;
      this.send(server, encodeCallFrame(call.envelope, client.id));
      return;
    }
    const record = client.made.get(head.requestId);
    if (record === undefined) {
      this.counters.staleCallFrames++;
      return;
    }
    if (head.kind === FrameKind.CANCEL) this.forgetCall(record);
    this.send(record.server, encodeCallFrame(call.envelope, client.id));
  }

  private fromServer(server: PeerRecord, call: DecodedRouterCall): void {
    let head: EnvelopeHead;
    try {
      head = peekEnvelopeHead(call.envelope, false);
    } catch {
      this.counters.malformedFrames++;
      return;
    }
    // Replies come in runs for one caller: reuse the last caller's record while the id matches.
    let client = this.lastCaller;
    if (client === undefined || !sameId(client.id, call.client)) {
      client = this.registry.get(hexOf(call.client));
      this.lastCaller = client;
    }
    const record = client?.made.get(head.requestId);
    if (record === undefined || record.server !== server) {
      this.counters.staleCallFrames++;
      return;
    }
    if (endsCall(head.kind)) this.forgetCall(record);
    if (this.send(record.client, encodeCallFrame(call.envelope))) return;
    // The caller's queue is full: this call can no longer be delivered whole. End it loudly on
    // both sides rather than let the caller wait for a result that was dropped.
    if (!endsCall(head.kind)) this.forgetCall(record);
    this.counters.failedCalls++;
    this.socket.send(
      record.client.id,
      record.client.key,
      encodeCallFrame(
        errorEnvelope(
          head.requestId,
          Code.ResourceExhausted,
          `router queue of client ${record.client.name || record.client.key} is full (maxQueuedFramesPerPeer ${this.maxQueued}); call dropped`,
        ),
      ),
      true,
    );
    if (!endsCall(head.kind))
      this.send(server, encodeCallFrame(cancelEnvelope(head.requestId), record.client.id));
  }

  private forgetCall(record: CallRecord): void {
    record.client.made.delete(record.requestId);
    record.server.serving.delete(record);
  }

  /** Round robin over the service's servers, skipping those whose queue is full. */
  private pickServer(service: string): PeerRecord | "full" | undefined {
    const rec = this.services.get(service);
    if (rec === undefined || rec.servers.length === 0) return undefined;
    const max = this.maxQueued;
    for (let i = 0; i < rec.servers.length; i++) {
      const s = rec.servers[rec.next++ % rec.servers.length] as PeerRecord;
      if (this.socket.queued(s.key) < max) return s;
    }
    return "full";
  }

  private broadcast(server: PeerRecord, b: DecodedRouterBroadcast): void {
    const sequence = (this.topics.get(b.topic) ?? 0) + 1;
    this.topics.set(b.topic, sequence);
    this.counters.broadcasts++;
    // Encoded once; every client's queue holds the same bytes.
    const frame = encodeBroadcastFrame(b.topic, sequence, b.payload, server.id);
    for (const peer of this.registry.values()) {
      if (peer.role === "client") this.send(peer, frame);
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const peer of [...this.registry.values()]) {
      const silentMs = now - peer.lastSeen;
      if (silentMs > HEARTBEAT_LIVENESS * peer.heartbeatMs) {
        this.counters.expiredPeers++;
        this.remove(peer, `heartbeat expired after ${silentMs} ms`);
        continue;
      }
      if (now >= peer.nextHeartbeatAt) {
        peer.nextHeartbeatAt = now + peer.heartbeatMs;
        this.send(peer, HEARTBEAT_FRAME);
      }
    }
  }
}

function cancelEnvelope(requestId: number): Uint8Array {
  return encodeEnvelope({ requestId, kind: FrameKind.CANCEL });
}

function infoOf(peer: PeerRecord): RouterPeerInfo {
  return {
    id: peer.key,
    role: peer.role,
    services: peer.services,
    name: peer.name,
    heartbeatIntervalMs: peer.heartbeatMs,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
