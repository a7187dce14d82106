import { randomUUID } from "node:crypto";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import {
  type AnyMethodDescriptor,
  Code,
  DEFAULT_MAX_FRAME_BYTES,
  type Dispatcher,
  type IncomingCallInit,
  IpcError,
  type ServerCallSink,
  type ServerTransport,
  type ServiceDescriptor,
} from "@protoipc/runtime";
import {
  correlationOf,
  createMarked,
  decodeTagged,
  encodeTagged,
  jobEndVariant,
  jobErrorVariant,
  requestErrorVariant,
  type TaggedFormat,
  type TaggedService,
  taggedService,
  unwrapProgress,
} from "@protoipc/runtime/tagged";
import { Router, XPublisher } from "zeromq";
import { checkEndpoint, checkInt, INT32_MAX, SEND_RECHECK_MS } from "./options.js";
import { SUBSCRIPTION_CONFIRM_PREFIX } from "./tagged-client.js";

/** Options of {@link createZmqTaggedServerTransport}. */
export interface ZmqTaggedServerTransportOptions {
  /** The service served; its schema declares the tagged unions (`(protoipc.v1.service).tagged`). */
  readonly service: ServiceDescriptor;
  /** Request endpoint to bind (a ROUTER that REQ clients see as a REP); `tcp://127.0.0.1:*` picks a port. */
  readonly bind: string;
  /** Update endpoint to bind (an XPUB that SUB clients see as a PUB). */
  readonly updatesBind: string;
  /** `"msgpack"` (default, the dgx-pixels wire) or `"json"`. */
  readonly format?: TaggedFormat;
  /** Largest frame accepted (ZMQ_MAXMSGSIZE), in bytes; default 4 MiB. */
  readonly maxFrameBytes?: number;
}

/** A server transport of the tagged binding; `address` / `updatesAddress` are the endpoints bound. */
export interface ZmqTaggedServerTransport extends ServerTransport {
  readonly address: string | undefined;
  readonly updatesAddress: string | undefined;
}

/**
 * A server transport for the tagged binding over ZeroMQ, the TypeScript twin of Python's
 * `protoipc.tagged_zmq`: requests as tagged maps on a ROUTER bound to `bind` (wire-compatible with
 * the original's REP, but serving many clients' calls concurrently), progress methods as jobs
 * published on an XPUB bound to `updatesBind`. Every call goes through the server's dispatch
 * (interceptors apply).
 *
 * - A unary result is the reply; an error replies the schema's request-level error variant
 *   (`{"type": "error", "message": "[code] text"}`), as does bad input (malformed frame, unknown
 *   tag, wrong type: `Code.InvalidArgument`; unknown method: `Code.Unimplemented`); the server
 *   goes on serving.
 * - A progress method replies its `accepted` variant at once, then publishes each
 *   `ctx.progress(...)` update, its result or job error, then the job end (`job_finished`).
 *   Publishing waits while a subscriber's queue is full (XPUB no-drop), in order.
 * - The XPUB echoes each client's subscription token (`SUBSCRIPTION_CONFIRM_PREFIX…`) once it has
 *   the subscription, so protoipc clients send their request only once subscribed.
 * - A request of the schema's cancel method for a job running here aborts the job's handler and is
 *   answered at once; otherwise it goes to the handler.
 *
 * The server that listens on it owns it; `close()` aborts running handlers with
 * `Code.Unavailable` and closes both sockets.
 *
 * @throws IpcError Code.InvalidArgument when an endpoint is not `ipc://` or `tcp://`;
 *   Code.Internal when the service's schema declares no tagged binding
 */
export function createZmqTaggedServerTransport(
  options: ZmqTaggedServerTransportOptions,
): ZmqTaggedServerTransport {
  return new TaggedServerTransport(options);
}

class TaggedServerTransport implements ZmqTaggedServerTransport {
  address: string | undefined;
  updatesAddress: string | undefined;
  private readonly binding: TaggedService;
  private readonly format: TaggedFormat;
  private readonly maxFrameBytes: number;
  private router: Router | undefined;
  private xpub: XPublisher | undefined;
  private closed = false;
  private routerChain: Promise<void> = Promise.resolve();
  private publishChain: Promise<void> = Promise.resolve();
  /** Running jobs by id. */
  private readonly jobs = new Map<string, TaggedServerCall>();
  /** Every running call, so `close` can abort them. */
  readonly calls = new Set<TaggedServerCall>();

  constructor(private readonly options: ZmqTaggedServerTransportOptions) {
    checkEndpoint("bind", options.bind);
    checkEndpoint("updatesBind", options.updatesBind);
    this.binding = taggedService(options.service);
    this.format = options.format ?? "msgpack";
    this.maxFrameBytes = checkInt(
      "maxFrameBytes",
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      1,
      INT32_MAX,
    );
  }

