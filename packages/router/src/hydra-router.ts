/**
 * The router's AI Hydra-compatible mode (PROTOCOLS.md §2): the same JSON envelopes, registration
 * by heartbeat, pruning after 3 missed heartbeats, client messages forwarded (stripped to
 * `{sender, elem, data}`) to every registered server and answered `{status: "ok"}` or
 * `{error: "No AI Hydra server connected"}`, server messages sent to every client but the sender.
 *
 * What it fixes, without changing a byte existing peers rely on:
 * - replies by request id: a client's `request_id` is kept on the forward, and a server message
 *   carrying a request id the router forwarded goes to that client only (Hydra strips the id, so
 *   no reply can ever be matched);
 * - one slow peer never stalls the others (the per-peer queues of RouterSocket);
 * - invalid envelopes are still dropped, but counted (`malformedFrames`).
 */
import {
  encodeHydraForward,
  HYDRA_NO_SERVER_REPLY,
  HYDRA_OK,
  type HydraEnvelope,
  type HydraSender,
  parseHydraEnvelope,
} from "./hydra-envelope.js";
import type { PeerLeftEvent, RouterCounters, RouterPeerInfo } from "./router.js";
import { HEARTBEAT_LIVENESS } from "./router-frames.js";
import type { RouterSocket } from "./router-socket.js";

/** What the Hydra core needs from the router. */
export interface HydraRouterCoreOptions {
  readonly socket: RouterSocket;
  readonly counters: RouterCounters;
  readonly heartbeatIntervalMs: number;
  readonly maxFrameBytes: number;
  readonly onJoined: (peer: RouterPeerInfo) => void;
  readonly onLeft: (peer: PeerLeftEvent) => void;
}

interface HydraPeer {
  readonly id: Buffer;
  readonly key: string;
  readonly sender: HydraSender;
  readonly clientId: string;
  lastSeen: number;
}

/** Request ids remembered per router, oldest forgotten first. */
const MAX_PENDING_REQUEST_IDS = 65_536;

/** The Hydra mode's routing state and rules; created by `createRouter({ protocol: "hydra" })`. */
export function createHydraRouterCore(o: HydraRouterCoreOptions) {
  const peers = new Map<string, HydraPeer>();
  // request_id -> key of the client that sent it (Map keeps insertion order: oldest first).
  const pending = new Map<string, { key: string; at: number }>();

  const info = (p: HydraPeer): RouterPeerInfo => ({
    id: p.key,
    role: p.sender === "HydraServer" ? "server" : "client",
    services: [],
    name: p.clientId,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
  });

  const send = (p: { id: Uint8Array; key: string }, bytes: Uint8Array): void => {
    o.socket.send(p.id, p.key, bytes);
  };

  function onMessage(id: Buffer, key: string, parts: Buffer[]): void {
    // Hydra sends one JSON frame per message; anything else is not a Hydra envelope.
    const part = parts[0];
    if (parts.length !== 1 || part === undefined || part.byteLength > o.maxFrameBytes) {
      o.counters.malformedFrames++;
      return;
    }
    let env: HydraEnvelope;
    try {
      env = parseHydraEnvelope(part);
    } catch {
      // Hydra drops invalid envelopes silently; so do we, but count them.
      o.counters.malformedFrames++;
      return;
    }
    const now = Date.now();
    const known = peers.get(key);
    if (known !== undefined) known.lastSeen = now;
    if (env.elem === "heartbeat") {
      if (known === undefined || known.sender !== env.sender) {
        const peer: HydraPeer = {
          id,
          key,
          sender: env.sender,
          clientId: env.client_id,
          lastSeen: now,
        };
        peers.set(key, peer);
        o.onJoined(info(peer));
      }
      return; // Hydra never acknowledges heartbeats.
    }
    const requestId = typeof env.request_id === "string" ? env.request_id : undefined;
    if (env.sender === "HydraClient") {
      const servers = [...peers.values()].filter((p) => p.sender === "HydraServer");
      if (servers.length === 0) {
        send({ id, key }, HYDRA_NO_SERVER_REPLY);
        return;
      }
      if (requestId !== undefined) remember(requestId, key, now);
      const forward = encodeHydraForward("HydraClient", env.elem, env.data, requestId);
      for (const s of servers) send(s, forward);
      o.counters.routedRequests++;
      send({ id, key }, HYDRA_OK);
      return;
    }
    if (env.sender === "HydraServer") {
      const target = requestId === undefined ? undefined : pending.get(requestId);
      if (target !== undefined && requestId !== undefined) {
        // A reply: to the client that asked, by request id.
        pending.delete(requestId);
        const client = peers.get(target.key);
        const forward = encodeHydraForward("HydraServer", env.elem, env.data, requestId);
        if (client !== undefined) send(client, forward);
        else send({ id: Buffer.from(target.key, "hex"), key: target.key }, forward);
        return;
      }
      o.counters.broadcasts++;
      const forward = encodeHydraForward("HydraServer", env.elem, env.data);
      for (const p of peers.values()) {
        if (p.sender === "HydraClient" && p.key !== key) send(p, forward);
      }
      return;
    }
    // HydraRouter is the router's own sender kind; a peer may not use it.
    o.counters.malformedFrames++;
  }

  function remember(requestId: string, key: string, now: number): void {
    pending.delete(requestId);
    pending.set(requestId, { key, at: now });
    if (pending.size > MAX_PENDING_REQUEST_IDS) {
      const oldest = pending.keys().next().value;
      if (oldest !== undefined) pending.delete(oldest);
    }
  }

  function tick(): void {
    const now = Date.now();
    const limit = HEARTBEAT_LIVENESS * o.heartbeatIntervalMs;
    for (const p of [...peers.values()]) {
      const silentMs = now - p.lastSeen;
      if (silentMs <= limit) continue;
      peers.delete(p.key);
      o.socket.forget(p.key);
      o.counters.expiredPeers++;
      o.onLeft({ ...info(p), reason: `heartbeat expired after ${silentMs} ms` });
    }
    // Request ids never answered are forgotten after 10 heartbeat intervals.
    for (const [rid, v] of pending) {
      if (now - v.at <= 10 * o.heartbeatIntervalMs) break;
      pending.delete(rid);
    }
  }

  return {
    onMessage,
    tick,
    peers: (): RouterPeerInfo[] => [...peers.values()].map(info),
  };
}
