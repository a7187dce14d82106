/**
 * The tagged binding's call mapping, shared by its transports (`@protoipc/zeromq`'s
 * `createZmqTaggedTransport`, and the Python twin in protoipc/tagged.py): which union a frame
 * belongs to, which method a request variant calls, how a progress method maps onto an existing
 * system's jobs (acknowledgement, correlated updates, result, error variants), all read from the
 * schema's `protoipc.v1` options at run time (proto/protoipc/v1/options.proto).
 */
import {
  create,
  createRegistry,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescService,
  getOption,
  type Message,
} from "@bufbuild/protobuf";
import type { AnyMethodDescriptor, ServiceDescriptor } from "./descriptor.js";
import { Code, codeToString, IpcError } from "./error.js";
import * as opts from "./gen/protoipc/v1/options_pb.js";
import { type TaggedUnion, taggedPlan, taggedUnion } from "./tagged-codec.js";

/** How one progress method maps onto a job on the tagged wire (option `(protoipc.v1.method).tagged`). */
export interface TaggedJob {
  /** The reply acknowledging the job (`JobAccepted`). */
  readonly accepted: DescMessage;
  /** The request field whose value is the job id (`id`). */
  readonly correlationField: DescField;
  /** The method that cancels a job by id, when the schema names one. */
  readonly cancel: AnyMethodDescriptor | undefined;
}

/** A service's tagged binding, read from its schema by {@link taggedService}. */
export interface TaggedService {
  readonly service: ServiceDescriptor;
  /** Requests (`"generate"`, `"ping"`, …). */
  readonly requests: TaggedUnion;
  /** Replies (results, acknowledgements, errors). */
  readonly responses: TaggedUnion;
  /** Published updates; `undefined` when the service has no progress method. */
  readonly updates: TaggedUnion | undefined;
  /** The method a request variant calls, by the variant's type name. */
  readonly methodByRequest: ReadonlyMap<string, AnyMethodDescriptor>;
  /** Job mapping of each progress method, by method path. */
  readonly jobs: ReadonlyMap<string, TaggedJob>;
}

const services = new WeakMap<ServiceDescriptor, TaggedService>();

/**
 * Reads the tagged binding of `service` from `(protoipc.v1.service).tagged` and
 * `(protoipc.v1.method).tagged` on its schema (cached per descriptor).
 *
 * @throws IpcError Code.Internal when the schema does not declare the unions, a name does not
 *   resolve, a method's request is not a variant of the request union, or a progress method has
 *   no `tagged.accepted`/`correlation_field`
 */
export function taggedService(service: ServiceDescriptor): TaggedService {
  const cached = services.get(service);
  if (cached !== undefined) return cached;
  const methods = Object.values(service.methods);
  const first = methods[0];
  if (first === undefined) {
    throw new IpcError(`${service.typeName} has no methods`, Code.Internal);
  }
  const file = (first.input as DescMessage).file;
  const registry = createRegistry(file, ...file.dependencies);
  const desc = findService(file, service.typeName);
  const opt = getOption(desc, opts.service).tagged;
  if (opt === undefined || opt.requestUnion === "" || opt.responseUnion === "") {
    throw new IpcError(
      `${service.typeName} declares no tagged unions: set (protoipc.v1.service).tagged`,
      Code.Internal,
    );
  }
  const resolve = (name: string, what: string): DescMessage => {
    const full = name.includes(".") ? name : `${file.proto.package}.${name}`;
    const m = registry.getMessage(full);
    if (m === undefined) {
      throw new IpcError(
        `${what} ${JSON.stringify(name)} of ${service.typeName} is not a message`,
        Code.Internal,
      );
    }
    return m;
  };
  const requests = taggedUnion(resolve(opt.requestUnion, "request_union"));
  const responses = taggedUnion(resolve(opt.responseUnion, "response_union"));
  const updates =
    opt.updateUnion === "" ? undefined : taggedUnion(resolve(opt.updateUnion, "update_union"));
  const methodByRequest = new Map<string, AnyMethodDescriptor>();
  const jobs = new Map<string, TaggedJob>();
  for (const m of methods) {
    const input = m.input as DescMessage;
    if (m.kind === "server_streaming") {
      throw new IpcError(
        `${m.path} is server streaming, which the tagged binding does not carry`,
        Code.Internal,
      );
    }
    if (!requests.tags.has(input.typeName)) {
      throw new IpcError(
        `${m.path}: ${input.typeName} is not a variant of ${requests.desc.typeName}`,
        Code.Internal,
      );
    }
    methodByRequest.set(input.typeName, m);
  }
  for (const m of methods) {
    if (m.kind !== "progress") continue;
    const mdesc = desc.methods.find((x) => x.name === m.name)!;
    const t = getOption(mdesc, opts.method).tagged;
    const input = m.input as DescMessage;
    const field = input.fields.find((f) => f.name === t?.correlationField);
    if (t === undefined || t.accepted === "" || field === undefined || updates === undefined) {
      throw new IpcError(
        `${m.path} is a progress method: the tagged binding needs its (protoipc.v1.method).tagged accepted and correlation_field, and the service's update_union`,
        Code.Internal,
      );
    }
    const cancel =
      t.cancelMethod === "" ? undefined : methods.find((x) => x.name === t.cancelMethod);
    if (t.cancelMethod !== "" && cancel === undefined) {
      throw new IpcError(
        `${m.path}: cancel_method ${t.cancelMethod} is not a method of ${service.typeName}`,
        Code.Internal,
      );
    }
    jobs.set(m.path, {
      accepted: resolve(t.accepted, "accepted"),
      correlationField: field,
      cancel,
    });
  }
  const out: TaggedService = Object.freeze({
    service,
    requests,
    responses,
    updates,
    methodByRequest,
    jobs,
  });
  services.set(service, out);
  return out;
}

