/**
 * Client and server transports that reach each other through the native router: the native
 * binding (`createNativeClientTransport` / `createNativeServerTransport` of `@protoipc/runtime`)
 * over frame channels that wrap each Envelope in a RouterCall. Deadlines, cancellation, progress,
 * streams and errors are the native binding's own; liveness is the router's: the channels answer
 * the binding's heartbeats while the router is registered and alive, and the router fails the
 * calls of a server that left with `Code.Unavailable` and cancels the calls of a client that left.
 */

import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  type ClientFrameChannel,
  type ClientFrameHandlers,
  type ClientTransport,
  Code,
  createNativeClientTransport,
  createNativeServerTransport,
  type Dispatcher,
  encodeEnvelope,
  FrameKind,
  type FramePeer,
  IpcError,
  type ServerFrameChannel,
  type ServerFrameHandlers,
  type ServerTransport,
} from "@protoipc/runtime";
import { endsCall, hexOf, peekEnvelopeHead, sameId } from "./router-frames.js";
import {
  type BroadcastDelivery,
  createRouterPeer,
  type RouterPeer,
  type RouterPeerOptions,
} from "./router-peer.js";

/** Default interval of the native binding's own heartbeats on a router transport, in milliseconds. */
const DEFAULT_CALL_HEARTBEAT_MS = 1_000;

const HEARTBEAT_ENVELOPE = encodeEnvelope({ kind: FrameKind.HEARTBEAT });

/** Options of {@link createRouterClientTransport}. */
export interface RouterClientTransportOptions extends Omit<RouterPeerOptions, "role" | "services"> {
  /**
   * Interval of the native binding's heartbeats between the client and its channel, in
   * milliseconds; default 1000. The channel answers them while the router is registered and
   * alive, so a dead router fails pending calls with `Code.Unavailable` within 3 router
   * heartbeat intervals plus 2.5 of these.
   */
  readonly callHeartbeatIntervalMs?: number;
}

/** A client transport through the router, with broadcasts. */
export interface RouterClientTransport extends ClientTransport {
  /** The connection to the router (registration, counters, events). */
  readonly peer: RouterPeer;
  /**
   * Resolves once the router acknowledged the registration.
   *
   * @throws IpcError Code.DeadlineExceeded when `timeoutMs` (default 30 000) passes first
   */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Receives the broadcasts of the topic `schema.typeName` (the convention of
   * {@link RouterServerTransport.publish}), decoded. `delivery.missed` > 0 shows a gap.
   * Returns the unsubscribe function.
   */
  subscribe<D extends DescMessage>(
    schema: D,
    listener: (message: MessageShape<D>, delivery: BroadcastDelivery) => void,
  ): () => void;
}

/**
 * Creates a client transport that registers with the router at `options.address` as a client
 * (at once, so broadcasts arrive before the first call) and calls any service a registered server
 * offers. The transport owns its router peer and closes it in `close()`.
 *
 * @throws IpcError Code.InvalidArgument when an option is invalid
 */
export function createRouterClientTransport(
  options: RouterClientTransportOptions,
): RouterClientTransport {
  const peer = createRouterPeer({ ...options, role: "client" });
  const channel = new RouterClientChannel(peer);
  const native = createNativeClientTransport(channel, {
    heartbeatIntervalMs: options.callHeartbeatIntervalMs ?? DEFAULT_CALL_HEARTBEAT_MS,
  });
  peer.start();
  return {
    peer,
    start: (call, sink) => native.start(call, sink),
    close: () => native.close(),
    ready: (timeoutMs) => peer.ready(timeoutMs),
    subscribe(schema, listener) {
      return peer.on("broadcast", (d) => {
        if (d.topic !== schema.typeName) return;
        let message: MessageShape<typeof schema>;
        try {
          message = fromBinary(schema, d.payload);
        } catch (e) {
          process.emitWarning(
            `protoipc: dropped broadcast ${d.topic} #${d.sequence}: ${(e as Error).message}`,
          );
          return;
        }
        listener(message, d);
      });
    },
  };
}

