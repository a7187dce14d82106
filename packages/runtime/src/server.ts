import { create, isMessage, type Message } from "@bufbuild/protobuf";
import type {
  CallNext,
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
 * transport: `close()` closes it.
 */
export function createServer(transport: ServerTransport, options: ServerOptions = {}): Server {
  const routes = new Map<string, Route>();
  const hashes: Record<string, string> = {};
  const interceptors = options.interceptors ?? [];
  let closed: Promise<void> | undefined;

  const dispatcher: Dispatcher = {
    lookup: (path) => routes.get(path)?.method,
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

async function invoke(
  route: Route | undefined,
  method: AnyMethodDescriptor,
  message: Message,
  init: IncomingCallInit,
  sink: ServerCallSink,
  interceptors: readonly Interceptor[],
): Promise<void> {
  try {
    const handler = route?.handler;
    if (handler === undefined) {
      throw new IpcError(`method ${method.path} is not implemented`, Code.Unimplemented);
    }
    const context = makeContext(method, init, sink);
    const run = (req: Message) => runHandler(method, handler, req, context, sink, init.signal);
    let out: Message | undefined;
    if (interceptors.length === 0) {
      out = await run(message);
    } else {
      let next: CallNext = (req) => run(req.message);
      for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
      out = await next({
        side: "server",
        method,
        message,
        signal: init.signal,
        deadline: init.deadline,
        metadata: { ...init.metadata },
      });
    }
    if (init.signal.aborted) return; // the transport already answered (cancel, deadline, close)
    sink.result(out);
  } catch (e) {
    if (init.signal.aborted) return;
    sink.error(IpcError.from(e));
  }
}

async function runHandler(
  method: AnyMethodDescriptor,
  handler: AnyHandlerFn,
  request: Message,
  context: HandlerContext,
  sink: ServerCallSink,
  signal: AbortSignal,
): Promise<Message | undefined> {
  if (method.kind === "server_streaming") {
    const items = handler(request, context) as AsyncIterable<unknown>;
    for await (const item of items) {
      if (signal.aborted) break;
      await sink.update(toOutput(method.output, item));
    }
    return undefined;
  }
  return toOutput(method.output, await handler(request, context));
}

function makeContext(
  method: AnyMethodDescriptor,
  init: IncomingCallInit,
  sink: ServerCallSink,
): ProgressContext {
  const progressDesc = method.progress;
  return {
    method,
    signal: init.signal,
    deadline: init.deadline,
    metadata: init.metadata,
    peer: init.peer,
    timeRemainingMs: () => Math.max(0, init.deadline - Date.now()),
    progress(update) {
      if (progressDesc === undefined) {
        return Promise.reject(
          new IpcError(`${method.path} is not a progress method`, Code.Internal),
        );
      }
      if (init.signal.aborted) {
        return Promise.reject(IpcError.from(init.signal.reason, Code.Canceled));
      }
      return sink.update(
        isMessage(update, progressDesc) ? update : create(progressDesc, update as never),
      );
    },
  };
}
