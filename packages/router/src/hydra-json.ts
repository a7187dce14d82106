/**
 * The JSON shape of messages on AI Hydra's wire (PROTOCOLS.md §2): objects keyed by the proto
 * field names (Hydra's own snake_case), `json_tuple` messages as arrays (`[x, y]`), enums by
 * their `wire_name`, int64 as JSON numbers. Every field is written, including zero values (Hydra's
 * Python reads keys directly), except unset `optional` and message fields. Unknown keys are
 * ignored when reading, so extra keys a Hydra peer sends do not break a call.
 */
import {
  create,
  type DescEnum,
  type DescField,
  type DescMessage,
  getOption,
  isFieldSet,
  type Message,
  type MessageShape,
  ScalarType,
} from "@bufbuild/protobuf";
import { Code, IpcError, protoipcOptions } from "@protoipc/runtime";

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A message's `wire_name` option (`(protoipc.v1.message).wire_name`), `undefined` when unset. */
export function messageWireName(desc: DescMessage): string | undefined {
  const name = getOption(desc, protoipcOptions.message).wireName;
  return name === "" ? undefined : name;
}

function isTuple(desc: DescMessage): boolean {
  return getOption(desc, protoipcOptions.message).jsonTuple;
}

/** The wire spelling of each value of an enum, and back. */
export interface EnumWireNames {
  readonly toWire: ReadonlyMap<number, string>;
  readonly fromWire: ReadonlyMap<string, number>;
}

const enumCache = new WeakMap<DescEnum, EnumWireNames>();

/**
 * The wire names of an enum's values (`wire_name`, else the value's proto name) and, reading,
 * also their `wire_aliases`.
 */
export function enumWireNames(desc: DescEnum): EnumWireNames {
  let names = enumCache.get(desc);
  if (names === undefined) {
    const toWire = new Map<number, string>();
    const fromWire = new Map<string, number>();
    for (const v of desc.values) {
      const opt = getOption(v, protoipcOptions.enum_value);
      const wire = opt.wireName === "" ? v.name : opt.wireName;
      toWire.set(v.number, wire);
      fromWire.set(wire, v.number);
      for (const alias of opt.wireAliases) if (!fromWire.has(alias)) fromWire.set(alias, v.number);
    }
    names = { toWire, fromWire };
    enumCache.set(desc, names);
  }
  return names;
}

/** Writes a message as Hydra JSON. */
export function messageToHydraJson(desc: DescMessage, message: Message): JsonValue {
  const rec = message as unknown as Record<string, unknown>;
  if (isTuple(desc)) {
    return [...desc.fields]
      .sort((a, b) => a.number - b.number)
      .map((f) => singularToJson(f, rec[f.localName]));
  }
  const out: { [k: string]: JsonValue } = {};
  for (const f of desc.fields) {
    const value = rec[f.localName];
    if (f.fieldKind === "list") {
      out[f.name] = (value as unknown[]).map((v) => singularToJson(f, v));
      continue;
    }
    if (f.fieldKind === "map") {
      const m: { [k: string]: JsonValue } = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        m[k] = singularToJson(f, v);
      }
      out[f.name] = m;
      continue;
    }
    // Unset message fields and unset proto3 `optional` fields are left out; zero values are not.
    if ((f.fieldKind === "message" || f.proto.proto3Optional) && !isFieldSet(message, f)) continue;
    out[f.name] = singularToJson(f, value);
  }
  return out;
}

function singularToJson(f: DescField, value: unknown): JsonValue {
  switch (f.fieldKind) {
    case "message":
      return messageToHydraJson(f.message, value as Message);
    case "enum":
      return enumWireNames(f.enum).toWire.get(value as number) ?? (value as number);
    case "list":
      if (f.listKind === "message") return messageToHydraJson(f.message, value as Message);
      if (f.listKind === "enum") {
        return enumWireNames(f.enum).toWire.get(value as number) ?? (value as number);
      }
      return scalarToJson(f.scalar, value);
    case "map":
      if (f.mapKind === "message") return messageToHydraJson(f.message, value as Message);
      if (f.mapKind === "enum") {
        return enumWireNames(f.enum).toWire.get(value as number) ?? (value as number);
      }
      return scalarToJson(f.scalar, value);
    default:
      return scalarToJson(f.scalar, value);
  }
}

