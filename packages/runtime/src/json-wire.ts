/**
 * proto3 JSON as an existing system spells it: the schema's proto field names (`job_id`, not
 * `jobId`), enum values by their `wire_name` option (`CREATED` for `JOB_STATE_CREATED`), and
 * messages with a `json_value_field` option standing for that one field's JSON value (a bare
 * array result). Used by the jsonrpc2 binding; everything else is protobuf-es's proto3 JSON.
 */
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  getOption,
  hasOption,
  type JsonValue,
  type Message,
  toJson,
} from "@bufbuild/protobuf";
import { Code, IpcError } from "./error.js";
import { enum_value, message as messageOption } from "./gen/protoipc/v1/options_pb.js";

/** How values are read and written. */
export interface JsonWireOptions {
  /**
   * Write fields with implicit presence even when they hold their default (`false`, `0`, `""`,
   * `[]`), as hand-written JSON peers do; default true. Fields with explicit presence (`optional`,
   * messages) are written only when set.
   */
  readonly emitDefaults?: boolean;
  /** Ignore object keys the schema does not know, when reading; default true (JSON peers add keys). */
  readonly ignoreUnknownFields?: boolean;
}

interface EnumMap {
  readonly toWire: Map<string, string>;
  readonly fromWire: Map<string, string>;
}

const enumMaps = new WeakMap<DescEnum, EnumMap | null>();
const adaptCache = new WeakMap<DescMessage, boolean>();

function enumMap(desc: DescEnum): EnumMap | null {
  let m = enumMaps.get(desc);
  if (m !== undefined) return m;
  const toWire = new Map<string, string>();
  const fromWire = new Map<string, string>();
  for (const v of desc.values) {
    if (!hasOption(v, enum_value)) continue;
    const wire = getOption(v, enum_value).wireName;
    if (wire === "") continue;
    toWire.set(v.name, wire);
    fromWire.set(wire, v.name);
  }
  m = toWire.size === 0 ? null : { toWire, fromWire };
  enumMaps.set(desc, m);
  return m;
}

/** The `json_value_field` of `desc`, if set. */
export function jsonValueField(desc: DescMessage): DescField | undefined {
  if (!hasOption(desc, messageOption)) return undefined;
  const name = getOption(desc, messageOption).jsonValueField;
  if (name === "") return undefined;
  const field = desc.fields.find((f) => f.name === name);
  if (field === undefined) {
    throw new IpcError(
      `${desc.typeName} names json_value_field ${name}, which it does not have`,
      Code.Internal,
    );
  }
  return field;
}

const OBJECT_WKTS = new Set([
  "google.protobuf.Struct",
  "google.protobuf.Empty",
  "google.protobuf.Any",
]);

/**
 * Whether the proto3 JSON of `desc` is an object. It is not for most well-known types
 * (`google.protobuf.StringValue` is a string, `Timestamp` a string, `ListValue` an array) and for
 * messages with a `json_value_field`. JSON-RPC params must be an object or an array, so the
 * jsonrpc2 binding sends such a request as `{ "value": <json> }` (named) or `[<json>]`
 * (positional).
 */
export function isObjectJson(desc: DescMessage): boolean {
  if (isWkt(desc)) return OBJECT_WKTS.has(desc.typeName);
  return jsonValueField(desc) === undefined;
}

function isWkt(desc: DescMessage): boolean {
  return desc.file.name.startsWith("google/protobuf/");
}

/** Whether any enum reachable from `desc` has wire names (so values need renaming). */
function needsAdapt(desc: DescMessage, seen = new Set<DescMessage>()): boolean {
  const cached = adaptCache.get(desc);
  if (cached !== undefined) return cached;
  if (seen.has(desc) || isWkt(desc)) return false;
  seen.add(desc);
  let needs = false;
  for (const f of desc.fields) {
    const e = fieldEnum(f);
    if (e !== undefined && enumMap(e) !== null) needs = true;
    const m = fieldMessage(f);
    if (m !== undefined && needsAdapt(m, seen)) needs = true;
  }
  adaptCache.set(desc, needs);
  return needs;
}

function fieldEnum(f: DescField): DescEnum | undefined {
  switch (f.fieldKind) {
    case "enum":
      return f.enum;
    case "list":
      return f.listKind === "enum" ? f.enum : undefined;
    case "map":
      return f.mapKind === "enum" ? f.enum : undefined;
    default:
      return undefined;
  }
}

function fieldMessage(f: DescField): DescMessage | undefined {
  switch (f.fieldKind) {
    case "message":
      return f.message;
    case "list":
      return f.listKind === "message" ? f.message : undefined;
    case "map":
      return f.mapKind === "message" ? f.message : undefined;
    default:
      return undefined;
  }
}

type Dir = "toWire" | "fromWire";

