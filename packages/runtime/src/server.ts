import { create, isMessage, type Message } from "@bufbuild/protobuf";
import type {
  CallNext,
  CallRequest,
  Dispatcher,
  HandlerContext,
  IncomingCallInit,
  Interceptor,
  ProgressContext,
  ServerCallSink,
  ServerTransport,
} from "./call.js";
import type { AnyMethodDescriptor, ServiceDescriptor } from "./descriptor.js";
import { Code, IpcError } from "./error.js";
import { validationError } from "./validate.js";

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Interceptors, outermost first. They see every call's decoded request and final result. */
  readonly interceptors?: readonly Interceptor[];
}

/** A protoipc server: services registered on one transport. */
export interface Server {
  /**
   * Registers the handlers of `service`. Methods missing from `handler` answer
   * `Code.Unimplemented`. Register before or after `listen`.
   *
   * @throws Error when the service is registered twice
   */
  register<THandler>(
    service: ServiceDescriptor<unknown, THandler>,
    handler: Partial<THandler>,
  ): void;
  /** Starts the transport (binds). Resolves once bound. */
  listen(): Promise<void>;
  /** Stops accepting calls, aborts running handlers, closes the transport. Idempotent. */
  close(): Promise<void>;
}

type AnyHandlerFn = (request: Message, context: HandlerContext) => unknown;

interface Route {
  readonly method: AnyMethodDescriptor;
  readonly handler: AnyHandlerFn | undefined;
}

/**
 * Creates a server on `transport`. Handlers run with a context whose `signal` aborts when the
 * caller cancels, the deadline passes, or the server closes; a handler that throws a non-IpcError
 * answers `Code.Unknown` with the error's message (gRPC does the same). The server owns the
 * transport: `close()` closes it. A request that violates its method's generated validator
 * (`buf.validate` rules) is answered `Code.InvalidArgument` with a `buf.validate.Violations`
 * detail; the handler never sees it.
 */
export function createServer(transport: ServerTransport, options: ServerOptions = {}): Server {
  const routes = new Map<string, Route>();
  const hashes: Record<string, string> = {};
  const interceptors = options.interceptors ?? [];
  let closed: Promise<void> | undefined;

  const dispatcher: Dispatcher = {
    lookup: (path) => routes.get(path)?.method,
    methods: () => Array.from(routes.values(), (r) => r.method),
    schemaHashes: () => hashes,
    invoke(method, message, init, sink) {
      return invoke(routes.get(method.path), method, message, init, sink, interceptors);
    },
  };

  return {
    register(service, handler) {
      if (hashes[service.typeName] !== undefined) {
        throw new Error(`service ${service.typeName} is registered twice`);
      }
      hashes[service.typeName] = service.schemaHash;
      const impl = handler as Record<string, AnyHandlerFn | undefined>;
      for (const method of Object.values(service.methods)) {
        const fn = impl[method.localName];
        routes.set(method.path, {
          method,
          handler: typeof fn === "function" ? fn.bind(handler) : undefined,
        });
      }
    },
    listen: () => transport.listen(dispatcher),
    close() {
      closed ??= transport.close();
      return closed;
    },
  };
}

function toOutput(desc: AnyMethodDescriptor["output"], value: unknown): Message {
  if (isMessage(value, desc)) return value;
  return create(desc, (value ?? {}) as never);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/**
 * Runs one call's handler. Unary and progress handlers without interceptors take a path with no
 * extra promise when the handler answers synchronously: this is the hot path of every call.
 */
function invoke(
  route: Route | undefined,
  method: AnyMethodDescriptor,
  message: Message,
  init: IncomingCallInit,
  sink: ServerCallSink,
  interceptors: readonly Interceptor[],
): Promise<void> {
  const handler = route?.handler;
  if (handler === undefined) {
    sink.error(new IpcError(`method ${method.path} is not implemented`, Code.Unimplemented));
    return RESOLVED;
  }
  if (method.validateInput !== undefined) {
    const violations = method.validateInput(message);
    if (violations.length > 0) {
      sink.error(validationError(method.input.typeName, violations));
      return RESOLVED;
    }
  }
  const context = new Context(method, init, sink);
  if (interceptors.length === 0 && method.kind !== "server_streaming") {
    let out: unknown;
    try {
      out = handler(message, context);
    } catch (e) {
      context.fail(e);
      return RESOLVED;
    }
    if (isThenable(out)) {
      return Promise.resolve(out).then(
        (v) => context.finish(v),
        (e) => context.fail(e),
      );
    }
    context.finish(out);
    return RESOLVED;
  }
  const run: CallNext = async (req) => {
    if (method.kind === "server_streaming") {
      await streamItems(
        method,
        handler(req.message, context) as AsyncIterable<unknown>,
        sink,
        init,
      );
      return undefined;
    }
    return toOutput(method.output, await handler(req.message, context));
  };
  let next = run;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
  const request: CallRequest = {
    side: "server",
    method,
    message,
    signal: init.signal,
    deadline: init.deadline,
    metadata: { ...init.metadata },
  };
  return next(request).then(
    (v) => context.finish(v),
    (e) => context.fail(e),
  );
}

const RESOLVED = Promise.resolve();

async function streamItems(
  method: AnyMethodDescriptor,
  items: AsyncIterable<unknown>,
  sink: ServerCallSink,
  init: IncomingCallInit,
): Promise<void> {
  for await (const item of items) {
    if (init.aborted) break;
    await sink.update(toOutput(method.output, item));
  }
}

/** The handler's context; one per call, methods on the prototype. */
class Context implements ProgressContext {
  constructor(
    readonly method: AnyMethodDescriptor,
    private readonly init: IncomingCallInit,
    private readonly sink: ServerCallSink,
  ) {}

  get signal(): AbortSignal {
    return this.init.signal;
  }

  get deadline(): number {
    return this.init.deadline;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.init.metadata;
  }

  get peer(): string {
    return this.init.peer;
  }

  timeRemainingMs(): number {
    return Math.max(0, this.init.deadline - Date.now());
  }

  /** Answers the call with the handler's result, unless the transport already answered it. */
  finish(out: unknown): void {
    if (this.init.aborted) return; // cancel, deadline or close answered already
    let m: Message | undefined;
    try {
      m = this.method.kind === "server_streaming" ? undefined : toOutput(this.method.output, out);
    } catch (e) {
      this.fail(
        new IpcError(
          `${this.method.path} returned an invalid response: ${(e as Error).message}`,
          Code.Internal,
        ),
      );
      return;
    }
    this.sink.result(m);
  }

  /** Answers the call with an error, unless the transport already answered it. */
  fail(e: unknown): void {
    if (!this.init.aborted) this.sink.error(IpcError.from(e));
  }

  progress(update: unknown): Promise<void> {
    const desc = this.method.progress;
    if (desc === undefined) {
      return Promise.reject(
        new IpcError(`${this.method.path} is not a progress method`, Code.Internal),
      );
    }
    if (this.init.aborted) {
      return Promise.reject(IpcError.from(this.init.signal.reason, Code.Canceled));
    }
    return this.sink.update(isMessage(update, desc) ? update : create(desc, update as never));
  }
}