function scalarToJson(t: ScalarType, value: unknown): JsonValue {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (t === ScalarType.DOUBLE || t === ScalarType.FLOAT) {
    // JSON has no NaN/Infinity; Hydra's json.dumps would write them, but JSON.parse could not.
    return Number.isFinite(value as number) ? (value as number) : null;
  }
  return value as JsonValue;
}

/**
 * Reads Hydra JSON into a message. `path` names the place in errors (`data.config.grid_size`).
 *
 * @throws IpcError Code.InvalidArgument when a value has the wrong type or an enum name is unknown
 */
export function messageFromHydraJson<D extends DescMessage>(
  desc: D,
  json: unknown,
  path = "data",
): MessageShape<D> {
  return create(desc, initFromJson(desc, json, path) as never) as MessageShape<D>;
}

function initFromJson(desc: DescMessage, json: unknown, path: string): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  if (isTuple(desc)) {
    const fields = [...desc.fields].sort((a, b) => a.number - b.number);
    if (!Array.isArray(json) || json.length !== fields.length) {
      throw invalid(path, `an array of ${fields.length} values`, json);
    }
    fields.forEach((f, i) => {
      init[f.localName] = singularFromJson(f, json[i], `${path}[${i}]`);
    });
    return init;
  }
  if (json === null || json === undefined) return init;
  if (typeof json !== "object" || Array.isArray(json)) throw invalid(path, "an object", json);
  const obj = json as Record<string, unknown>;
  for (const f of desc.fields) {
    const value = obj[f.name];
    if (value === undefined || value === null) continue;
    const at = `${path}.${f.name}`;
    if (f.fieldKind === "list") {
      if (!Array.isArray(value)) throw invalid(at, "an array", value);
      init[f.localName] = value.map((v, i) => singularFromJson(f, v, `${at}[${i}]`));
    } else if (f.fieldKind === "map") {
      if (typeof value !== "object" || Array.isArray(value)) throw invalid(at, "an object", value);
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) m[k] = singularFromJson(f, v, `${at}.${k}`);
      init[f.localName] = m;
    } else {
      init[f.localName] = singularFromJson(f, value, at);
    }
  }
  return init;
}

/** The element type of a field: its message, enum or scalar type (lists and maps: the values'). */
function elementOf(f: DescField): DescMessage | DescEnum | ScalarType {
  switch (f.fieldKind) {
    case "message":
      return f.message;
    case "enum":
      return f.enum;
    case "scalar":
      return f.scalar;
    case "list":
      return f.listKind === "message" ? f.message : f.listKind === "enum" ? f.enum : f.scalar;
    case "map":
      return f.mapKind === "message" ? f.message : f.mapKind === "enum" ? f.enum : f.scalar;
  }
}

function singularFromJson(f: DescField, value: unknown, path: string): unknown {
  const el = elementOf(f);
  if (typeof el === "number") return scalarFromJson(el, value, path);
  if (el.kind === "message") return initFromJson(el, value, path);
  if (typeof value === "number" && Number.isInteger(value)) return value;
  const n = typeof value === "string" ? enumWireNames(el).fromWire.get(value) : undefined;
  if (n === undefined) {
    throw invalid(path, `one of ${[...enumWireNames(el).toWire.values()].join(", ")}`, value);
  }
  return n;
}

function scalarFromJson(t: ScalarType, value: unknown, path: string): unknown {
  switch (t) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw invalid(path, "a string", value);
      return value;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") throw invalid(path, "a boolean", value);
      return value;
    case ScalarType.BYTES:
      if (typeof value !== "string") throw invalid(path, "a base64 string", value);
      return Buffer.from(value, "base64");
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (typeof value !== "number") throw invalid(path, "a number", value);
      return value;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw invalid(path, "an integer", value);
      }
      return BigInt(value);
    default:
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw invalid(path, "an integer", value);
      }
      return value;
  }
}

function invalid(path: string, expected: string, got: unknown): IpcError {
  const shown = JSON.stringify(got) ?? String(got);
  return new IpcError(
    `${path}: expected ${expected}, got ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`,
    Code.InvalidArgument,
  );
}
