import { randomUUID } from "node:crypto";
import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  type CallHandle,
  type CallSink,
  type ClientTransport,
  Code,
  DEFAULT_MAX_FRAME_BYTES,
  IpcError,
  type OutgoingCall,
} from "@protoipc/runtime";
import {
  correlationOf,
  createMarked,
  decodeTagged,
  encodeTagged,
  errorOf,
  successOf,
  type TaggedFormat,
  type TaggedJob,
  type TaggedService,
  type TaggedUnion,
  taggedService,
  wrapProgress,
} from "@protoipc/runtime/tagged";
import { Request, Subscriber } from "zeromq";
import { checkEndpoint, checkInt, INT32_MAX } from "./options.js";

/** Default time one request attempt waits for its reply, in milliseconds: 5000 (the dgx-pixels client's REQ timeout). */
export const DEFAULT_TAGGED_REQUEST_TIMEOUT_MS = 5000;
/** Default number of retries of a lost request of an idempotent method: 2 (3 attempts in all). */
export const DEFAULT_TAGGED_MAX_RETRIES = 2;
/** Default number of calls waiting for the REQ socket before new ones fail: 1024. */
export const DEFAULT_TAGGED_MAX_QUEUED_CALLS = 1024;
/** Default wait for a legacy publisher's subscription to settle after the handshake, in milliseconds: 100. */
export const DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS = 100;

/** The prefix of the frame a protoipc tagged server echoes to confirm a subscription. */
export const SUBSCRIPTION_CONFIRM_PREFIX = "\u0000protoipc.subscribed.";

/** Options of {@link createZmqTaggedTransport}. */
export interface ZmqTaggedTransportOptions {
  /** The server's request endpoint (its REP or ROUTER socket), `tcp://…` or `ipc://…`. */
  readonly address: string;
  /**
   * The server's update endpoint (its PUB or XPUB socket). Required for progress methods; a
   * progress call without it fails with `Code.FailedPrecondition`.
   */
  readonly updatesAddress?: string;
  /** `"msgpack"` (default, the dgx-pixels wire) or `"json"` (UTF-8 JSON text of the same shape). */
  readonly format?: TaggedFormat;
  /**
   * Time one request attempt waits for its reply, in milliseconds; default 5000. Capped by the
   * call's deadline. When it passes, the REQ socket is closed and reopened (Lazy Pirate).
   */
  readonly requestTimeoutMs?: number;
  /**
   * Retries of a request whose reply was lost, for methods whose `idempotency_level` is
   * `NO_SIDE_EFFECTS` or `IDEMPOTENT` only; default 2. Other methods fail at once with
   * `Code.Unavailable` (the server may or may not have run them).
   */
  readonly maxRetries?: number;
  /**
   * Calls waiting for the REQ socket (one request at a time: REQ is lockstep), beyond which a new
   * call fails at once with `Code.ResourceExhausted`; default 1024.
   */
  readonly maxQueuedCalls?: number;
  /**
   * Against a publisher that does not confirm subscriptions (a legacy PUB socket): how long to
   * wait after the SUB connection's handshake before sending the first progress request, in
   * milliseconds; default 100. protoipc's own servers confirm, and this wait is skipped.
   */
  readonly legacySubscribeGraceMs?: number;
  /**
   * How the SUB socket's subscription is confirmed before the first progress request is sent:
   * - `"auto"` (default): the server's echo of the transport's token (protoipc servers), else
   *   `legacySubscribeGraceMs` after the connection handshake (a legacy PUB);
   * - `"echo"`: only the echo; against a server that never echoes, progress calls fail with
   *   `Code.Unavailable` after `requestTimeoutMs` without sending their request;
   * - `"handshake"`: the handshake and the grace only (skips waiting for an echo).
   */
  readonly subscribeConfirm?: "auto" | "echo" | "handshake";
  /** Largest frame accepted, in bytes (ZMQ_MAXMSGSIZE); default 4 MiB. */
  readonly maxFrameBytes?: number;
}