function renameValue(f: DescField, v: JsonValue, dir: Dir): JsonValue {
  const e = fieldEnum(f);
  if (e !== undefined) {
    const map = enumMap(e);
    if (map === null || typeof v !== "string") return v;
    return map[dir].get(v) ?? v;
  }
  const m = fieldMessage(f);
  if (m !== undefined && needsAdapt(m)) return adapt(m, v, dir);
  return v;
}

/** Renames enum values in `json` (an object of `desc`), in place where possible. */
function adapt(desc: DescMessage, json: JsonValue, dir: Dir): JsonValue {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const obj = json as { [k: string]: JsonValue };
  for (const f of desc.fields) {
    for (const key of dir === "toWire" ? [f.name] : [f.name, f.jsonName]) {
      const v = obj[key];
      if (v === undefined || v === null) continue;
      if (f.fieldKind === "list" && Array.isArray(v)) {
        obj[key] = v.map((item) => renameValue(f, item, dir));
      } else if (f.fieldKind === "map" && typeof v === "object" && !Array.isArray(v)) {
        const out: { [k: string]: JsonValue } = {};
        for (const [mk, mv] of Object.entries(v)) out[mk] = renameValue(f, mv, dir);
        obj[key] = out;
      } else {
        obj[key] = renameValue(f, v, dir);
      }
    }
  }
  return obj;
}

/**
 * `message` as the JSON value an existing peer expects (see the module comment).
 *
 * @throws IpcError Code.Internal when the message cannot be written as JSON (e.g. a
 *   `json_value_field` naming no field)
 */
export function toWireJson(
  desc: DescMessage,
  message: Message,
  options: JsonWireOptions = {},
): JsonValue {
  let json: JsonValue;
  try {
    json = toJson(desc, message as never, {
      useProtoFieldName: true,
      alwaysEmitImplicit: options.emitDefaults ?? true,
    });
  } catch (e) {
    throw IpcError.from(e, Code.Internal);
  }
  if (needsAdapt(desc)) json = adapt(desc, json, "toWire");
  const field = jsonValueField(desc);
  if (field !== undefined) {
    const obj = json as { [k: string]: JsonValue };
    return obj[field.name] ?? (field.fieldKind === "list" ? [] : null);
  }
  return json;
}

/**
 * Reads a message of `desc` from the JSON value an existing peer sent: proto field names or
 * lowerCamelCase JSON names, enum values by wire name or proto name, unknown keys ignored
 * unless told otherwise. `null` or an absent value reads as the empty message.
 *
 * @throws IpcError Code.InvalidArgument when the value does not fit the schema
 */
export function fromWireJson<D extends DescMessage>(
  desc: D,
  json: JsonValue | undefined,
  options: JsonWireOptions = {},
): Message {
  let value: JsonValue = json ?? null;
  const field = jsonValueField(desc);
  if (field !== undefined) value = value === null ? {} : { [field.name]: value };
  else if (value === null) value = isObjectJson(desc) ? {} : null;
  else if (isObjectJson(desc) && (typeof value !== "object" || Array.isArray(value))) {
    throw new IpcError(
      `expected a JSON object for ${desc.typeName}, got ${Array.isArray(value) ? "an array" : typeof value}`,
      Code.InvalidArgument,
    );
  }
  // Well-known types other than Struct/Empty/Any keep their own JSON form (a string, a number).
  if (isObjectJson(desc) || field !== undefined) {
    if (needsAdapt(desc)) value = adapt(desc, structuredClone(value), "fromWire");
  }
  try {
    return fromJson(desc, value, { ignoreUnknownFields: options.ignoreUnknownFields ?? true });
  } catch (e) {
    throw new IpcError(`invalid ${desc.typeName}: ${(e as Error).message}`, Code.InvalidArgument, {
      cause: e,
    });
  }
}

/**
 * Reads positional params: the array's items are the fields of `desc` in declaration order
 * (PROTOCOLS.md §3: `fetch_jobs [limit]`). Trailing fields may be missing; `null` items are
 * absent fields.
 *
 * @throws IpcError Code.InvalidArgument when there are more items than fields, or one does not fit
 */
export function fromPositionalJson<D extends DescMessage>(
  desc: D,
  items: readonly JsonValue[],
  options: JsonWireOptions = {},
): Message {
  const fields = desc.fields;
  if (items.length > fields.length) {
    throw new IpcError(
      `${items.length} positional params exceed the ${fields.length} fields of ${desc.typeName}`,
      Code.InvalidArgument,
    );
  }
  const obj: { [k: string]: JsonValue } = {};
  items.forEach((item, i) => {
    if (item !== null) obj[fields[i]!.name] = item;
  });
  return fromWireJson(desc, obj, options);
}

/** `message` as positional params: its fields' wire JSON values in declaration order. */
export function toPositionalJson(
  desc: DescMessage,
  message: Message,
  options: JsonWireOptions = {},
): JsonValue[] {
  const obj = toWireJson(desc, message, { emitDefaults: options.emitDefaults ?? false }) as {
    [k: string]: JsonValue;
  };
  const out = desc.fields.map((f) => obj[f.name] ?? null);
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}
