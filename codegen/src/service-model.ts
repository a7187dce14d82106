import {
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  type Registry,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  type BindingName,
  type IdempotencyLevel,
  type MethodKind,
  protoipcOptions,
} from "@protoipc/runtime";
import { computeSchemaHash } from "./schema-hash.js";

/**
 * One rpc as the emitters print it: the `protoipc.v1.method` options read, checked and resolved.
 */
export interface MethodModel {
  /** The rpc. */
  readonly desc: DescMethod;
  /** Client and handler method name: protobuf-es's `localName` (lowerCamelCase, escaped). */
  readonly localName: string;
  /** Call semantics, from option `kind` or the rpc's shape. */
  readonly kind: MethodKind;
  /** The progress update message of a progress method; `undefined` for other kinds. */
  readonly progress: DescMessage | undefined;
  /** The standard `idempotency_level` option. */
  readonly idempotency: IdempotencyLevel;
  /** Option `timeout_ms`, in milliseconds; `undefined` when unset (0). */
  readonly timeoutMs: number | undefined;
  /** Option `wire_name`; `undefined` when unset (empty). */
  readonly wireName: string | undefined;
  /** Option `notification` (jsonrpc2: sent without an id, no response). */
  readonly notification: boolean;
}

/**
 * One service as the emitters print it: the `protoipc.v1.service` options read and checked, every
 * method resolved, and the schema hash computed.
 */
export interface ServiceModel {
  /** The service. */
  readonly desc: DescService;
  /** Option `binding`; `"native"` when unset. */
  readonly binding: BindingName;
  /** Option `default_timeout_ms`, in milliseconds; `undefined` when unset (0). */
  readonly defaultTimeoutMs: number | undefined;
  /** Option `wire_name`; `undefined` when unset (empty). */
  readonly wireName: string | undefined;
  /** Hex SHA-256, see {@link computeSchemaHash}. */
  readonly schemaHash: string;
  /** The methods, in declaration order. */
  readonly methods: readonly MethodModel[];
}

/**
 * Reads and checks the protoipc options of a service and its rpcs.
 *
 * `registry` must hold every file of the CodeGeneratorRequest; progress message names are looked
 * up in it (see {@link resolveProgressMessage}).
 *
 * @throws Error naming the rpc when an rpc is client or bidi streaming; when option `kind`
 *   contradicts the rpc's shape; when a progress method has no `progress` option, names a message
 *   that does not exist, or returns a stream; when a non-progress method sets `progress`; when two
 *   rpcs map to the same local name; or when an option holds a value this generator does not know.
 */
export function resolveService(service: DescService, registry: Registry): ServiceModel {
  const options = getOption(service, protoipcOptions.service);
  const methods: MethodModel[] = [];
  const byLocalName = new Map<string, DescMethod>();
  for (const method of service.methods) {
    const model = resolveMethod(method, registry);
    const other = byLocalName.get(model.localName);
    if (other !== undefined) {
      throw new Error(
        `${other} and ${method} both map to the method name ${model.localName} in ${service.typeName}`,
      );
    }
    byLocalName.set(model.localName, method);
    methods.push(model);
  }
  const roots: DescMessage[] = [];
  for (const m of methods) {
    roots.push(m.desc.input, m.desc.output);
    if (m.progress !== undefined) {
      roots.push(m.progress);
    }
  }
  return {
    desc: service,
    binding: resolveBinding(service, options.binding),
    defaultTimeoutMs: options.defaultTimeoutMs === 0 ? undefined : options.defaultTimeoutMs,
    wireName: options.wireName === "" ? undefined : options.wireName,
    schemaHash: computeSchemaHash(service, roots),
    methods,
  };
}

/**
 * Reads and checks the protoipc options of one rpc. See {@link resolveService} for the errors.
 */
export function resolveMethod(method: DescMethod, registry: Registry): MethodModel {
  const options = getOption(method, protoipcOptions.method);
  const kind = resolveKind(method, options.kind);
  let progress: DescMessage | undefined;
  if (kind === "progress") {
    if (options.progress === "") {
      throw new Error(
        `${method} has kind METHOD_KIND_PROGRESS but no progress option naming its update message`,
      );
    }
    progress = resolveProgressMessage(method, options.progress, registry);
  } else if (options.progress !== "") {
    throw new Error(
      `${method} sets progress "${options.progress}" but its kind is ${kind}; progress requires kind METHOD_KIND_PROGRESS`,
    );
  }
  return {
    desc: method,
    localName: method.localName,
    kind,
    progress,
    idempotency: resolveIdempotency(method),
    timeoutMs: options.timeoutMs === 0 ? undefined : options.timeoutMs,
    wireName: options.wireName === "" ? undefined : options.wireName,
    notification: options.notification,
  };
}