class RouterClientChannel implements ClientFrameChannel {
  readonly maxFrameBytes: number;
  private handlers: ClientFrameHandlers | undefined;
  constructor(private readonly peer: RouterPeer) {
    this.maxFrameBytes = peer.maxFrameBytes;
    peer.on("call", ({ envelope }) => this.handlers?.onFrame(envelope));
  }
  start(handlers: ClientFrameHandlers): void {
    this.handlers = handlers;
  }
  send(frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(
        new IpcError(
          `frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
          Code.ResourceExhausted,
        ),
      );
    }
    const kind = peekEnvelopeHead(frame, false).kind;
    if (kind === FrameKind.HELLO) return Promise.resolve();
    if (kind === FrameKind.HEARTBEAT) {
      // The router is this connection's far end: it answers for the servers while registered.
      if (this.peer.registered) queueMicrotask(() => this.handlers?.onFrame(HEARTBEAT_ENVELOPE));
      return Promise.resolve();
    }
    return this.peer.sendCall(frame);
  }
  close(): Promise<void> {
    return this.peer.close();
  }
}

/** Options of {@link createRouterServerTransport}. */
export interface RouterServerTransportOptions extends Omit<RouterPeerOptions, "role"> {
  /**
   * Services to register; default: every service registered on the server (`server.register`).
   */
  readonly services?: readonly string[];
  /**
   * Interval of the native binding's heartbeats between the server and its channel, in
   * milliseconds; default 1000 (the channel sends them for callers the router reports alive).
   */
  readonly callHeartbeatIntervalMs?: number;
  /** How long `listen` waits for the router's ack, in milliseconds; default 30 000. */
  readonly registerTimeoutMs?: number;
}

/** A server transport through the router, with broadcasts. */
export interface RouterServerTransport extends ServerTransport {
  /** The connection to the router, once `listen` was called. */
  readonly peer: RouterPeer | undefined;
  /**
   * Publishes `message` to every client of the router, on the topic `topic` (default
   * `schema.typeName`). The router numbers broadcasts per topic.
   *
   * @throws IpcError Code.FailedPrecondition before `listen`
   */
  publish<D extends DescMessage>(schema: D, message: MessageInitShape<D>, topic?: string): void;
}

/**
 * Creates a server transport that registers with the router at `options.address` as a server of
 * its services when the server listens; `listen` resolves once the router acknowledged.
 *
 * @throws IpcError Code.DeadlineExceeded (from `listen`) when no ack comes within `registerTimeoutMs`
 */
export function createRouterServerTransport(
  options: RouterServerTransportOptions,
): RouterServerTransport {
  let peer: RouterPeer | undefined;
  let native: ServerTransport | undefined;
  const callHeartbeatMs = options.callHeartbeatIntervalMs ?? DEFAULT_CALL_HEARTBEAT_MS;
  return {
    get peer() {
      return peer;
    },
    async listen(dispatcher: Dispatcher) {
      if (peer !== undefined) {
        throw new IpcError("router server transport is listening already", Code.FailedPrecondition);
      }
      const services = options.services ?? Object.keys(dispatcher.schemaHashes());
      peer = createRouterPeer({ ...options, role: "server", services });
      const channel = new RouterServerChannel(peer, callHeartbeatMs, options.registerTimeoutMs);
      native = createNativeServerTransport(channel, { heartbeatIntervalMs: callHeartbeatMs });
      await native.listen(dispatcher);
    },
    async close() {
      await native?.close();
      await peer?.close();
    },
    publish(schema, message, topic) {
      if (peer === undefined) {
        throw new IpcError("publish before listen: not registered", Code.FailedPrecondition);
      }
      peer.publish(topic ?? schema.typeName, toBinary(schema, create(schema, message)));
    },
  };
}

interface CallerState {
  readonly framePeer: FramePeer;
  readonly id: Uint8Array;
  /** Request ids of its calls still running here. */
  readonly open: Set<number>;
}

class RouterServerChannel implements ServerFrameChannel {
  readonly maxFrameBytes: number;
  private readonly callers = new Map<string, CallerState>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly peer: RouterPeer,
    private readonly callHeartbeatMs: number,
    private readonly registerTimeoutMs = 30_000,
  ) {
    this.maxFrameBytes = peer.maxFrameBytes;
  }

  async start(handlers: ServerFrameHandlers): Promise<void> {
    // Requests come in runs from one caller: reuse the last caller's state while the id matches
    // (saves a hex string and a lookup per request).
    let last: CallerState | undefined;
    this.peer.on("call", ({ client, envelope }) => {
      let st = last !== undefined && sameId(last.id, client) ? last : undefined;
      if (st === undefined || this.callers.get(st.framePeer.key) !== st) {
        const key = hexOf(client);
        st = this.callers.get(key);
        if (st === undefined) {
          st = { framePeer: { key }, id: Uint8Array.from(client), open: new Set() };
          this.callers.set(key, st);
        }
        last = st;
      }
      try {
        const head = peekEnvelopeHead(envelope, false);
        if (head.kind === FrameKind.REQUEST) st.open.add(head.requestId);
        else if (head.kind === FrameKind.CANCEL) st.open.delete(head.requestId);
      } catch {
        // The binding answers a malformed frame with an error frame.
      }
      handlers.onFrame(st.framePeer, envelope);
    });
    this.peer.on("peer", (e) => {
      if (e.kind !== "left" || e.role !== "client") return;
      const st = this.callers.get(e.id);
      if (st === undefined) return;
      this.callers.delete(e.id);
      // The caller is gone: its handlers are cancelled now, not after the binding's sweep.
      for (const id of st.open) {
        handlers.onFrame(st.framePeer, encodeEnvelope({ requestId: id, kind: FrameKind.CANCEL }));
      }
    });
    this.timer = setInterval(() => {
      if (!this.peer.registered) return;
      // The router vouches for callers it has not reported gone: keep their calls alive in the
      // binding, which would otherwise abort them for lack of the caller's own heartbeats.
      for (const [key, st] of this.callers) {
        if (st.open.size === 0) this.callers.delete(key);
        else handlers.onFrame(st.framePeer, HEARTBEAT_ENVELOPE);
      }
    }, this.callHeartbeatMs);
    this.timer.unref();
    this.peer.start();
    await this.peer.ready(this.registerTimeoutMs);
  }

  send(framePeer: FramePeer, frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) {
      return Promise.reject(
        new IpcError(
          `frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
          Code.ResourceExhausted,
        ),
      );
    }
    const head = peekEnvelopeHead(frame, false);
    if (head.kind === FrameKind.HEARTBEAT || head.kind === FrameKind.HELLO)
      return Promise.resolve();
    const st = this.callers.get(framePeer.key);
    if (st === undefined) return Promise.resolve(); // the caller left; the router would drop it
    if (endsCall(head.kind)) st.open.delete(head.requestId);
    return this.peer.sendCall(frame, st.id);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.peer.close();
  }
}