/**
 * A client transport for the tagged binding over ZeroMQ (PROTOCOLS.md §1, dgx-pixels): each
 * request is one tagged map on a REQ socket connected to `address`; each reply is one tagged map;
 * progress methods are jobs whose updates, result and errors are published on `updatesAddress`
 * and read by a SUB socket, correlated by job id. Use it with the generated client exactly like
 * the native transport: `createClient(PixelService, createZmqTaggedTransport({ ... }))`.
 *
 * - **Lockstep and queueing**: REQ carries one request at a time, so calls wait in a FIFO queue of
 *   at most `maxQueuedCalls` (more fail with `Code.ResourceExhausted`). A call's deadline runs
 *   while it waits.
 * - **Lost replies (Lazy Pirate)**: an attempt waits `requestTimeoutMs` (at most the deadline);
 *   then the REQ socket is closed (dropping any late reply, so a stale reply is never delivered)
 *   and reopened. Only `NO_SIDE_EFFECTS`/`IDEMPOTENT` methods are sent again, at most
 *   `maxRetries` times; the call then fails with `Code.Unavailable`. A call cancelled while its
 *   request is in flight also closes and reopens the socket.
 * - **Progress**: before the first progress request the SUB socket subscribes and waits for the
 *   subscription to be confirmed: a protoipc server (XPUB) echoes a per-client token; a legacy PUB
 *   cannot, so after the connection handshake the transport waits `legacySubscribeGraceMs` (the
 *   residual risk: a legacy server publishing within that window after a fresh connection may
 *   lose the first updates, as the original's own clients do). The job is registered before the
 *   request is sent, so updates arriving before the acknowledgement are kept. An empty job id is
 *   replaced by a random UUID. The acknowledgement (`job_accepted`) keeps the call open; the
 *   result variant ends it; error variants and a job end with `success: false` fail it; aborting
 *   the call sends the schema's cancel request.
 *
 * Errors: the server's error variants become `IpcError` (`Code.Unknown` for the original's bare
 * strings, the code itself for `[code] message` texts of protoipc servers); a reply that is not
 * valid for the call fails it with `Code.Internal`. The transport owns its sockets: `close()`
 * fails pending calls with `Code.Unavailable` and closes them.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or an address is not an
 *   `ipc://` or `tcp://` endpoint
 */
export function createZmqTaggedTransport(options: ZmqTaggedTransportOptions): ClientTransport {
  return new TaggedClientTransport(options);
}

/** One call in the transport: queued, in flight on REQ, or (a job) waiting for its updates. */
interface Pending {
  readonly call: OutgoingCall;
  readonly sink: CallSink;
  readonly bytes: Uint8Array;
  readonly binding: TaggedService;
  readonly job: TaggedJob | undefined;
  readonly jobId: string | undefined;
  readonly retriable: boolean;
  /** Set once the request was handed to a REQ socket (the server may know the job). */
  sent: boolean;
  /** Set once the sink got its outcome, or the caller cancelled: nothing more is delivered. */
  done: boolean;
  /** Resolves when the call is cancelled (so waits can stop). */
  readonly stopped: Promise<void>;
  stop: () => void;
}

const noopHandle: CallHandle = { cancel() {} };

class TaggedClientTransport implements ClientTransport {
  private readonly address: string;
  private readonly updatesAddress: string | undefined;
  private readonly format: TaggedFormat;
  private readonly requestTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxQueuedCalls: number;
  private readonly graceMs: number;
  private readonly maxFrameBytes: number;
  private readonly confirmMode: "auto" | "echo" | "handshake";

  private readonly queue: Pending[] = [];
  private pumping = false;
  private closed = false;
  private req: Request | undefined;
  /** The call whose request is on the REQ socket now. */
  private inFlight: Pending | undefined;
  private sub: Subscriber | undefined;
  private subscribed: Promise<void> | undefined;
  private updates: TaggedUnion | undefined;
  private confirmToken = "";
  private onConfirm: (() => void) | undefined;
  /** Jobs waiting for updates, by job id. */
  private readonly jobs = new Map<string, Pending>();