/**
 * Finds the progress message that option `progress` of `method` names, with protobuf's scoping
 * rules: a name with a leading dot is fully qualified; otherwise it is looked up in the package of
 * the rpc's file, then in each enclosing package, then at the root. In package `pixels.v1`,
 * `"GenerateProgress"` finds `pixels.v1.GenerateProgress`, and so does `"pixels.v1.GenerateProgress"`.
 *
 * @throws Error naming the rpc and the name when no message of that name exists.
 */
export function resolveProgressMessage(
  method: DescMethod,
  name: string,
  registry: Registry,
): DescMessage {
  const candidates = progressCandidates(method.parent.file.proto.package, name);
  for (const typeName of candidates) {
    const found = registry.get(typeName);
    if (found === undefined) {
      continue;
    }
    if (found.kind !== "message") {
      throw new Error(`${method} names progress "${name}", which is ${found}, not a message`);
    }
    return found;
  }
  throw new Error(
    `${method} names progress message "${name}", which does not exist (looked up ${candidates.join(", ")})`,
  );
}

function progressCandidates(pkg: string, name: string): string[] {
  if (name.startsWith(".")) {
    return [name.substring(1)];
  }
  const scopes = pkg === "" ? [] : pkg.split(".");
  const candidates: string[] = [];
  for (let i = scopes.length; i >= 0; i--) {
    candidates.push([...scopes.slice(0, i), name].join("."));
  }
  return candidates;
}

function resolveKind(method: DescMethod, kind: protoipcOptions.MethodKind): MethodKind {
  switch (method.methodKind) {
    case "client_streaming":
      throw new Error(`${method} is client streaming, which protoipc does not support`);
    case "bidi_streaming":
      throw new Error(`${method} is bidi streaming, which protoipc does not support`);
    default:
      break;
  }
  const streams = method.methodKind === "server_streaming";
  switch (kind) {
    case protoipcOptions.MethodKind.UNSPECIFIED:
      return streams ? "server_streaming" : "unary";
    case protoipcOptions.MethodKind.UNARY:
      if (streams) {
        throw new Error(`${method} has kind METHOD_KIND_UNARY but returns a stream`);
      }
      return "unary";
    case protoipcOptions.MethodKind.SERVER_STREAMING:
      if (!streams) {
        throw new Error(
          `${method} has kind METHOD_KIND_SERVER_STREAMING but does not return a stream`,
        );
      }
      return "server_streaming";
    case protoipcOptions.MethodKind.PROGRESS:
      if (streams) {
        throw new Error(
          `${method} has kind METHOD_KIND_PROGRESS but returns a stream; a progress method returns one final result`,
        );
      }
      return "progress";
    default:
      throw new Error(
        `${method} has method kind ${kind}, which the protoipc generators do not know`,
      );
  }
}

function resolveBinding(service: DescService, binding: protoipcOptions.Binding): BindingName {
  switch (binding) {
    case protoipcOptions.Binding.UNSPECIFIED:
    case protoipcOptions.Binding.NATIVE:
      return "native";
    case protoipcOptions.Binding.TAGGED:
      return "tagged";
    case protoipcOptions.Binding.HYDRA:
      return "hydra";
    case protoipcOptions.Binding.COMMAND_FRAME:
      return "command_frame";
    case protoipcOptions.Binding.JSONRPC2:
      return "jsonrpc2";
    default:
      throw new Error(
        `${service} has binding ${binding}, which the protoipc generators do not know`,
      );
  }
}

function resolveIdempotency(method: DescMethod): IdempotencyLevel {
  switch (method.idempotency) {
    case MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS:
      return "no_side_effects";
    case MethodOptions_IdempotencyLevel.IDEMPOTENT:
      return "idempotent";
    default:
      return "idempotency_unknown";
  }
}
