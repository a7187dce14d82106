import { fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { Dispatcher, IncomingCallInit, ServerCallSink, ServerTransport } from "./call.js";
import { Deadline, deadlines } from "./deadline-scheduler.js";
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

/**
 * A call being served: its deadline entry, its lazily created signal, and the sink the dispatcher
 * reports to. One object per call; the AbortController exists only if the handler reads `signal`.
 */
class ServerCall extends Deadline implements IncomingCallInit, ServerCallSink {
  done = false;
  private controller: AbortController | undefined;
  private abortReason: IpcError | undefined;
  private sequence = 0;

  constructor(
    private readonly server: NativeServer,
    private readonly st: PeerState,
    readonly id: number,
    readonly method: AnyMethodDescriptor,
    deadline: number,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    super();
    this.deadline = deadline;
  }

  get peer(): string {
    return this.st.peer.key;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Ends the call without answering and aborts the handler's signal. */
  abort(reason: IpcError): void {
    this.end();
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  onDeadline(): void {
    if (this.done) return;
    const err = new IpcError(
      `deadline exceeded while ${this.method.path} ran`,
      Code.DeadlineExceeded,
    );
    this.abort(err);
    this.server.send(this.st.peer, errorFrame(this.id, err));
  }

  update(message: Message): Promise<void> {
    if (this.done) {
      return Promise.reject(this.abortReason ?? new IpcError("call has ended", Code.Canceled));
    }
    const m = this.method;
    const progress = m.kind === "progress";
    const frame = encodeEnvelope({
      requestId: this.id,
      kind: progress ? FrameKind.PROGRESS : FrameKind.STREAM_ITEM,
      sequence: ++this.sequence,
      payload: toBinary(progress ? m.progress : m.output, message),
    });
    return this.server.sendUpdate(this.st.peer, frame);
  }

  result(message: Message | undefined): void {
    if (this.done) return;
    this.end();
    const frame =
      message === undefined
        ? encodeEnvelope({ requestId: this.id, kind: FrameKind.END, sequence: this.sequence })
        : encodeEnvelope({
            requestId: this.id,
            kind: FrameKind.RESPONSE,
            payload: toBinary(this.method.output, message),
          });
    const limit = this.server.maxFrameBytes;
    if (frame.byteLength > limit) {
      // The caller must hear why, not wait for its deadline.
      const err = new IpcError(
        `response of ${this.method.path} is a frame of ${frame.byteLength} bytes, exceeding maxFrameBytes ${limit}`,
        Code.ResourceExhausted,
      );
      this.server.send(this.st.peer, errorFrame(this.id, err));
      return;
    }
    this.server.send(this.st.peer, frame);
  }

  error(err: IpcError): void {
    if (this.done) return;
    this.end();
    this.server.send(this.st.peer, errorFrame(this.id, err));
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    deadlines.remove(this);
    this.st.calls.delete(this.id);
  }
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

  /** Largest frame the channel carries, in bytes. */
  get maxFrameBytes(): number {
    return this.channel.maxFrameBytes;
  }

  /** Sends a progress update or stream item; resolves when queued (backpressure). */
  sendUpdate(peer: FramePeer, frame: Uint8Array): Promise<void> {
    return this.channel.send(peer, frame);
  }

  /** Sends a frame, best effort. */
  send(peer: FramePeer, frame: Uint8Array): void {
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
        st.calls
          .get(env.requestId)
          ?.abort(new IpcError("call cancelled by the client", Code.Canceled));
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
    const call = new ServerCall(this, st, id, method, deadline, env.metadata ?? NO_METADATA);
    st.calls.set(id, call);
    deadlines.add(call);
    void dispatcher.invoke(method, request, call, call);
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
    for (const call of [...st.calls.values()]) call.abort(err);
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

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

function errorFrame(requestId: number, err: IpcError): Uint8Array {
  return encodeEnvelope({
    requestId,
    kind: FrameKind.ERROR,
    error: { code: err.code, message: err.rawMessage, details: err.details },
  });
}