  constructor(options: ZmqTaggedTransportOptions) {
    this.address = checkEndpoint("address", options.address);
    this.updatesAddress =
      options.updatesAddress === undefined
        ? undefined
        : checkEndpoint("updatesAddress", options.updatesAddress);
    this.format = options.format ?? "msgpack";
    if (this.format !== "msgpack" && this.format !== "json") {
      throw new IpcError(
        `format ${JSON.stringify(this.format)} is not msgpack or json`,
        Code.InvalidArgument,
      );
    }
    this.requestTimeoutMs = checkInt(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? DEFAULT_TAGGED_REQUEST_TIMEOUT_MS,
      1,
      INT32_MAX,
    );
    this.maxRetries = checkInt(
      "maxRetries",
      options.maxRetries ?? DEFAULT_TAGGED_MAX_RETRIES,
      0,
      100,
    );
    this.maxQueuedCalls = checkInt(
      "maxQueuedCalls",
      options.maxQueuedCalls ?? DEFAULT_TAGGED_MAX_QUEUED_CALLS,
      1,
      INT32_MAX,
    );
    this.graceMs = checkInt(
      "legacySubscribeGraceMs",
      options.legacySubscribeGraceMs ?? DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS,
      0,
      INT32_MAX,
    );
    this.confirmMode = options.subscribeConfirm ?? "auto";
    if (!["auto", "echo", "handshake"].includes(this.confirmMode)) {
      throw new IpcError(
        `subscribeConfirm ${JSON.stringify(this.confirmMode)} is not auto, echo or handshake`,
        Code.InvalidArgument,
      );
    }
    this.maxFrameBytes = checkInt(
      "maxFrameBytes",
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      1,
      INT32_MAX,
    );
  }

  start(call: OutgoingCall, sink: CallSink): CallHandle {
    if (this.closed) {
      sink.onError(new IpcError("transport is closed", Code.Unavailable));
      return noopHandle;
    }
    let p: Pending;
    try {
      p = this.prepare(call, sink);
    } catch (e) {
      sink.onError(IpcError.from(e, Code.Internal));
      return noopHandle;
    }
    if (this.queue.length >= this.maxQueuedCalls) {
      sink.onError(
        new IpcError(
          `${this.queue.length} queued calls reach maxQueuedCalls ${this.maxQueuedCalls}`,
          Code.ResourceExhausted,
        ),
      );
      return noopHandle;
    }
    if (p.jobId !== undefined) {
      if (this.jobs.has(p.jobId)) {
        sink.onError(
          new IpcError(`job ${p.jobId} is already running on this transport`, Code.AlreadyExists),
        );
        return noopHandle;
      }
      // Registered before the request leaves, so updates that beat the reply are kept.
      this.jobs.set(p.jobId, p);
    }
    this.queue.push(p);
    void this.pump();
    return { cancel: (reason) => this.cancel(p, reason) };
  }

  private prepare(call: OutgoingCall, sink: CallSink): Pending {
    const binding = taggedService(call.method.service);
    const job = binding.jobs.get(call.method.path);
    let message = call.message;
    let jobId: string | undefined;
    if (job !== undefined) {
      if (this.updatesAddress === undefined) {
        throw new IpcError(
          `${call.method.path} is a progress method: set updatesAddress to read its updates`,
          Code.FailedPrecondition,
        );
      }
      const m = message as unknown as Record<string, unknown>;
      jobId = String(m[job.correlationField.localName] ?? "");
      if (jobId === "") {
        jobId = randomUUID();
        message = create(
          call.method.input as DescMessage,
          {
            ...m,
            [job.correlationField.localName]: jobId,
          } as never,
        );
      }
    }
    let stop!: () => void;
    const stopped = new Promise<void>((r) => {
      stop = r;
    });
    return {
      call,
      sink,
      bytes: encodeTagged(binding.requests, message, this.format),
      binding,
      job,
      jobId,
      retriable:
        call.method.idempotency === "no_side_effects" || call.method.idempotency === "idempotent",
      sent: false,
      done: false,
      stopped,
      stop,
    };
  }

  private cancel(p: Pending, _reason: IpcError): void {
    if (p.done) return;
    p.done = true;
    p.stop();
    if (p.jobId !== undefined) this.jobs.delete(p.jobId);
    const sent = this.inFlight === p;
    if (sent) this.closeReq(); // Lazy Pirate: the reply, if any, must never reach the next call
    const queued = this.queue.indexOf(p);
    if (queued >= 0) this.queue.splice(queued, 1);
    // A job the server may have accepted is stopped with the schema's cancel request.
    if (p.job?.cancel !== undefined && p.jobId !== undefined && p.sent) {
      this.sendCancel(p.binding, p.job, p.jobId);
    }
  }

