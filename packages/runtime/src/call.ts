import type { DescMessage, Message, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { AnyMethodDescriptor } from "./descriptor.js";

/** Per-call options of a client call. */
export interface CallOptions {
  /**
   * Time the call may take, in milliseconds, from the moment it starts. When omitted, the
   * method's `timeout_ms`, else the service's `default_timeout_ms`, else 30 000 applies.
   * When it passes, the call rejects with `Code.DeadlineExceeded` and the server's handler sees
   * its signal abort.
   */
  readonly timeoutMs?: number;
  /** Cancels the call: it rejects with `Code.Canceled` and the server's handler sees its signal abort. */
  readonly signal?: AbortSignal;
  /** Request metadata (headers); keys are lowercased. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Most progress updates or stream items buffered while the caller does not read them; default
   * 65 536. Past it the call fails with `Code.ResourceExhausted` (never drops an update silently).
   */
  readonly maxBufferedUpdates?: number;
  /**
   * Whether the client checks the request against the method's generated validator
   * (`buf.validate` rules) before sending; default true. A violation rejects the call with
   * `Code.InvalidArgument` before anything is sent. The server validates either way.
   */
  readonly validate?: boolean;
}

/**
 * The handle of a progress call: typed progress updates while the call runs, then one typed
 * result. Updates arrive in order; a gap fails the call with `Code.DataLoss`.
 *
 * Updates are buffered from the moment the call starts (see `CallOptions.maxBufferedUpdates`),
 * so `progress` may be iterated late. Breaking out of the iteration does not cancel the call;
 * use `cancel()` or the call's `signal`.
 */
export interface ProgressCall<P, R> {
  /** The progress updates, ending when the call ends. Throws the call's error, if it fails. */
  readonly progress: AsyncIterable<P>;
  /** The final result; rejects with an `IpcError`. */
  readonly result: Promise<R>;
  /** Cancels the call, like aborting its signal: `result` rejects with `Code.Canceled`. */
  cancel(reason?: string): void;
}

/**
 * What a handler gets besides the request. `signal` aborts when the caller cancels, the deadline
 * passes, the client stops answering heartbeats, or the server closes.
 */
export interface HandlerContext {
  /** The method being served. */
  readonly method: AnyMethodDescriptor;
  /** Aborts when the call is cancelled; `signal.reason` is an `IpcError`. */
  readonly signal: AbortSignal;
  /** Absolute deadline, milliseconds since the Unix epoch. */
  readonly deadline: number;
  /** Request metadata (headers). */
  readonly metadata: Readonly<Record<string, string>>;
  /** An opaque description of the caller, e.g. a ZeroMQ routing id in hex. */
  readonly peer: string;
  /** Milliseconds left until the deadline (never negative). */
  timeRemainingMs(): number;
}

/** The context of a progress method's handler: a {@link HandlerContext} that can send progress updates. */
export interface ProgressContext<P extends DescMessage = DescMessage> extends HandlerContext {
  /**
   * Sends one progress update. Resolves when the update is queued on the transport; waits while
   * the transport's writer queue is full (backpressure).
   *
   * @throws IpcError Code.Canceled when the call has ended or was cancelled
   */
  progress(update: MessageInitShape<P>): Promise<void>;
}

/**
 * One call, as interceptors see it. Client interceptors may change `metadata` and `message`
 * before calling `next`; server interceptors see the decoded request.
 */
export interface CallRequest {
  /** Which side runs the interceptor. */
  readonly side: "client" | "server";
  /** The method called. */
  readonly method: AnyMethodDescriptor;
  /** The request message. */
  message: Message;
  /** The call's signal (caller cancellation and deadline). */
  readonly signal: AbortSignal;
  /** Absolute deadline, milliseconds since the Unix epoch. */
  readonly deadline: number;
  /** Request metadata (headers); mutable on the client side. */
  readonly metadata: Record<string, string>;
}

/**
 * Runs the call (or the next interceptor): resolves with the final result message (unary or
 * progress), or `undefined` when a server stream ends; rejects with an `IpcError`.
 * Progress updates and stream items flow past interceptors.
 */
export type CallNext = (request: CallRequest) => Promise<Message | undefined>;

/**
 * One interceptor type for both sides, as in connect-es: wraps `next` to observe or change a call
 * (logging, metrics, auth metadata, error mapping).
 */
export type Interceptor = (next: CallNext) => CallNext;

/** Receives the events of one client call from a transport, until `onResult` or `onError`. */
export interface CallSink {
  /** One progress update or stream item, in order. */
  onUpdate(message: Message): void;
  /** The final result (`undefined` at the end of a server stream). Ends the call. */
  onResult(message: Message | undefined): void;
  /** The call failed. Ends the call. */
  onError(error: import("./error.js").IpcError): void;
}

/** One call a client starts on a transport. */
export interface OutgoingCall {
  readonly method: AnyMethodDescriptor;
  readonly message: Message;
  /** Absolute deadline, milliseconds since the Unix epoch; enforced by the client core. */
  readonly deadline: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** What a transport returns for a started call. */
export interface CallHandle {
  /**
   * The caller gave up (cancellation or deadline): the transport tells the server (which aborts
   * the handler's signal) and forgets the call. The sink is not called again.
   */
  cancel(reason: import("./error.js").IpcError): void;
}

/**
 * The client side of a transport with its binding: starts calls on a connection.
 * Created by transport packages (`createZmqTransport`) or {@link createInMemoryTransport}.
 */
export interface ClientTransport {
  /**
   * Starts one call; `sink` gets its events until exactly one of `onResult` / `onError`, unless
   * the call is cancelled through the returned handle first. May call `sink.onError` before
   * returning (closed transport, frame too large).
   */
  start(call: OutgoingCall, sink: CallSink): CallHandle;
  /** Fails every pending call with `Code.Unavailable` and releases the connection. Idempotent. */
  close(): Promise<void>;
}

/** What a server transport needs from the server: method lookup and the handler invocation. */
export interface Dispatcher {
  /** The registered method with the given path, `"/pkg.Service/Method"`. */
  lookup(path: string): AnyMethodDescriptor | undefined;
  /** Every registered method (bindings that route by another name, such as jsonrpc2's `wire_name`). */
  methods?(): readonly AnyMethodDescriptor[];
  /** Hex schema hashes of the registered services, by full name (sent in the native hello). */
  schemaHashes(): Record<string, string>;
  /**
   * Runs the handler of `method` for one decoded request, with interceptors, and reports the
   * outcome to `sink`. Never rejects: every failure goes to `sink.error`.
   */
  invoke(
    method: AnyMethodDescriptor,
    message: Message,
    init: IncomingCallInit,
    sink: ServerCallSink,
  ): Promise<void>;
}

/** What a server transport knows of an incoming call. */
export interface IncomingCallInit {
  /** Aborts when the call is cancelled; may be created lazily on first access. */
  readonly signal: AbortSignal;
  /** Whether the call was cancelled, without creating a signal. */
  readonly aborted: boolean;
  readonly deadline: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly peer: string;
}

/** Where the dispatcher reports an incoming call's updates and outcome. */
export interface ServerCallSink {
  /** One progress update or stream item; resolves when queued (backpressure). */
  update(message: Message): Promise<void>;
  /** The final result, or `undefined` at the end of a server stream. */
  result(message: Message | undefined): void;
  /** The call failed. */
  error(error: import("./error.js").IpcError): void;
}

/** The server side of a transport with its binding: accepts calls and hands them to a dispatcher. */
export interface ServerTransport {
  /** Starts accepting calls (binds); resolves once bound. */
  listen(dispatcher: Dispatcher): Promise<void>;
  /** Stops accepting, aborts running handlers with `Code.Unavailable`, releases sockets. Idempotent. */
  close(): Promise<void>;
}

/** A unary client method. */
export type UnaryFn<I extends DescMessage, O extends DescMessage> = (
  request?: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<MessageShape<O>>;

/** A server-streaming client method: iterate the items; breaking out cancels the call. */
export type ServerStreamingFn<I extends DescMessage, O extends DescMessage> = (
  request?: MessageInitShape<I>,
  options?: CallOptions,
) => AsyncIterable<MessageShape<O>>;

/** A progress client method. */
export type ProgressFn<I extends DescMessage, O extends DescMessage, P extends DescMessage> = (
  request?: MessageInitShape<I>,
  options?: CallOptions,
) => ProgressCall<MessageShape<P>, MessageShape<O>>;

/** A unary handler. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** A server-streaming handler: an async generator of items. */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** A progress handler: sends updates through `context.progress`, returns the final result. */
export type ProgressHandler<I extends DescMessage, O extends DescMessage, P extends DescMessage> = (
  request: MessageShape<I>,
  context: ProgressContext<P>,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;
