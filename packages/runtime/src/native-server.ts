import { fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { Dispatcher, ServerCallSink, ServerTransport } from "./call.js";
import type { AnyMethodDescriptor } from "./descriptor.js";
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  FrameKind,
  peekRequestId,
} from "./envelope-codec.js";
import { Code, IpcError } from "./error.js";
import type { FramePeer, ServerFrameChannel } from "./frame-channel.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS, NATIVE_PROTOCOL_VERSION } from "./native-client.js";

/** Options of the native binding on the server side. */
export interface NativeServerOptions {
  /**
   * Heartbeat interval the server advertises in its hello, in milliseconds; default 1000. A
   * client with calls in flight that sends nothing for 3 intervals is presumed dead: its
   * handlers' signals abort with `Code.Unavailable` and its state is dropped.
   */
  readonly heartbeatIntervalMs?: number;
  /** Most calls in flight per client; default 4096. More fail with `Code.ResourceExhausted`. */
  readonly maxCallsPerPeer?: number;
}

interface ServerCall {
  readonly controller: AbortController;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

interface PeerState {
  readonly peer: FramePeer;
  readonly calls: Map<number, ServerCall>;
  lastReceived: number;
}

/**
 * Creates the server side of the native binding on a frame channel: decodes each envelope,
 * refuses what it cannot serve with a typed error frame (unknown method → `Unimplemented`,
 * malformed frame → `InvalidArgument`, deadline already passed → `DeadlineExceeded`, without
 * running the handler), runs the rest through the dispatcher, answers heartbeats and hellos, and
 * aborts the handlers of cancelled calls and of clients that stopped sending heartbeats. A bad
 * frame from one client never disturbs the others. The transport owns `channel`.
 */
export function createNativeServerTransport(
  channel: ServerFrameChannel,
  options: NativeServerOptions = {},
): ServerTransport {
  return new NativeServer(channel, options);
}

class NativeServer implements ServerTransport {
  private readonly peers = new Map<string, PeerState>();
  private dispatcher: Dispatcher | undefined;
  private closed = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly heartbeatMs: number;
  private readonly maxCallsPerPeer: number;
  private readonly heartbeatFrame = encodeEnvelope({ kind: FrameKind.HEARTBEAT });

  constructor(
    private readonly channel: ServerFrameChannel,
    options: NativeServerOptions,
  ) {
    this.heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.maxCallsPerPeer = options.maxCallsPerPeer ?? 4096;
  }

  async listen(dispatcher: Dispatcher): Promise<void> {
    if (this.dispatcher !== undefined) throw new Error("server transport is already listening");
    this.dispatcher = dispatcher;
    await this.channel.start({
      onFrame: (peer, frame) => this.onFrame(peer, frame),
      onFrameError: (peer, err, head) => this.send(peer, errorFrame(peekRequestId(head), err)),
    });
    this.sweeper = setInterval(() => this.sweep(), this.heartbeatMs);
    this.sweeper.unref?.();
  }

  private send(peer: FramePeer, frame: Uint8Array): void {
    this.channel.send(peer, frame).catch(() => {
      // The peer is gone or the server closed; its calls end by cancel or sweep.
    });
  }

  private peerState(peer: FramePeer): PeerState {
    let st = this.peers.get(peer.key);
    if (st === undefined) {
      st = { peer, calls: new Map(), lastReceived: Date.now() };
      this.peers.set(peer.key, st);
    }
    return st;
  }

  private onFrame(peer: FramePeer, frame: Uint8Array): void {
    const st = this.peerState(peer);
    st.lastReceived = Date.now();
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch (e) {
      this.send(peer, errorFrame(peekRequestId(frame), IpcError.from(e, Code.InvalidArgument)));
      return;
    }
    switch (env.kind) {
      case FrameKind.REQUEST:
        this.onRequest(st, env);
        return;
      case FrameKind.CANCEL: {
        const call = st.calls.get(env.requestId);
        if (call !== undefined) this.finish(st, env.requestId, call);
        call?.controller.abort(new IpcError("call cancelled by the client", Code.Canceled));
        return;
      }
      case FrameKind.HEARTBEAT:
        this.send(peer, this.heartbeatFrame);
        return;
      case FrameKind.HELLO:
        this.send(
          peer,
          encodeEnvelope({
            kind: FrameKind.HELLO,
            hello: {
              protocolVersion: NATIVE_PROTOCOL_VERSION,
              schemaHashes: this.dispatcher?.schemaHashes() ?? {},
              heartbeatIntervalMs: this.heartbeatMs,
              maxFrameBytes: this.channel.maxFrameBytes,
            },
          }),
        );
        return;
      default:
        this.send(
          peer,
          errorFrame(
            env.requestId,
            new IpcError(`unexpected frame kind ${env.kind} from a client`, Code.InvalidArgument),
          ),
        );
    }
  }

