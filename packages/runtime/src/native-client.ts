import { fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { CallHandle, CallSink, ClientTransport, OutgoingCall } from "./call.js";
import type { AnyMethodDescriptor } from "./descriptor.js";
import {
  decodeEnvelope,
  type Envelope,
  type EnvelopeInit,
  encodeEnvelope,
  encodeMethodPath,
  FrameKind,
  type WireHello,
  type WireStatus,
} from "./envelope-codec.js";
import { Code, IpcError } from "./error.js";
import type { ClientFrameChannel } from "./frame-channel.js";

/** Version of the native protocol this runtime speaks (envelope.proto). */
export const NATIVE_PROTOCOL_VERSION = 1;

/** Default interval of the native binding's application heartbeats, in milliseconds. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;

/** Options of the native binding on the client side. */
export interface NativeClientOptions {
  /**
   * Interval of application heartbeats, in milliseconds; default 1000. The client sends one per
   * interval and the server answers each. A pending call fails with `Code.Unavailable` when
   * nothing has arrived from the server for 2.5 intervals since the later of its start and the
   * last frame: a dead server is reported within 3 intervals of its last frame.
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Called when the server's hello shows a different schema hash for a service this client
   * calls (the two sides were generated from different schemas). Default: a process warning,
   * once per service. Calls go on either way; protobuf tolerates compatible changes.
   */
  readonly onSchemaMismatch?: (service: string, localHash: string, remoteHash: string) => void;
}

/** A call in flight on the client side; also its handle for the client core. */
class PendingCall implements CallHandle {
  /** Sequence number of the last update received. */
  sequence = 0;
  /** When the call started, milliseconds since the Unix epoch. */
  readonly startedAt = Date.now();

  constructor(
    private readonly client: NativeClient,
    readonly id: number,
    readonly method: AnyMethodDescriptor,
    readonly sink: CallSink,
  ) {}

  cancel(_reason: IpcError): void {
    this.client.cancelCall(this.id);
  }
}

/** The handle of a call that never got onto the wire. */
const NOOP_HANDLE: CallHandle = { cancel() {} };

/** Turns a wire status into an IpcError; codes outside 1..16 become `Code.Unknown`. */
export function statusToError(status: WireStatus | undefined): IpcError {
  if (status === undefined) return new IpcError("error frame without a status", Code.Internal);
  const code = status.code >= 1 && status.code <= 16 ? (status.code as Code) : Code.Unknown;
  return new IpcError(status.message, code, { details: status.details });
}

/**
 * Creates the client side of the native binding on a frame channel: each call is a
 * FRAME_KIND_REQUEST envelope with a request id unique on the channel, so many calls share one
 * connection; replies, progress updates and stream items are matched by that id; cancellation
 * sends FRAME_KIND_CANCEL; heartbeats detect a dead server. The transport owns `channel` and
 * closes it in `close()`.
 */
export function createNativeClientTransport(
  channel: ClientFrameChannel,
  options: NativeClientOptions = {},
): ClientTransport {
  return new NativeClient(channel, options);
}

class NativeClient implements ClientTransport {
  private readonly calls = new Map<number, PendingCall>();
  private nextId = 1;
  private started = false;
  private closed = false;
  private lastReceived = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly heartbeatMs: number;
  private readonly heartbeatFrame: Uint8Array;
  private serverHello: WireHello | undefined;
  private readonly localHashes = new Map<string, string>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly channel: ClientFrameChannel,
    private readonly options: NativeClientOptions,
  ) {
    this.heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!(this.heartbeatMs > 0)) {
      throw new IpcError(
        `heartbeatIntervalMs ${this.heartbeatMs} must be > 0`,
        Code.InvalidArgument,
      );
    }
    this.heartbeatFrame = encodeEnvelope({ kind: FrameKind.HEARTBEAT });
  }

  private ensureStarted(first: AnyMethodDescriptor): void {
    if (this.started) return;
    this.started = true;
    this.channel.start({
      onFrame: (frame) => this.onFrame(frame),
      onFrameError: (err) => this.onFrameError(err),
      // Stream channels report a dropped connection: what was sent on it gets no answer.
      onClosed: () =>
        this.failAll(new IpcError("connection to the server closed", Code.Unavailable)),
    });
    this.lastReceived = Date.now();
    this.localHashes.set(first.service.typeName, first.service.schemaHash);
    this.sendControl(
      encodeEnvelope({
        kind: FrameKind.HELLO,
        hello: {
          protocolVersion: NATIVE_PROTOCOL_VERSION,
          schemaHashes: { [first.service.typeName]: first.service.schemaHash },
          heartbeatIntervalMs: this.heartbeatMs,
          maxFrameBytes: this.channel.maxFrameBytes,
        },
      }),
    );
    // Checking four times per interval bounds detection at 2.75 intervals of silence.
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.heartbeatMs / 4)));
    this.timer.unref?.();
  }

  private ticks = 0;
  private tick(): void {
    const now = Date.now();
    const limitMs = this.heartbeatMs * 2.5;
    if (this.calls.size > 0 && now - this.lastReceived > limitMs) {
      // A call's silence window starts when it does, so a call made while the connection is
      // being re-established (server restart) gets a full window too.
      for (const p of [...this.calls.values()]) {
        const silentMs = now - Math.max(this.lastReceived, p.startedAt);
        if (silentMs <= limitMs) continue;
        this.take(p.id);
        p.sink.onError(
          new IpcError(
            `server unavailable: no frame for ${silentMs} ms (heartbeat interval ${this.heartbeatMs} ms)`,
            Code.Unavailable,
          ),
        );
      }
    }
    if (++this.ticks % 4 === 0) this.sendControl(this.heartbeatFrame);
  }

  private sendControl(frame: Uint8Array): void {
    this.channel.send(frame).catch(() => {
      // Control frames are best effort; liveness is judged by what arrives.
    });
  }

  start(call: OutgoingCall, sink: CallSink): CallHandle {
    if (this.closed) {
      sink.onError(new IpcError("transport is closed", Code.Unavailable));
      return NOOP_HANDLE;
    }
    const method = call.method;
    this.ensureStarted(method);
    if (!this.localHashes.has(method.service.typeName)) this.checkServiceHash(method);
    const id = this.nextId++;
    let frame: Uint8Array;
    try {
      const init: EnvelopeInit = {
        requestId: id,
        kind: FrameKind.REQUEST,
        methodBytes: encodeMethodPath(method.path),
        deadlineUnixMs: call.deadline,
        payload: toBinary(method.input, call.message),
      };
      if (hasKeys(call.metadata)) init.metadata = call.metadata;
      frame = encodeEnvelope(init);
    } catch (e) {
      sink.onError(IpcError.from(e, Code.Internal));
      return NOOP_HANDLE;
    }
    const pending = new PendingCall(this, id, method, sink);
    this.calls.set(id, pending);
    this.channel.send(frame).then(undefined, (e: unknown) => {
      this.take(id)?.sink.onError(IpcError.from(e, Code.Unavailable));
    });
    return pending;
  }

  private checkServiceHash(method: AnyMethodDescriptor): void {
    const name = method.service.typeName;
    if (!this.localHashes.has(name)) this.localHashes.set(name, method.service.schemaHash);
    const remote = this.serverHello?.schemaHashes[name];
    if (remote !== undefined && remote !== method.service.schemaHash) {
      this.warnMismatch(name, method.service.schemaHash, remote);
    }
  }

  /** Removes a pending call. */
  private take(id: number): PendingCall | undefined {
    const p = this.calls.get(id);
    if (p !== undefined) this.calls.delete(id);
    return p;
  }

  /** The caller gave up on call `id`: tell the server, forget the call. */
  cancelCall(id: number): void {
    if (this.take(id) === undefined) return;
    this.sendControl(encodeEnvelope({ requestId: id, kind: FrameKind.CANCEL }));
  }

  private onFrameError(err: IpcError): void {
    // A frame we refused (too large, multipart) cannot be matched to a call: the call it belonged
    // to fails by its deadline or heartbeat. Count it as liveness, report it once per call site.
    this.lastReceived = Date.now();
    process.emitWarning(`protoipc: dropped a frame from the server: ${err.message}`);
  }

  private onFrame(frame: Uint8Array): void {
    this.lastReceived = Date.now();
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch (e) {
      process.emitWarning(
        `protoipc: dropped a malformed frame from the server: ${(e as Error).message}`,
      );
      return;
    }
    switch (env.kind) {
      case FrameKind.RESPONSE: {
        const p = this.take(env.requestId);
        if (p === undefined) return; // cancelled or timed out already
        let out: Message;
        try {
          out = fromBinary(p.method.output, env.payload);
        } catch (e) {
          p.sink.onError(decodeFailure(p.method, "response", e));
          return;
        }
        p.sink.onResult(out);
        return;
      }
      case FrameKind.ERROR: {
        if (env.requestId === 0) {
          process.emitWarning(`protoipc: the server reported: ${statusToError(env.error).message}`);
          return;
        }
        this.take(env.requestId)?.sink.onError(statusToError(env.error));
        return;
      }
      case FrameKind.PROGRESS:
      case FrameKind.STREAM_ITEM: {
        const p = this.calls.get(env.requestId);
        if (p === undefined) return;
        if (env.sequence !== p.sequence + 1) {
          this.failWithGap(p, env.sequence);
          return;
        }
        p.sequence = env.sequence;
        const desc = env.kind === FrameKind.PROGRESS ? p.method.progress : p.method.output;
        if (desc === undefined) {
          this.take(p.id);
          p.sink.onError(
            new IpcError(
              `${p.method.path} received a progress update but is not a progress method`,
              Code.Internal,
            ),
          );
          return;
        }
        let m: Message;
        try {
          m = fromBinary(desc, env.payload);
        } catch (e) {
          this.take(p.id);
          this.sendControl(encodeEnvelope({ requestId: p.id, kind: FrameKind.CANCEL }));
          p.sink.onError(decodeFailure(p.method, "update", e));
          return;
        }
        p.sink.onUpdate(m);
        return;
      }
      case FrameKind.END: {
        const p = this.calls.get(env.requestId);
        if (p === undefined) return;
        if (env.sequence !== p.sequence) {
          this.failWithGap(p, env.sequence + 1);
          return;
        }
        this.take(p.id);
        p.sink.onResult(undefined);
        return;
      }
      case FrameKind.HELLO:
        this.serverHello = env.hello;
        for (const [name, hash] of this.localHashes) {
          const remote = env.hello?.schemaHashes[name];
          if (remote !== undefined && remote !== hash) this.warnMismatch(name, hash, remote);
        }
        return;
      case FrameKind.HEARTBEAT:
        return;
      default:
        process.emitWarning(`protoipc: unexpected frame kind ${env.kind} from the server`);
    }
  }

  private warnMismatch(name: string, local: string, remote: string): void {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    if (this.options.onSchemaMismatch) this.options.onSchemaMismatch(name, local, remote);
    else {
      process.emitWarning(
        `protoipc: schema of ${name} differs between client (${local.slice(0, 12)}) and server (${remote.slice(0, 12)}); regenerate both from the same proto files`,
      );
    }
  }

  private failWithGap(p: PendingCall, got: number): void {
    this.take(p.id);
    this.sendControl(encodeEnvelope({ requestId: p.id, kind: FrameKind.CANCEL }));
    const lost = got - p.sequence - 1;
    p.sink.onError(
      new IpcError(
        `${p.method.path}: update ${got} arrived after ${p.sequence}; ${lost > 0 ? lost : "some"} update(s) lost`,
        Code.DataLoss,
      ),
    );
  }

  private failAll(err: IpcError): void {
    for (const id of [...this.calls.keys()]) this.take(id)?.sink.onError(err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.failAll(new IpcError("transport closed while the call was pending", Code.Unavailable));
    await this.channel.close();
  }
}

function hasKeys(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return true;
  return false;
}

function decodeFailure(method: AnyMethodDescriptor, what: string, e: unknown): IpcError {
  return new IpcError(
    `cannot decode the ${what} of ${method.path}: ${e instanceof Error ? e.message : String(e)}`,
    Code.Internal,
    { cause: e },
  );
}
