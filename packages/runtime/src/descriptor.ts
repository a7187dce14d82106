import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Violation } from "./gen/buf/validate/validate_pb.js";

/**
 * The call semantics of a method, from the `protoipc.v1.method` option `kind`, or derived from
 * the rpc's shape when the option is unset.
 *
 * - `unary`: one request, one response.
 * - `server_streaming`: one request, a stream of responses, then the end of the stream.
 * - `progress`: one request, a stream of progress updates, then one final result.
 */
export type MethodKind = "unary" | "server_streaming" | "progress";

/**
 * The standard protobuf `idempotency_level` of a method (google/protobuf/descriptor.proto).
 * Transports only retry methods that are `no_side_effects` or `idempotent`.
 */
export type IdempotencyLevel = "idempotency_unknown" | "no_side_effects" | "idempotent";

/**
 * A binding: how calls map to frames. `"native"`: the protobuf envelope; `"tagged"`: an existing
 * system's discriminated MessagePack/JSON maps (see `@protoipc/runtime/tagged`); `"hydra"`: AI
 * Hydra's JSON router envelope (PROTOCOLS.md §2, spoken by `@protoipc/router`); `"jsonrpc2"`:
 * JSON-RPC 2.0 with LSP's cancellation and progress (`createJsonRpcClientTransport`);
 * `"command_frame"`: JSON command frames (PoppoBuilder, `@protoipc/unix`).
 */
export type BindingName = "native" | "tagged" | "hydra" | "jsonrpc2" | "command_frame";

/**
 * A method as generated code describes it: everything the runtime needs to call or serve it.
 *
 * `I` is the request schema, `O` the response (or stream item, or final result) schema, `P` the
 * progress update schema of a progress method (`undefined` otherwise).
 */
export interface MethodDescriptor<
  I extends DescMessage = DescMessage,
  O extends DescMessage = DescMessage,
  P extends DescMessage | undefined = DescMessage | undefined,
> {
  /** The rpc's name in the schema, e.g. `"Generate"`. */
  readonly name: string;
  /** The name of the client and handler method, lowerCamelCase, e.g. `"generate"`. */
  readonly localName: string;
  /** The full method path the native binding puts on the wire, `"/pixels.v1.PixelService/Generate"`. */
  readonly path: string;
  /** Call semantics. */
  readonly kind: MethodKind;
  /** The request message schema. */
  readonly input: I;
  /** The response, stream item or final result schema. */
  readonly output: O;
  /** The progress update schema of a progress method. */
  readonly progress: P;
  /** The standard `idempotency_level` option. */
  readonly idempotency: IdempotencyLevel;
  /** The method's default deadline in milliseconds (option `timeout_ms`), when set. */
  readonly timeoutMs?: number;
  /** The method's name on an existing wire (option `wire_name`), when set. */
  readonly wireName?: string;
  /**
   * The request's validator, generated from its `buf.validate` rules when it has any: returns
   * the violations (`buf.validate.Violation`), empty when the request is valid. `createClient`
   * runs it before sending (unless `CallOptions.validate` is false), the server on receipt
   * before the handler; a violation rejects the call with `Code.InvalidArgument`.
   */
  validateInput?(message: MessageShape<I>): Violation[];
  /**
   * jsonrpc2: the method is a JSON-RPC notification (option `notification`): sent without an
   * id, resolved with an empty response once written; the server answers nothing.
   */
  readonly notification?: boolean;
  /** The service this method belongs to; set by {@link defineService}. */
  readonly service: ServiceDescriptor;
}

/** Any method descriptor. */
// biome-ignore lint/suspicious/noExplicitAny: a method of any message types.
export type AnyMethodDescriptor = MethodDescriptor<any, any, any>;

/**
 * A method as written in the `methods` map of {@link defineService}: a method descriptor without
 * the fields `defineService` fills in.
 */
export type MethodInit<
  I extends DescMessage = DescMessage,
  O extends DescMessage = DescMessage,
  P extends DescMessage | undefined = DescMessage | undefined,
> = Omit<MethodDescriptor<I, O, P>, "service" | "localName" | "path">;

/**
 * A service as generated code describes it. The type parameters carry the generated client and
 * handler interfaces, so `createClient(PixelService, t)` returns `PixelServiceClient` and
 * `server.register(PixelService, impl)` checks `impl` against `PixelServiceHandler`.
 */
export interface ServiceDescriptor<
  // biome-ignore lint/suspicious/noExplicitAny: phantom type, see above.
  TClient = any,
  // biome-ignore lint/suspicious/noExplicitAny: phantom type, see above.
  THandler = any,
> {
  /** The service's full name, e.g. `"pixels.v1.PixelService"`. */
  readonly typeName: string;
  /** The service's binding (option `binding`); transports may override it. */
  readonly binding: BindingName;
  /** Deadline for calls whose caller and method give none, in milliseconds; default 30 000. */
  readonly defaultTimeoutMs: number;
  /** Hex SHA-256 of the service's schema, exchanged in the native hello. */
  readonly schemaHash: string;
  /** The service's name on an existing wire (option `wire_name`), when set. */
  readonly wireName?: string;
  /** The methods, keyed by local name. */
  readonly methods: Readonly<Record<string, AnyMethodDescriptor>>;
  /** Phantom: the generated client interface. Never set at run time. */
  readonly $client?: TClient;
  /** Phantom: the generated handler interface. Never set at run time. */
  readonly $handler?: THandler;
}

/** The default deadline of a call, in milliseconds, when neither caller, method nor service gives one. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** What generated code passes to {@link defineService}. */
export interface ServiceInit {
  readonly typeName: string;
  readonly binding?: BindingName;
  readonly defaultTimeoutMs?: number;
  readonly schemaHash: string;
  readonly wireName?: string;
  readonly methods: Readonly<Record<string, MethodInit>>;
}

/**
 * Builds a service descriptor from generated metadata: fills in each method's `localName`,
 * `path` and back-reference to the service. Called by generated `_ipc.ts` files.
 *
 * @throws Error when a method name is repeated.
 */
export function defineService<TClient, THandler>(
  init: ServiceInit,
): ServiceDescriptor<TClient, THandler> {
  const methods: Record<string, AnyMethodDescriptor> = {};
  const service: ServiceDescriptor<TClient, THandler> = {
    typeName: init.typeName,
    binding: init.binding ?? "native",
    defaultTimeoutMs: init.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    schemaHash: init.schemaHash,
    ...(init.wireName === undefined ? {} : { wireName: init.wireName }),
    methods,
  };
  for (const [localName, m] of Object.entries(init.methods)) {
    if (methods[localName] !== undefined) {
      throw new Error(`method ${localName} is defined twice in ${init.typeName}`);
    }
    methods[localName] = {
      ...m,
      localName,
      path: `/${init.typeName}/${m.name}`,
      service,
    };
  }
  Object.freeze(methods);
  return Object.freeze(service);
}

/** The request a client passes: a partial message init shape or a full message. */
export type RequestInit<I extends DescMessage> = MessageInitShape<I>;

/** The message a handler receives or a client gets back. */
export type Msg<D extends DescMessage> = MessageShape<D>;