function findService(file: DescFile, typeName: string): DescService {
  const s = file.services.find((x) => x.typeName === typeName);
  if (s === undefined) {
    throw new IpcError(
      `${typeName} is not declared in ${file.name}, the file of its first request`,
      Code.Internal,
    );
  }
  return s;
}

function markedField(
  desc: DescMessage,
  mark: "correlation" | "errorMessage" | "success",
): DescField | undefined {
  return taggedPlan(desc)[mark];
}

/** The job id a reply or update carries in its `correlation` field; `undefined` when it has none. */
export function correlationOf(message: Message, desc: DescMessage): string | undefined {
  const f = markedField(desc, "correlation");
  if (f === undefined) return undefined;
  const v = (message as unknown as Record<string, unknown>)[f.localName];
  return v === undefined ? undefined : String(v);
}

/**
 * The error an error variant (a message with an `error_message` field) stands for, else
 * `undefined`. Text of the form `[code_name] message`, as protoipc's own tagged servers write it,
 * keeps its code; any other text is `Code.Unknown` (the original's errors are bare strings).
 */
export function errorOf(message: Message, desc: DescMessage, tag: string): IpcError | undefined {
  const f = markedField(desc, "errorMessage");
  if (f === undefined) return undefined;
  const text = String((message as unknown as Record<string, unknown>)[f.localName] ?? "");
  const m = /^\[([a-z_]+)\] ([\s\S]*)$/.exec(text);
  if (m !== null) {
    for (const c of Object.values(Code)) {
      if (typeof c === "number" && codeToString(c) === m[1]) return new IpcError(m[2]!, c);
    }
  }
  return new IpcError(`${tag}: ${text}`, Code.Unknown);
}

/** The value of a job-end variant's `success` field; `undefined` when the message has none. */
export function successOf(message: Message, desc: DescMessage): boolean | undefined {
  const f = markedField(desc, "success");
  if (f === undefined) return undefined;
  return (message as unknown as Record<string, unknown>)[f.localName] === true;
}

/**
 * Builds a message of `desc` with its `correlation` field set to `jobId` and, when given, its
 * `error_message` and `success` fields (server side: acknowledgements, job errors, job ends).
 */
export function createMarked(
  desc: DescMessage,
  jobId: string,
  extra: { error?: IpcError; success?: boolean } = {},
): Message {
  const init: Record<string, unknown> = {};
  const c = markedField(desc, "correlation");
  if (c !== undefined) init[c.localName] = jobId;
  const e = markedField(desc, "errorMessage");
  if (e !== undefined && extra.error !== undefined) {
    init[e.localName] = `[${codeToString(extra.error.code)}] ${extra.error.rawMessage}`;
  }
  const s = markedField(desc, "success");
  if (s !== undefined && extra.success !== undefined) init[s.localName] = extra.success;
  return create(desc, init as never);
}

/** The first variant of `union` that has an `error_message` field and no `correlation` field (a request-level error). */
export function requestErrorVariant(union: TaggedUnion): DescMessage | undefined {
  for (const d of union.variants.values()) {
    if (markedField(d, "errorMessage") !== undefined && markedField(d, "correlation") === undefined)
      return d;
  }
  return undefined;
}

/** The first variant of `union` that has both an `error_message` and a `correlation` field (a job error). */
export function jobErrorVariant(union: TaggedUnion): DescMessage | undefined {
  for (const d of union.variants.values()) {
    if (markedField(d, "errorMessage") !== undefined && markedField(d, "correlation") !== undefined)
      return d;
  }
  return undefined;
}

/** The first variant of `union` that has a `success` field (a job end). */
export function jobEndVariant(union: TaggedUnion): DescMessage | undefined {
  for (const d of union.variants.values()) if (markedField(d, "success") !== undefined) return d;
  return undefined;
}

/**
 * Wraps `variant` into the progress message of `method` when one of the progress message's oneof
 * fields has the variant's type (`JobStarted` → `GenerateProgress{update: {case: "jobStarted"}}`);
 * `undefined` when none does.
 */
export function wrapProgress(method: AnyMethodDescriptor, variant: Message): Message | undefined {
  const desc = method.progress as DescMessage | undefined;
  if (desc === undefined) return undefined;
  if (desc.typeName === variant.$typeName) return variant;
  for (const f of desc.fields) {
    if (f.fieldKind === "message" && f.message.typeName === variant.$typeName) {
      const init = f.oneof
        ? { [f.oneof.localName]: { case: f.localName, value: variant } }
        : { [f.localName]: variant };
      return create(desc, init as never);
    }
  }
  return undefined;
}

/** The inverse of {@link wrapProgress}: the variant message held by a progress message. */
export function unwrapProgress(progress: Message, desc: DescMessage): Message | undefined {
  const m = progress as unknown as Record<string, unknown>;
  for (const o of desc.oneofs) {
    const v = m[o.localName] as { case?: string; value?: unknown };
    if (v.case !== undefined) return v.value as Message;
  }
  for (const f of desc.fields) {
    if (f.fieldKind === "message" && m[f.localName] !== undefined) return m[f.localName] as Message;
  }
  return undefined;
}
