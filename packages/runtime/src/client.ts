import { create, isMessage, type Message } from "@bufbuild/protobuf";
import type {
  CallHandle,
  CallNext,
  CallOptions,
  CallRequest,
  CallSink,
  ClientTransport,
  Interceptor,
  ProgressCall,
} from "./call.js";
import { Deadline, deadlines } from "./deadline-scheduler.js";
import type { AnyMethodDescriptor, ServiceDescriptor } from "./descriptor.js";
import { Code, IpcError } from "./error.js";
import { DEFAULT_MAX_BUFFERED_UPDATES, UpdateQueue } from "./update-queue.js";
import { validationError } from "./validate.js";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Interceptors, outermost first. They see every call's request and final result. */
  readonly interceptors?: readonly Interceptor[];
}

/**
 * Creates a typed client for `service` on `transport`. The returned object has one method per
 * rpc, named in lowerCamelCase, typed by the generated `<Service>Client` interface:
 *
 * - unary: `(request?, options?) => Promise<Response>`
 * - server streaming: `(request?, options?) => AsyncIterable<Item>` (the call starts when
 *   iteration starts; breaking out cancels it)
 * - progress: `(request?, options?) => ProgressCall<Update, Result>`
 *
 * Every call has a deadline (`options.timeoutMs`, else the method's, else the service's, else
 * 30 s) and can be cancelled with `options.signal`. Failures reject with `IpcError`.
 * The transport stays owned by the caller: close it with `transport.close()`.
 *
 * A request that violates the method's `buf.validate` rules rejects with `Code.InvalidArgument`
 * and the violations as a `buf.validate.Violations` detail, before the transport sees the call
 * (turn it off per call with `{ validate: false }`).
 *
 * @throws IpcError Code.InvalidArgument (from a call) when `timeoutMs` is negative or not finite,
 *   or the request violates its validation rules
 */
export function createClient<TClient>(
  service: ServiceDescriptor<TClient>,
  transport: ClientTransport,
  options: ClientOptions = {},
): TClient {
  const interceptors = options.interceptors ?? [];
  const client: Record<string, unknown> = {};
  for (const method of Object.values(service.methods)) {
    const run = caller(method, transport, interceptors);
    switch (method.kind) {
      case "unary":
        client[method.localName] = (request?: unknown, options?: CallOptions) =>
          run(request, options, undefined);
        break;
      case "server_streaming":
        client[method.localName] = serverStreaming(run);
        break;
      case "progress":
        client[method.localName] = progress(run);
        break;
    }
  }
  return client as TClient;
}

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});
const noUpdate = () => {};

function toMessage(desc: AnyMethodDescriptor["input"], value: unknown): Message {
  if (isMessage(value, desc)) return value;
  return create(desc, (value ?? {}) as never);
}

function normaliseMetadata(
  md: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (md === undefined) return out;
  for (const [k, v] of Object.entries(md)) out[k.toLowerCase()] = v;
  return out;
}

function cancelReason(reason: unknown): IpcError {
  if (reason instanceof IpcError) return reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return new IpcError(
    why ? `call cancelled: ${why}` : "call cancelled by the caller",
    Code.Canceled,
    {
      cause: reason,
    },
  );
}

/**
 * One client call: its deadline entry, the caller's signal, the transport's handle and the
 * promise it settles. One object per call, no closures and no AbortController unless
 * interceptors ask for a signal: this is the hot path of every call.
 */
class ClientCall extends Deadline implements CallSink {
  done = false;
  failure: IpcError | undefined;
  handle: CallHandle | undefined;
  /** Only with interceptors: the signal they see. */
  controller: AbortController | undefined;
  resolve: ((m: Message | undefined) => void) | undefined;
  reject: ((e: IpcError) => void) | undefined;
  private readonly onUserAbort: (() => void) | undefined;

  constructor(
    readonly method: AnyMethodDescriptor,
    private readonly timeoutMs: number,
    readonly onUpdate: (m: Message) => void,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    super();
    this.deadline = Date.now() + timeoutMs;
    if (userSignal !== undefined)
      this.onUserAbort = () => this.cancel(cancelReason(userSignal.reason));
  }

  /** Starts the deadline and listens to the caller's signal. */
  arm(): void {
    const s = this.userSignal;
    if (s?.aborted) {
      this.cancel(cancelReason(s.reason));
      return;
    }
    deadlines.add(this);
    if (s !== undefined) s.addEventListener("abort", this.onUserAbort!, { once: true });
  }

  begin(
    transport: ClientTransport,
    message: Message,
    metadata: Readonly<Record<string, string>>,
  ): void {
    if (this.done) return;
    this.handle = transport.start(
      { method: this.method, message, deadline: this.deadline, metadata },
      this,
    );
  }

  onResult(m: Message | undefined): void {
    if (this.done) return;
    this.settle();
    this.resolve?.(m);
  }

  onError(e: IpcError): void {
    if (this.done) return;
    this.settle();
    this.failure = e;
    this.reject?.(e);
  }

  cancel(reason: IpcError): void {
    if (this.done) return;
    this.handle?.cancel(reason);
    this.controller?.abort(reason);
    this.onError(reason);
  }

