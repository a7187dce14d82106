import { create, isMessage, type Message } from "@bufbuild/protobuf";
import type {
  CallNext,
  CallOptions,
  CallRequest,
  CallSink,
  ClientTransport,
  Interceptor,
  ProgressCall,
} from "./call.js";
import type { AnyMethodDescriptor, ServiceDescriptor } from "./descriptor.js";
import { Code, IpcError } from "./error.js";
import { DEFAULT_MAX_BUFFERED_UPDATES, UpdateQueue } from "./update-queue.js";

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
 */
export function createClient<TClient>(
  service: ServiceDescriptor<TClient>,
  transport: ClientTransport,
  options: ClientOptions = {},
): TClient {
  const interceptors = options.interceptors ?? [];
  const client: Record<string, unknown> = {};
  for (const method of Object.values(service.methods)) {
    switch (method.kind) {
      case "unary":
        client[method.localName] = unaryCaller(method, transport, interceptors);
        break;
      case "server_streaming":
        client[method.localName] = serverStreamingCaller(method, transport, interceptors);
        break;
      case "progress":
        client[method.localName] = progressCaller(method, transport, interceptors);
        break;
    }
  }
  return client as TClient;
}

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

/**
 * The per-call state shared by all call kinds: the deadline timer and the merged abort signal.
 * `dispose` clears both; it runs when the call ends.
 */
interface CallScope {
  readonly controller: AbortController;
  readonly deadline: number;
  dispose(): void;
}

function openScope(method: AnyMethodDescriptor, options: CallOptions | undefined): CallScope {
  const timeoutMs = options?.timeoutMs ?? method.timeoutMs ?? method.service.defaultTimeoutMs;
  if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
    throw new IpcError(`timeoutMs ${timeoutMs} is not a finite number >= 0`, Code.InvalidArgument);
  }
  const controller = new AbortController();
  const deadline = Date.now() + timeoutMs;
  const timer = setTimeout(() => {
    controller.abort(
      new IpcError(
        `deadline of ${timeoutMs} ms exceeded calling ${method.path}`,
        Code.DeadlineExceeded,
      ),
    );
  }, timeoutMs);
  const userSignal = options?.signal;
  let onUserAbort: (() => void) | undefined;
  if (userSignal !== undefined) {
    onUserAbort = () => controller.abort(cancelReason(userSignal.reason));
    if (userSignal.aborted) onUserAbort();
    else userSignal.addEventListener("abort", onUserAbort, { once: true });
  }
  return {
    controller,
    deadline,
    dispose() {
      clearTimeout(timer);
      if (onUserAbort !== undefined) userSignal?.removeEventListener("abort", onUserAbort);
    },
  };
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

/** Starts the transport call behind the interceptors; `onUpdate` receives updates/items. */
function terminal(
  transport: ClientTransport,
  onUpdate: ((m: Message) => void) | undefined,
): CallNext {
  return (req: CallRequest) =>
    new Promise<Message | undefined>((resolve, reject) => {
      const sink: CallSink = {
        onUpdate: onUpdate ?? (() => {}),
        onResult: resolve,
        onError: reject,
      };
      transport.start(
        {
          method: req.method,
          message: req.message,
          deadline: req.deadline,
          signal: req.signal,
          metadata: req.metadata,
        },
        sink,
      );
    });
}

function chain(interceptors: readonly Interceptor[], next: CallNext): CallNext {
  let n = next;
  for (let i = interceptors.length - 1; i >= 0; i--) n = interceptors[i]!(n);
  return n;
}

function unaryCaller(
  method: AnyMethodDescriptor,
  transport: ClientTransport,
  interceptors: readonly Interceptor[],
): (request?: unknown, options?: CallOptions) => Promise<Message> {
  return async (request, options) => {
    const scope = openScope(method, options);
    try {
      const req: CallRequest = {
        side: "client",
        method,
        message: toMessage(method.input, request),
        signal: scope.controller.signal,
        deadline: scope.deadline,
        metadata: normaliseMetadata(options?.metadata),
      };
      const next =
        interceptors.length === 0
          ? terminal(transport, undefined)
          : chain(interceptors, terminal(transport, undefined));
      return (await next(req)) as Message;
    } catch (e) {
      throw IpcError.from(e);
    } finally {
      scope.dispose();
    }
  };
}

function progressCaller(
  method: AnyMethodDescriptor,
  transport: ClientTransport,
  interceptors: readonly Interceptor[],
): (request?: unknown, options?: CallOptions) => ProgressCall<Message, Message> {
  return (request, options) => {
    const scope = openScope(method, options);
    const queue = new UpdateQueue<Message>(
      options?.maxBufferedUpdates ?? DEFAULT_MAX_BUFFERED_UPDATES,
    );
    const onUpdate = (m: Message) => {
      if (!queue.push(m)) {
        scope.controller.abort(
          new IpcError(
            `${options?.maxBufferedUpdates ?? DEFAULT_MAX_BUFFERED_UPDATES} unread progress updates exceed maxBufferedUpdates; read call.progress`,
            Code.ResourceExhausted,
          ),
        );
      }
    };
    const req: CallRequest = {
      side: "client",
      method,
      message: toMessage(method.input, request),
      signal: scope.controller.signal,
      deadline: scope.deadline,
      metadata: normaliseMetadata(options?.metadata),
    };
    const result = chain(
      interceptors,
      terminal(transport, onUpdate),
    )(req).then(
      (m) => {
        scope.dispose();
        queue.end();
        return m as Message;
      },
      (e: unknown) => {
        scope.dispose();
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
        scope.controller.abort(
          new IpcError(
            reason ? `call cancelled: ${reason}` : "call cancelled by the caller",
            Code.Canceled,
          ),
        );
      },
    };
  };
}

function serverStreamingCaller(
  method: AnyMethodDescriptor,
  transport: ClientTransport,
  interceptors: readonly Interceptor[],
): (request?: unknown, options?: CallOptions) => AsyncIterable<Message> {
  return (request, options) => {
    const message = toMessage(method.input, request);
    return {
      [Symbol.asyncIterator]() {
        const scope = openScope(method, options);
        const queue = new UpdateQueue<Message>(
          options?.maxBufferedUpdates ?? DEFAULT_MAX_BUFFERED_UPDATES,
        );
        const onUpdate = (m: Message) => {
          if (!queue.push(m)) {
            scope.controller.abort(
              new IpcError("unread stream items exceed maxBufferedUpdates", Code.ResourceExhausted),
            );
          }
        };
        const req: CallRequest = {
          side: "client",
          method,
          message,
          signal: scope.controller.signal,
          deadline: scope.deadline,
          metadata: normaliseMetadata(options?.metadata),
        };
        let finished = false;
        chain(
          interceptors,
          terminal(transport, onUpdate),
        )(req).then(
          () => {
            finished = true;
            scope.dispose();
            queue.end();
          },
          (e: unknown) => {
            finished = true;
            scope.dispose();
            queue.fail(IpcError.from(e));
          },
        );
        const it = queue[Symbol.asyncIterator]();
        return {
          next: () => it.next(),
          async return() {
            if (!finished) {
              scope.controller.abort(new IpcError("stream abandoned by the caller", Code.Canceled));
            }
            return it.return ? it.return() : { value: undefined, done: true };
          },
        };
      },
    };
  };
}