  /**
   * Queues the cancel request of a job (fire and forget: its reply or failure is ignored; skipped
   * when the queue is full). It bypasses the client's interceptors: the transport sends it.
   */
  private sendCancel(binding: TaggedService, job: TaggedJob, jobId: string): void {
    if (this.closed || job.cancel === undefined) return;
    const method = job.cancel;
    const markedMessage = createMarked(method.input as DescMessage, jobId);
    const ignore: CallSink = { onUpdate() {}, onResult() {}, onError() {} };
    let stop!: () => void;
    const stopped = new Promise<void>((r) => {
      stop = r;
    });
    if (this.queue.length >= this.maxQueuedCalls) return;
    this.queue.push({
      call: {
        method,
        message: markedMessage,
        deadline: Date.now() + this.requestTimeoutMs * (1 + this.maxRetries),
        metadata: {},
      },
      sink: ignore,
      bytes: encodeTagged(binding.requests, markedMessage, this.format),
      binding,
      job: undefined,
      jobId: undefined,
      retriable: true,
      sent: false,
      done: false,
      stopped,
      stop,
    });
    void this.pump();
  }

  /** The one loop that owns the REQ socket: one request at a time, in FIFO order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let p = this.queue.shift(); p !== undefined; p = this.queue.shift()) {
        if (p.done || this.closed) continue;
        if (p.job !== undefined) {
          try {
            await Promise.race([this.subscribe(p.binding), p.stopped]);
          } catch (e) {
            this.fail(p, IpcError.from(e, Code.Unavailable));
            continue;
          }
          if (p.done) continue;
        }
        await this.exchange(p);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Sends `p`'s request and delivers its reply, retrying lost replies of idempotent methods. */
  private async exchange(p: Pending): Promise<void> {
    const attempts = p.retriable ? 1 + this.maxRetries : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const remaining = p.call.deadline - Date.now();
      if (remaining <= 0) return; // the client core reports the deadline
      const waitMs = Math.max(1, Math.min(this.requestTimeoutMs, remaining));
      const sock = this.openReq();
      this.inFlight = p;
      p.sent = true;
      let reply: Buffer | undefined;
      try {
        sock.sendTimeout = waitMs;
        sock.receiveTimeout = waitMs;
        await sock.send(p.bytes);
        [reply] = await sock.receive();
      } catch {
        // Timeout, or the socket was closed by a cancel or close: reopen before anything else.
        if (this.req === sock) this.closeReq();
      } finally {
        this.inFlight = undefined;
      }
      if (p.done || this.closed) return;
      if (reply !== undefined) {
        this.deliver(p, reply);
        return;
      }
      if (!p.retriable || attempt === attempts || p.call.deadline - Date.now() <= 0) {
        // The server may have started the job although its acknowledgement was lost: stop it.
        if (p.job !== undefined && p.jobId !== undefined)
          this.sendCancel(p.binding, p.job, p.jobId);
        this.fail(
          p,
          new IpcError(
            `no reply to ${p.call.method.path} within requestTimeoutMs ${waitMs} after ${attempt} attempt(s)` +
              (p.retriable ? "" : `; not retried: ${p.call.method.name} is not idempotent`),
            Code.Unavailable,
          ),
        );
        return;
      }
    }
  }

  private deliver(p: Pending, reply: Uint8Array): void {
    const method = p.call.method;
    let msg: Message;
    try {
      msg = decodeTagged(p.binding.responses, reply, this.format);
    } catch (e) {
      const err = IpcError.from(e);
      this.fail(
        p,
        new IpcError(`malformed reply to ${method.path}: ${err.rawMessage}`, Code.Internal),
      );
      return;
    }
    const desc = p.binding.responses.variants.get(p.binding.responses.tags.get(msg.$typeName)!)!;
    const failure = errorOf(msg, desc, p.binding.responses.tags.get(msg.$typeName)!);
    if (failure !== undefined) {
      this.fail(p, failure);
      return;
    }
    if (msg.$typeName === (method.output as DescMessage).typeName) {
      this.finish(p, msg);
      return;
    }
    if (p.job !== undefined && msg.$typeName === p.job.accepted.typeName) return; // updates follow
    this.fail(
      p,
      new IpcError(
        `unexpected reply "${p.binding.responses.tags.get(msg.$typeName)}" to ${method.path}`,
        Code.Internal,
      ),
    );
  }

  private finish(p: Pending, m: Message): void {
    if (p.done) return;
    p.done = true;
    p.stop();
    if (p.jobId !== undefined) this.jobs.delete(p.jobId);
    p.sink.onResult(m);
  }

  private fail(p: Pending, e: IpcError): void {
    if (p.done) return;
    p.done = true;
    p.stop();
    if (p.jobId !== undefined) this.jobs.delete(p.jobId);
    p.sink.onError(e);
  }

  private openReq(): Request {
    if (this.req !== undefined) return this.req;
    const sock = new Request({ linger: 0, maxMessageSize: this.maxFrameBytes });
    sock.connect(this.address);
    this.req = sock;
    return sock;
  }

  private closeReq(): void {
    const sock = this.req;
    this.req = undefined;
    if (sock !== undefined && !sock.closed) sock.close();
  }

  /**
   * Connects the SUB socket once and resolves when its subscription is confirmed: by the echo of
   * a per-transport token (protoipc servers, XPUB), or `legacySubscribeGraceMs` after the
   * connection handshake (a legacy PUB).
   *
   * @throws IpcError Code.Unavailable when the subscription is not confirmed within
   *   `requestTimeoutMs`
   */
  private subscribe(binding: TaggedService): Promise<void> {
    if (this.subscribed !== undefined) return this.subscribed;
    this.updates = binding.updates;
    const sub = new Subscriber({ linger: 0, maxMessageSize: this.maxFrameBytes });
    this.sub = sub;
    this.confirmToken = `${SUBSCRIPTION_CONFIRM_PREFIX}${randomUUID()}`;
    const confirmed = new Promise<void>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const limit = setTimeout(() => {
        this.subscribed = undefined; // let a later call try again
        this.closeSub();
        reject(
          new IpcError(
            `update endpoint ${this.updatesAddress} did not confirm the subscription within requestTimeoutMs ${this.requestTimeoutMs}`,
            Code.Unavailable,
          ),
        );
      }, this.requestTimeoutMs);
      this.onConfirm = () => {
        clearTimeout(limit);
        clearTimeout(grace);
        this.onConfirm = undefined;
        resolve();
      };
      sub.events.on("handshake", () => {
        if (this.onConfirm !== undefined && grace === undefined && this.confirmMode !== "echo") {
          grace = setTimeout(() => this.onConfirm?.(), this.graceMs);
        }
      });
    });
    sub.subscribe(""); // everything, as the original's clients do
    sub.subscribe(this.confirmToken); // a protoipc XPUB server echoes this topic once it has it
    sub.connect(this.updatesAddress!);
    void this.readUpdates(sub);
    this.subscribed = confirmed;
    return confirmed;
  }

  private closeSub(): void {
    const sub = this.sub;
    this.sub = undefined;
    if (sub !== undefined && !sub.closed) sub.close();
  }

  /** The SUB reader loop: routes each update to its job by job id; ignores others' jobs. */
  private async readUpdates(sub: Subscriber): Promise<void> {
    const token = Buffer.from(this.confirmToken);
    try {
      for await (const [frame] of sub) {
        if (frame === undefined) continue;
        if (frame[0] === 0) {
          if (frame.equals(token)) this.onConfirm?.();
          continue; // another client's confirmation
        }
        this.onUpdate(frame);
      }
    } catch {
      // closed
    }
  }

  private onUpdate(frame: Uint8Array): void {
    const union = this.updates;
    if (union === undefined || this.jobs.size === 0) return;
    let msg: Message;
    try {
      msg = decodeTagged(union, frame, this.format);
    } catch {
      return; // a frame of no job of ours can not be blamed on one; publishers may send others
    }
    const tag = union.tags.get(msg.$typeName)!;
    const desc = union.variants.get(tag)!;
    const id = correlationOf(msg, desc);
    const p = id === undefined ? undefined : this.jobs.get(id);
    if (p === undefined) return;
    const failure = errorOf(msg, desc, tag);
    if (failure !== undefined) {
      this.fail(p, failure);
      return;
    }
    if (msg.$typeName === (p.call.method.output as DescMessage).typeName) {
      this.finish(p, msg);
      return;
    }
    const success = successOf(msg, desc);
    if (success === false) {
      this.fail(p, new IpcError(`job ${id} finished without success (${tag})`, Code.Unknown));
      return;
    }
    if (success === true) return; // the result variant carries the outcome
    const update = wrapProgress(p.call.method, msg);
    if (update !== undefined) p.sink.onUpdate(update);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new IpcError("transport closed", Code.Unavailable);
    for (const p of this.queue.splice(0)) this.fail(p, err);
    for (const p of [...this.jobs.values()]) this.fail(p, err);
    if (this.inFlight !== undefined) this.fail(this.inFlight, err);
    this.onConfirm?.(); // stops the confirmation timers; the calls waiting on it failed above
    this.closeReq();
    this.closeSub();
  }
}