  onDeadline(): void {
    this.cancel(
      new IpcError(
        `deadline of ${this.timeoutMs} ms exceeded calling ${this.method.path}`,
        Code.DeadlineExceeded,
      ),
    );
  }

  private settle(): void {
    this.done = true;
    deadlines.remove(this);
    if (this.userSignal !== undefined)
      this.userSignal.removeEventListener("abort", this.onUserAbort!);
  }
}

/** Runs one call: resolves with the final result (or `undefined` at the end of a stream). */
type Run = (
  request: unknown,
  options: CallOptions | undefined,
  onUpdate: ((m: Message) => void) | undefined,
  onStart?: (call: ClientCall) => void,
) => Promise<Message | undefined>;

function caller(
  method: AnyMethodDescriptor,
  transport: ClientTransport,
  interceptors: readonly Interceptor[],
): Run {
  return (request, options, onUpdate, onStart) => {
    const timeoutMs = options?.timeoutMs ?? method.timeoutMs ?? method.service.defaultTimeoutMs;
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(
        new IpcError(`timeoutMs ${timeoutMs} is not a finite number >= 0`, Code.InvalidArgument),
      );
    }
    let message: Message;
    try {
      message = toMessage(method.input, request);
    } catch (e) {
      return Promise.reject(IpcError.from(e, Code.InvalidArgument));
    }
    if (method.validateInput !== undefined && options?.validate !== false) {
      const violations = method.validateInput(message);
      if (violations.length > 0) {
        return Promise.reject(validationError(method.input.typeName, violations));
      }
    }
    const call = new ClientCall(method, timeoutMs, onUpdate ?? noUpdate, options?.signal);
    onStart?.(call);
    if (interceptors.length === 0) {
      const metadata =
        options?.metadata === undefined ? NO_METADATA : normaliseMetadata(options.metadata);
      return new Promise((resolve, reject) => {
        call.resolve = resolve;
        call.reject = reject;
        call.arm();
        call.begin(transport, message, metadata);
      });
    }
    call.controller = new AbortController();
    const terminal: CallNext = (req) =>
      new Promise((resolve, reject) => {
        if (call.failure !== undefined) {
          reject(call.failure);
          return;
        }
        call.resolve = resolve;
        call.reject = reject;
        call.begin(transport, req.message, req.metadata);
      });
    let next = terminal;
    for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
    const req: CallRequest = {
      side: "client",
      method,
      message,
      signal: call.controller.signal,
      deadline: call.deadline,
      metadata: normaliseMetadata(options?.metadata),
    };
    call.arm();
    return next(req).then(
      (m) => {
        call.onResult(m); // settles the call if an interceptor answered without `next`
        return m;
      },
      (e: unknown) => {
        const err = IpcError.from(e);
        call.cancel(err);
        throw err;
      },
    );
  };
}

/**
 * Starts `run` with a bounded queue for its updates; an update past `maxBufferedUpdates` cancels
 * the call with `Code.ResourceExhausted` (never a silent drop).
 */
function buffered(run: Run, request: unknown, options: CallOptions | undefined, what: string) {
  const limit = options?.maxBufferedUpdates ?? DEFAULT_MAX_BUFFERED_UPDATES;
  const queue = new UpdateQueue<Message>(limit);
  let call: ClientCall | undefined;
  const onUpdate = (m: Message) => {
    if (!queue.push(m)) {
      call?.cancel(
        new IpcError(
          `${limit} unread ${what} exceed maxBufferedUpdates; read them faster`,
          Code.ResourceExhausted,
        ),
      );
    }
  };
  const done = run(request, options, onUpdate, (c) => {
    call = c;
  });
  return { queue, done, cancel: (reason: IpcError) => call?.cancel(reason) };
}

function progress(run: Run) {
  return (request?: unknown, options?: CallOptions): ProgressCall<Message, Message> => {
    const { queue, done, cancel } = buffered(run, request, options, "progress updates");
    const result = done.then(
      (m) => {
        queue.end();
        return m as Message;
      },
      (e: unknown) => {
        const err = IpcError.from(e);
        queue.fail(err);
        throw err;
      },
    );
    // A caller that reads only `progress` must not crash the process with an unhandled rejection.
    result.catch(() => {});
    return {
      progress: queue,
      result,
      cancel(reason?: string) {
        cancel(
          new IpcError(
            reason ? `call cancelled: ${reason}` : "call cancelled by the caller",
            Code.Canceled,
          ),
        );
      },
    };
  };
}

function serverStreaming(run: Run) {
  return (request?: unknown, options?: CallOptions): AsyncIterable<Message> => ({
    [Symbol.asyncIterator]() {
      const { queue, done, cancel } = buffered(run, request, options, "stream items");
      done.then(
        () => queue.end(),
        (e: unknown) => queue.fail(IpcError.from(e)),
      );
      const it = queue[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        async return() {
          cancel(new IpcError("stream abandoned by the caller", Code.Canceled));
          return it.return ? it.return() : { value: undefined, done: true };
        },
      };
    },
  });
}