  private onRequest(st: PeerState, env: Envelope): void {
    const id = env.requestId;
    const peer = st.peer;
    const dispatcher = this.dispatcher;
    if (dispatcher === undefined || this.closed) {
      this.send(peer, errorFrame(id, new IpcError("server is closing", Code.Unavailable)));
      return;
    }
    if (id === 0) {
      this.send(
        peer,
        errorFrame(0, new IpcError("request without a request id", Code.InvalidArgument)),
      );
      return;
    }
    if (st.calls.has(id)) {
      this.send(
        peer,
        errorFrame(id, new IpcError(`request id ${id} is already in flight`, Code.InvalidArgument)),
      );
      return;
    }
    if (st.calls.size >= this.maxCallsPerPeer) {
      this.send(
        peer,
        errorFrame(
          id,
          new IpcError(
            `${st.calls.size} calls in flight exceed maxCallsPerPeer ${this.maxCallsPerPeer}`,
            Code.ResourceExhausted,
          ),
        ),
      );
      return;
    }
    const method = dispatcher.lookup(env.method);
    if (method === undefined) {
      this.send(
        peer,
        errorFrame(
          id,
          new IpcError(`method ${env.method || "(empty)"} is not implemented`, Code.Unimplemented),
        ),
      );
      return;
    }
    const now = Date.now();
    const deadline =
      env.deadlineUnixMs === 0
        ? now + (method.timeoutMs ?? method.service.defaultTimeoutMs)
        : env.deadlineUnixMs;
    if (deadline <= now) {
      this.send(
        peer,
        errorFrame(
          id,
          new IpcError(
            `deadline passed ${now - deadline} ms before ${method.path} arrived; not executed`,
            Code.DeadlineExceeded,
          ),
        ),
      );
      return;
    }
    let request: Message;
    try {
      request = fromBinary(method.input, env.payload);
    } catch (e) {
      this.send(
        peer,
        errorFrame(
          id,
          new IpcError(
            `malformed request for ${method.path}: ${(e as Error).message}`,
            Code.InvalidArgument,
          ),
        ),
      );
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      if (call.done) return;
      this.finish(st, id, call);
      const err = new IpcError(`deadline exceeded while ${method.path} ran`, Code.DeadlineExceeded);
      controller.abort(err);
      this.send(peer, errorFrame(id, err));
    }, deadline - now);
    const call: ServerCall = { controller, timer, done: false };
    st.calls.set(id, call);
    const sink = this.sinkFor(st, id, call, method);
    void dispatcher.invoke(
      method,
      request,
      { signal: controller.signal, deadline, metadata: env.metadata ?? {}, peer: peer.key },
      sink,
    );
  }

  private sinkFor(
    st: PeerState,
    id: number,
    call: ServerCall,
    method: AnyMethodDescriptor,
  ): ServerCallSink {
    let sequence = 0;
    const peer = st.peer;
    const updateKind = method.kind === "progress" ? FrameKind.PROGRESS : FrameKind.STREAM_ITEM;
    const updateDesc = method.kind === "progress" ? method.progress : method.output;
    return {
      update: (message) => {
        if (call.done) {
          return Promise.reject(
            IpcError.from(call.controller.signal.reason ?? "call ended", Code.Canceled),
          );
        }
        sequence++;
        const frame = encodeEnvelope({
          requestId: id,
          kind: updateKind,
          sequence,
          payload: toBinary(updateDesc, message),
        });
        return this.channel.send(peer, frame);
      },
      result: (message) => {
        if (call.done) return;
        this.finish(st, id, call);
        const frame =
          message === undefined
            ? encodeEnvelope({ requestId: id, kind: FrameKind.END, sequence })
            : encodeEnvelope({
                requestId: id,
                kind: FrameKind.RESPONSE,
                payload: toBinary(method.output, message),
              });
        this.send(peer, frame);
      },
      error: (err) => {
        if (call.done) return;
        this.finish(st, id, call);
        this.send(peer, errorFrame(id, err));
      },
    };
  }

  private finish(st: PeerState, id: number, call: ServerCall): void {
    call.done = true;
    if (call.timer !== undefined) clearTimeout(call.timer);
    st.calls.delete(id);
  }

  /** Drops clients silent for 3 heartbeat intervals, aborting their calls. */
  private sweep(): void {
    const cutoff = Date.now() - 3 * this.heartbeatMs;
    for (const [key, st] of this.peers) {
      if (st.lastReceived >= cutoff) continue;
      this.abortPeer(st, new IpcError("client stopped sending heartbeats", Code.Unavailable));
      this.peers.delete(key);
    }
  }

  private abortPeer(st: PeerState, err: IpcError): void {
    for (const [id, call] of [...st.calls]) {
      this.finish(st, id, call);
      call.controller.abort(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    const err = new IpcError("server closed", Code.Unavailable);
    for (const st of this.peers.values()) {
      for (const id of st.calls.keys()) this.send(st.peer, errorFrame(id, err));
      this.abortPeer(st, err);
    }
    this.peers.clear();
    await this.channel.close();
  }
}

function errorFrame(requestId: number, err: IpcError): Uint8Array {
  return encodeEnvelope({
    requestId,
    kind: FrameKind.ERROR,
    error: { code: err.code, message: err.rawMessage, details: err.details },
  });
}