  async listen(dispatcher: Dispatcher): Promise<void> {
    if (this.router !== undefined || this.closed) {
      throw new IpcError("tagged server transport is started or closed", Code.FailedPrecondition);
    }
    const common = {
      linger: 0,
      maxMessageSize: this.maxFrameBytes,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
    };
    const router = new Router(common);
    // No drop: a full subscriber makes publishing wait (sendTimeout bounds one wait; see send).
    const xpub = new XPublisher({ ...common, noDrop: true, sendTimeout: SEND_RECHECK_MS });
    try {
      await router.bind(this.options.bind);
      await xpub.bind(this.options.updatesBind);
    } catch (e) {
      router.close();
      xpub.close();
      this.closed = true;
      throw new IpcError(
        `cannot bind ${this.options.bind} / ${this.options.updatesBind}: ${(e as Error).message}`,
        Code.Unavailable,
        { cause: e },
      );
    }
    this.router = router;
    this.xpub = xpub;
    this.address = router.lastEndpoint ?? this.options.bind;
    this.updatesAddress = xpub.lastEndpoint ?? this.options.updatesBind;
    void this.readRequests(router, dispatcher);
    void this.readSubscriptions(xpub);
  }

  private async readRequests(router: Router, dispatcher: Dispatcher): Promise<void> {
    try {
      for await (const frames of router) {
        // A REQ peer sends [identity, "", body]; anything else is not this wire.
        if (frames.length !== 3 || frames[1]!.length !== 0) continue;
        const peer = [frames[0]!, frames[1]!];
        try {
          this.handle(dispatcher, peer, frames[2]!);
        } catch (e) {
          this.reply(peer, this.errorReply(IpcError.from(e, Code.Internal)));
        }
      }
    } catch {
      // closed
    }
  }

  private handle(dispatcher: Dispatcher, peer: Buffer[], body: Uint8Array): void {
    const b = this.binding;
    const request = decodeTagged(b.requests, body, this.format);
    const method = b.methodByRequest.get(request.$typeName);
    if (method === undefined || dispatcher.lookup(method.path) === undefined) {
      throw new IpcError(
        `request ${b.requests.tags.get(request.$typeName)} is not implemented`,
        Code.Unimplemented,
      );
    }
    const deadline = Date.now() + (method.timeoutMs ?? method.service.defaultTimeoutMs);
    const job = b.jobs.get(method.path);
    let call: TaggedServerCall;
    if (job === undefined) {
      if (this.cancelJob(method, request, peer)) return;
      call = new TaggedServerCall(this, peer, deadline, undefined, undefined);
    } else {
      const m = request as unknown as Record<string, unknown>;
      const id = String(m[job.correlationField.localName] ?? "") || randomUUID();
      m[job.correlationField.localName] = id;
      if (this.jobs.has(id)) throw new IpcError(`job ${id} is already running`, Code.AlreadyExists);
      call = new TaggedServerCall(this, peer, deadline, id, method.progress as DescMessage);
      this.jobs.set(id, call);
      this.reply(peer, encodeTagged(b.responses, createMarked(job.accepted, id), this.format));
    }
    this.calls.add(call);
    void dispatcher.invoke(method, request, call, call);
  }

  private cancelJob(method: AnyMethodDescriptor, request: Message, peer: Buffer[]): boolean {
    const b = this.binding;
    if (![...b.jobs.values()].some((j) => j.cancel === method)) return false;
    const id = correlationOf(request, method.input as DescMessage);
    const call = id === undefined ? undefined : this.jobs.get(id);
    if (call === undefined || id === undefined) return false; // the handler decides
    call.abort(new IpcError(`job ${id} cancelled by a client`, Code.Canceled));
    this.reply(
      peer,
      encodeTagged(b.responses, createMarked(method.output as DescMessage, id), this.format),
    );
    return true;
  }

  private async readSubscriptions(xpub: XPublisher): Promise<void> {
    const prefix = Buffer.from(SUBSCRIPTION_CONFIRM_PREFIX);
    try {
      for await (const [msg] of xpub) {
        if (msg === undefined || msg[0] !== 1) continue;
        const topic = msg.subarray(1);
        if (topic.subarray(0, prefix.length).equals(prefix)) void this.publish(topic);
      }
    } catch {
      // closed
    }
  }

  /** The request-level error variant holding `[code] message`. */
  errorReply(e: IpcError): Uint8Array {
    const b = this.binding;
    const desc = requestErrorVariant(b.responses) ?? jobErrorVariant(b.responses);
    if (desc === undefined) {
      throw new IpcError(`${b.responses.desc.typeName} has no error variant`, Code.Internal);
    }
    return encodeTagged(b.responses, createMarked(desc, "", { error: e }), this.format);
  }

  /** Sends one reply; replies leave in order (one pending send per socket). */
  reply(peer: Buffer[], body: Uint8Array): void {
    const router = this.router;
    if (router === undefined || this.closed) return;
    this.routerChain = this.routerChain.then(
      () => router.send([...peer, body]).catch(() => {}), // a gone peer: nothing to answer
    );
  }

  /** Publishes one frame, in order, waiting while a subscriber's queue is full. */
  publish(frame: Uint8Array): Promise<void> {
    const run = async () => {
      for (;;) {
        const xpub = this.xpub;
        if (xpub === undefined || this.closed) {
          throw new IpcError("server closed", Code.Unavailable);
        }
        try {
          await xpub.send(frame);
          return;
        } catch (e) {
          // EAGAIN after SEND_RECHECK_MS: zeromq.js can miss the wake-up of a full peer's queue
          // draining, so the wait is re-armed rather than trusted (see options.ts).
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
        }
      }
    };
    const p = this.publishChain.then(run);
    this.publishChain = p.catch(() => {});
    return p;
  }

  get taggedBinding(): TaggedService {
    return this.binding;
  }

  get taggedFormat(): TaggedFormat {
    return this.format;
  }

  endJob(call: TaggedServerCall): void {
    this.calls.delete(call);
    if (call.jobId !== undefined) this.jobs.delete(call.jobId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const err = new IpcError("server closed", Code.Unavailable);
    for (const c of [...this.calls]) c.abort(err);
    this.closed = true;
    this.router?.close();
    this.xpub?.close();
    this.router = undefined;
    this.xpub = undefined;
  }
}

/** One call being served: the dispatcher's `IncomingCallInit` and `ServerCallSink`. */
class TaggedServerCall implements IncomingCallInit, ServerCallSink {
  private controller: AbortController | undefined;
  private reason: IpcError | undefined;
  private done = false;
  private readonly timer: NodeJS.Timeout;
  readonly metadata: Readonly<Record<string, string>> = {};

  constructor(
    private readonly server: TaggedServerTransport,
    private readonly peerFrames: Buffer[],
    readonly deadline: number,
    readonly jobId: string | undefined,
    private readonly progressDesc: DescMessage | undefined,
  ) {
    this.timer = setTimeout(
      () => {
        const e = new IpcError("deadline exceeded while the handler ran", Code.DeadlineExceeded);
        this.error(e);
        this.abort(e);
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  get peer(): string {
    return this.peerFrames[0]!.toString("hex");
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.reason !== undefined && !this.controller.signal.aborted) {
      this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  abort(reason: IpcError): void {
    this.end();
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.server.endJob(this);
  }

  update(message: Message): Promise<void> {
    if (this.done) {
      return Promise.reject(this.reason ?? new IpcError("call has ended", Code.Canceled));
    }
    const updates = this.server.taggedBinding.updates;
    const variant =
      this.progressDesc === undefined ? undefined : unwrapProgress(message, this.progressDesc);
    if (updates === undefined || variant === undefined) {
      return Promise.reject(new IpcError("empty progress update", Code.Internal));
    }
    return this.server.publish(encodeTagged(updates, variant, this.server.taggedFormat));
  }

  result(message: Message | undefined): void {
    if (this.done) return;
    this.end();
    const b = this.server.taggedBinding;
    const fmt = this.server.taggedFormat;
    if (this.jobId === undefined) {
      let body: Uint8Array;
      try {
        if (message === undefined)
          throw new IpcError("the handler answered nothing", Code.Internal);
        body = encodeTagged(b.responses, message, fmt);
      } catch (e) {
        body = this.server.errorReply(new IpcError(IpcError.from(e).rawMessage, Code.Internal));
      }
      this.server.reply(this.peerFrames, body);
      return;
    }
    if (b.updates !== undefined && message !== undefined) {
      void this.server.publish(encodeTagged(b.updates, message, fmt)).catch(() => {});
    }
    this.publishEnd(true);
  }

  error(e: IpcError): void {
    if (this.done) return;
    this.end();
    const b = this.server.taggedBinding;
    if (this.jobId === undefined) {
      this.server.reply(this.peerFrames, this.server.errorReply(e));
      return;
    }
    const desc = b.updates === undefined ? undefined : jobErrorVariant(b.updates);
    if (desc !== undefined && b.updates !== undefined) {
      const m = createMarked(desc, this.jobId, { error: e });
      void this.server
        .publish(encodeTagged(b.updates, m, this.server.taggedFormat))
        .catch(() => {});
    }
    this.publishEnd(false);
  }

  private publishEnd(success: boolean): void {
    const b = this.server.taggedBinding;
    const desc = b.updates === undefined ? undefined : jobEndVariant(b.updates);
    if (desc === undefined || b.updates === undefined || this.jobId === undefined) return;
    const m = createMarked(desc, this.jobId, { success });
    void this.server.publish(encodeTagged(b.updates, m, this.server.taggedFormat)).catch(() => {});
  }
}
