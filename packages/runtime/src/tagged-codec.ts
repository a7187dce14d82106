/**
 * The tagged binding's codec: a protobuf-es message ↔ one map whose variant is named by a
 * discriminator key, as existing systems such as dgx-pixels speak it (PROTOCOLS.md §1):
 * `{"type": "progress", "job_id": "job-1", "step": 3, ...}`, serialised as MessagePack
 * (`@msgpack/msgpack`) or JSON.
 *
 * Everything is read from the descriptors at run time (options in
 * proto/protoipc/v1/options.proto), so no regeneration is needed for a behaviour change:
 * - a union is a message with `(protoipc.v1.message).tagged_union` whose single oneof lists the
 *   variants; a variant's tag is its message's `wire_name`;
 * - map keys are the fields' proto names (snake_case, as in the original);
 * - enum values are their `(protoipc.v1.enum_value).wire_name`;
 * - `(protoipc.v1.field).fixed_length` fixes a repeated field's length (`size: [u32, u32]`).
 *
 * Encoding (both languages write the same bytes): fields in declaration order; proto3 fields
 * without presence always written, fields with presence (`optional`, messages) omitted when unset;
 * integers in their smallest MessagePack form (uint64 past 2^53 as `uint 64`); `float` fields as
 * MessagePack float 32 and `double` fields as float 64 (the Rust original's rmp-serde bytes);
 * bytes as bin. Decoding accepts float 32, float 64 and integers for `float`/`double` fields.
 * JSON has the same shape; 64-bit integers past 2^53 are written as decimal strings.
 */
import {
  create,
  type DescEnum,
  type DescField,
  type DescMessage,
  getOption,
  isFieldSet,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { Code, IpcError } from "./error.js";
import * as opts from "./gen/protoipc/v1/options_pb.js";

/** How a tagged map is serialised: MessagePack (the dgx-pixels wire) or JSON text (UTF-8). */
export type TaggedFormat = "msgpack" | "json";

/**
 * A tagged union read from its descriptor: the discriminator key and the variant message of each
 * wire tag. Build one with {@link taggedUnion}.
 */
export interface TaggedUnion {
  /** The union message (the one with the `tagged_union` option). */
  readonly desc: DescMessage;
  /** The map key holding the tag, e.g. `"type"`. */
  readonly discriminator: string;
  /** Variant message by wire tag, in declaration order. */
  readonly variants: ReadonlyMap<string, DescMessage>;
  /** Wire tag by variant message type name. */
  readonly tags: ReadonlyMap<string, string>;
}

const unions = new WeakMap<DescMessage, TaggedUnion>();

/** What the codec reads from one message's descriptor and options, once (see {@link taggedPlan}). */
export interface TaggedPlan {
  /** Fields by proto name. */
  readonly byName: ReadonlyMap<string, DescField>;
  /** `(protoipc.v1.field).fixed_length` of repeated fields that have one. */
  readonly fixedLength: ReadonlyMap<DescField, number>;
  /** The field marked `correlation`, `error_message`, `success`, when any. */
  readonly correlation: DescField | undefined;
  readonly errorMessage: DescField | undefined;
  readonly success: DescField | undefined;
}

const plans = new WeakMap<DescMessage, TaggedPlan>();

/** The options of `desc` and its fields the tagged binding uses, read once per descriptor. */
export function taggedPlan(desc: DescMessage): TaggedPlan {
  let plan = plans.get(desc);
  if (plan !== undefined) return plan;
  const fixedLength = new Map<DescField, number>();
  let correlation: DescField | undefined;
  let errorMessage: DescField | undefined;
  let success: DescField | undefined;
  for (const f of desc.fields) {
    const o = getOption(f, opts.field);
    if (o.fixedLength !== 0) fixedLength.set(f, o.fixedLength);
    if (o.correlation) correlation ??= f;
    if (o.errorMessage) errorMessage ??= f;
    if (o.success) success ??= f;
  }
  plan = {
    byName: new Map(desc.fields.map((f) => [f.name, f])),
    fixedLength,
    correlation,
    errorMessage,
    success,
  };
  plans.set(desc, plan);
  return plan;
}

interface EnumNames {
  readonly byNumber: ReadonlyMap<number, string>;
  readonly byName: ReadonlyMap<string, number>;
}

const enumNames = new WeakMap<DescEnum, EnumNames>();

function namesOf(e: DescEnum): EnumNames {
  let n = enumNames.get(e);
  if (n === undefined) {
    const byNumber = new Map<number, string>();
    const byName = new Map<string, number>();
    for (const v of e.values) {
      const name = getOption(v, opts.enum_value).wireName;
      if (name === "") continue;
      byNumber.set(v.number, name);
      byName.set(name, v.number);
    }
    n = { byNumber, byName };
    enumNames.set(e, n);
  }
  return n;
}

/**
 * Reads the tagged union declared by `desc` (cached per descriptor).
 *
 * @throws IpcError Code.Internal when `desc` lacks `(protoipc.v1.message).tagged_union`, has no
 *   single oneof of messages, a variant has no `wire_name`, or two variants share a tag
 */
export function taggedUnion(desc: DescMessage): TaggedUnion {
  const cached = unions.get(desc);
  if (cached !== undefined) return cached;
  const option = getOption(desc, opts.message).taggedUnion;
  if (option === undefined || option.discriminator === "") {
    throw new IpcError(
      `${desc.typeName} is not a tagged union: it has no (protoipc.v1.message).tagged_union discriminator`,
      Code.Internal,
    );
  }
  const oneof = desc.oneofs.length === 1 ? desc.oneofs[0] : undefined;
  if (oneof === undefined || oneof.fields.length !== desc.fields.length) {
    throw new IpcError(
      `tagged union ${desc.typeName} must hold exactly one oneof and no other field`,
      Code.Internal,
    );
  }
  const variants = new Map<string, DescMessage>();
  const tags = new Map<string, string>();
  for (const f of oneof.fields) {
    if (f.fieldKind !== "message") {
      throw new IpcError(`variant ${f.name} of ${desc.typeName} is not a message`, Code.Internal);
    }
    const tag = getOption(f.message, opts.message).wireName;
    if (tag === "") {
      throw new IpcError(
        `variant ${f.message.typeName} of ${desc.typeName} has no (protoipc.v1.message).wire_name`,
        Code.Internal,
      );
    }
    if (variants.has(tag) && variants.get(tag) !== f.message) {
      throw new IpcError(`tag "${tag}" names two variants of ${desc.typeName}`, Code.Internal);
    }
    variants.set(tag, f.message);
    tags.set(f.message.typeName, tag);
  }
  const union: TaggedUnion = Object.freeze({
    desc,
    discriminator: option.discriminator,
    variants,
    tags,
  });
  unions.set(desc, union);
  return union;
}

/**
 * Encodes `message`, a variant of `union`, as one tagged map: the discriminator first, then the
 * fields (see the module comment for the exact rules).
 *
 * @throws IpcError Code.InvalidArgument when the message is not a variant of the union, an enum
 *   value has no wire name, or a fixed-length field has another length
 */
export function encodeTagged(
  union: TaggedUnion,
  message: Message,
  format: TaggedFormat = "msgpack",
): Uint8Array {
  const tag = union.tags.get(message.$typeName);
  if (tag === undefined) {
    throw new IpcError(
      `${message.$typeName} is not a variant of tagged union ${union.desc.typeName}`,
      Code.InvalidArgument,
    );
  }
  const desc = union.variants.get(tag)!;
  if (format === "json") {
    const map: Record<string, unknown> = { [union.discriminator]: tag };
    writeJsonFields(map, desc, message);
    return textEncoder.encode(JSON.stringify(map));
  }
  const w = new MsgpackWriter();
  w.mapHeader(countFields(desc, message) + 1);
  w.value(union.discriminator);
  w.value(tag);
  writeMsgpackFields(w, desc, message);
  return w.finish();
}

/**
 * Decodes one tagged map into the variant message its tag names.
 *
 * @throws IpcError Code.InvalidArgument when the bytes are not one MessagePack map (or JSON
 *   object), the discriminator is missing or not a string, the tag is unknown, or a field has the
 *   wrong type, an out-of-range value, an unknown enum name or a wrong fixed length; the message
 *   names the tag and the field
 */
export function decodeTagged(
  union: TaggedUnion,
  bytes: Uint8Array,
  format: TaggedFormat = "msgpack",
): Message {
  let value: unknown;
  try {
    value =
      format === "json" ? JSON.parse(textDecoder.decode(bytes)) : msgpackDecoder.decode(bytes);
  } catch (e) {
    throw new IpcError(
      `malformed ${format === "json" ? "JSON" : "MessagePack"} frame of ${bytes.byteLength} bytes: ${(e as Error).message}`,
      Code.InvalidArgument,
      { cause: e },
    );
  }
  return fromTaggedMap(union, value);
}

/**
 * Reads an already deserialised tagged map (string keys) into the variant message its tag names.
 *
 * @throws IpcError Code.InvalidArgument as {@link decodeTagged}
 */
export function fromTaggedMap(union: TaggedUnion, value: unknown): Message {
  if (!isPlainMap(value)) {
    throw new IpcError(
      `a ${union.desc.typeName} frame must be a map, got ${describe(value)}`,
      Code.InvalidArgument,
    );
  }
  const tag = value[union.discriminator];
  if (tag === undefined) {
    throw new IpcError(
      `a ${union.desc.typeName} map has no "${union.discriminator}" key`,
      Code.InvalidArgument,
    );
  }
  if (typeof tag !== "string") {
    throw new IpcError(
      `"${union.discriminator}" of a ${union.desc.typeName} map is ${describe(tag)}, not a string`,
      Code.InvalidArgument,
    );
  }
  const desc = union.variants.get(tag);
  if (desc === undefined) {
    throw new IpcError(
      `unknown ${union.desc.typeName} tag "${tag}"; known: ${[...union.variants.keys()].join(", ")}`,
      Code.InvalidArgument,
    );
  }
  return readMessage(desc, value, tag, union.discriminator);
}

// ---------------------------------------------------------------------------------------------
// Encoding

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });
const msgpackDecoder = new Decoder({ useBigInt64: true });

/**
 * Writes MessagePack by composing `@msgpack/msgpack` encodings of scalars under map and array
 * headers. The composition exists for one reason: the library picks a number's encoding from its
 * value (an integral `7` becomes an int), while the schema says a `float` field is float 32 and a
 * `double` float 64 whatever its value; three encoders with fixed number settings give that.
 */
class MsgpackWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.byteLength;
  }

  mapHeader(n: number): void {
    this.header(n, 0x80, 0xde, 0xdf);
  }

  arrayHeader(n: number): void {
    this.header(n, 0x90, 0xdc, 0xdd);
  }

  /** A fix-type header for n < 16, else the 16- or 32-bit form (MessagePack spec, "map"/"array"). */
  private header(n: number, fix: number, t16: number, t32: number): void {
    if (n < 16) this.push(Uint8Array.of(fix | n));
    else if (n < 0x10000) this.push(Uint8Array.of(t16, n >>> 8, n & 0xff));
    else this.push(Uint8Array.of(t32, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  }

  value(v: unknown): void {
    this.push(plainEncoder.encode(v));
  }

  /** Bytes encoded already (never modified: chunks are only copied out). */
  raw(b: Uint8Array): void {
    this.push(b);
  }

  float32(v: number): void {
    this.push(f32Encoder.encode(v));
  }

  float64(v: number): void {
    this.push(f64Encoder.encode(v));
  }

  finish(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

const plainEncoder = new Encoder({ useBigInt64: true });

const keys = new WeakMap<DescField, Uint8Array>();

/** A field's map key (its proto name), encoded once. */
function keyBytes(field: DescField): Uint8Array {
  let b = keys.get(field);
  if (b === undefined) {
    b = plainEncoder.encode(field.name);
    keys.set(field, b);
  }
  return b;
}
const f32Encoder = new Encoder({ forceFloat32: true, forceIntegerToFloat: true });
const f64Encoder = new Encoder({ forceIntegerToFloat: true });

/** Whether `field` goes on the wire: fields with presence only when set. */
function present(message: Message, field: DescField): boolean {
  if (field.fieldKind === "list" || field.fieldKind === "map") return true;
  if (field.oneof !== undefined || field.presence === 1 /* EXPLICIT */) {
    return isFieldSet(message, field);
  }
  return true;
}

function countFields(desc: DescMessage, message: Message): number {
  let n = 0;
  for (const f of desc.fields) if (present(message, f)) n++;
  return n;
}

function get(message: Message, field: DescField): unknown {
  const m = message as unknown as Record<string, unknown>;
  if (field.oneof !== undefined) {
    const o = m[field.oneof.localName] as { case?: string; value?: unknown };
    return o.case === field.localName ? o.value : undefined;
  }
  return m[field.localName];
}

function writeMsgpackFields(w: MsgpackWriter, desc: DescMessage, message: Message): void {
  for (const field of desc.fields) {
    if (!present(message, field)) continue;
    w.raw(keyBytes(field));
    const v = get(message, field);
    switch (field.fieldKind) {
      case "scalar":
        writeScalar(w, field.scalar, v);
        break;
      case "enum":
        w.value(enumName(field.enum, v as number, field));
        break;
      case "message":
        w.mapHeader(countFields(field.message, v as Message));
        writeMsgpackFields(w, field.message, v as Message);
        break;
      case "list": {
        const list = v as unknown[];
        checkLength(field, list.length, "encode");
        w.arrayHeader(list.length);
        for (const item of list) {
          if (field.listKind === "scalar") writeScalar(w, field.scalar, item);
          else if (field.listKind === "enum") w.value(enumName(field.enum, item as number, field));
          else {
            w.mapHeader(countFields(field.message, item as Message));
            writeMsgpackFields(w, field.message, item as Message);
          }
        }
        break;
      }
      case "map":
        throw new IpcError(
          `map field ${field.name} is not supported by the tagged codec`,
          Code.Unimplemented,
        );
    }
  }
}

function writeScalar(w: MsgpackWriter, type: ScalarType, v: unknown): void {
  switch (type) {
    case ScalarType.FLOAT:
      w.float32(v as number);
      return;
    case ScalarType.DOUBLE:
      w.float64(v as number);
      return;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      w.value(int64Value(v));
      return;
    default:
      w.value(v);
  }
}

/** A 64-bit integer as a number when it is safe (smallest encoding), else a bigint. */
function int64Value(v: unknown): number | bigint {
  const b = typeof v === "bigint" ? v : BigInt(v as string | number);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(b)
    : b;
}

function writeJsonFields(out: Record<string, unknown>, desc: DescMessage, message: Message): void {
  for (const field of desc.fields) {
    if (!present(message, field)) continue;
    const v = get(message, field);
    const one = (item: unknown): unknown => {
      const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
      if (kind === "enum")
        return enumName((field as { enum: DescEnum }).enum, item as number, field);
      if (kind === "message") {
        const nested: Record<string, unknown> = {};
        writeJsonFields(nested, (field as { message: DescMessage }).message, item as Message);
        return nested;
      }
      const scalar = (field as { scalar: ScalarType }).scalar;
      if (scalar === ScalarType.BYTES) return Buffer.from(item as Uint8Array).toString("base64");
      if (is64(scalar)) {
        const n = int64Value(item);
        return typeof n === "bigint" ? n.toString() : n;
      }
      return item;
    };
    if (field.fieldKind === "map") {
      throw new IpcError(
        `map field ${field.name} is not supported by the tagged codec`,
        Code.Unimplemented,
      );
    }
    if (field.fieldKind === "list") {
      checkLength(field, (v as unknown[]).length, "encode");
      out[field.name] = (v as unknown[]).map(one);
    } else out[field.name] = one(v);
  }
}

function enumName(e: DescEnum, n: number, field: DescField): string {
  const name = namesOf(e).byNumber.get(n);
  if (name === undefined) {
    throw new IpcError(
      `value ${n} of field ${field.name} (${e.typeName}) has no (protoipc.v1.enum_value).wire_name`,
      Code.InvalidArgument,
    );
  }
  return name;
}

function checkLength(field: DescField, length: number, what: "encode" | "decode"): void {
  const fixed =
    field.parent === undefined ? undefined : taggedPlan(field.parent).fixedLength.get(field);
  if (fixed !== undefined && length !== fixed) {
    throw new IpcError(
      `field ${field.name} holds ${length} elements, its fixed_length is ${fixed} (${what})`,
      Code.InvalidArgument,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "binary";
  if (typeof v === "object") return "a map";
  if (typeof v === "string")
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function is64(t: ScalarType): boolean {
  return (
    t === ScalarType.INT64 ||
    t === ScalarType.UINT64 ||
    t === ScalarType.FIXED64 ||
    t === ScalarType.SFIXED64 ||
    t === ScalarType.SINT64
  );
}

function readMessage(
  desc: DescMessage,
  map: Record<string, unknown>,
  where: string,
  skip?: string,
) {
  const init: Record<string, unknown> = {};
  const plan = taggedPlan(desc);
  const byName = plan.byName;
  for (const [key, raw] of Object.entries(map)) {
    if (key === skip) continue;
    const field = byName.get(key);
    // Unknown keys are ignored, as serde and the Python original do: a newer peer may add fields.
    if (field === undefined) continue;
    if (raw === null && (field.presence === 1 || field.oneof !== undefined)) continue; // nil = absent
    const at = `${where}.${field.name}`;
    let value: unknown;
    switch (field.fieldKind) {
      case "scalar":
        value = readScalar(field.scalar, raw, at, field.longAsString);
        break;
      case "enum":
        value = readEnum(field.enum, raw, at);
        break;
      case "message":
        if (!isPlainMap(raw)) throw wrongType(at, "a map", raw);
        value = readMessage(field.message, raw, at);
        break;
      case "list": {
        if (!Array.isArray(raw)) throw wrongType(at, "an array", raw);
        checkLength(field, raw.length, "decode");
        value = raw.map((item, i) => {
          const ai = `${at}[${i}]`;
          if (field.listKind === "scalar")
            return readScalar(field.scalar, item, ai, field.longAsString);
          if (field.listKind === "enum") return readEnum(field.enum, item, ai);
          if (!isPlainMap(item)) throw wrongType(ai, "a map", item);
          return readMessage(field.message, item, ai);
        });
        break;
      }
      case "map":
        throw new IpcError(
          `map field ${field.name} is not supported by the tagged codec`,
          Code.Unimplemented,
        );
    }
    if (field.oneof !== undefined) init[field.oneof.localName] = { case: field.localName, value };
    else init[field.localName] = value;
  }
  for (const field of plan.fixedLength.keys()) {
    if (init[field.localName] === undefined) checkLength(field, 0, "decode");
  }
  return create(desc, init as never);
}

function wrongType(at: string, want: string, got: unknown): IpcError {
  return new IpcError(`field ${at} must be ${want}, got ${describe(got)}`, Code.InvalidArgument);
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const UINT32 = { min: 0, max: 2 ** 32 - 1 };

function readScalar(t: ScalarType, raw: unknown, at: string, longAsString: boolean): unknown {
  switch (t) {
    case ScalarType.STRING:
      if (typeof raw !== "string") throw wrongType(at, "a string", raw);
      return raw;
    case ScalarType.BOOL:
      if (typeof raw !== "boolean") throw wrongType(at, "a bool", raw);
      return raw;
    case ScalarType.BYTES:
      if (raw instanceof Uint8Array) return raw;
      if (typeof raw === "string") return new Uint8Array(Buffer.from(raw, "base64"));
      throw wrongType(at, "binary", raw);
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      // f32 and f64 (and integers) are all accepted: the Python original writes f64, Rust f32.
      // A `float` field holds a float 32, as in every protobuf runtime (Python rounds on set).
      let n: number;
      if (typeof raw === "number") n = raw;
      else if (typeof raw === "bigint") n = Number(raw);
      else throw wrongType(at, "a number", raw);
      return t === ScalarType.FLOAT ? Math.fround(n) : n;
    }
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return readInt32(raw, at, INT32);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return readInt32(raw, at, UINT32);
    default: {
      const unsigned = t === ScalarType.UINT64 || t === ScalarType.FIXED64;
      let b: bigint;
      if (typeof raw === "bigint") b = raw;
      else if (typeof raw === "number" && Number.isInteger(raw)) b = BigInt(raw);
      else if (typeof raw === "string" && /^-?\d+$/.test(raw)) b = BigInt(raw);
      else throw wrongType(at, "an integer", raw);
      const min = unsigned ? 0n : -(2n ** 63n);
      const max = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
      if (b < min || b > max) {
        throw new IpcError(
          `field ${at} of ${b} is out of range ${min}..${max}`,
          Code.InvalidArgument,
        );
      }
      return longAsString ? b.toString() : b;
    }
  }
}

function readInt32(raw: unknown, at: string, range: { min: number; max: number }): number {
  if (typeof raw !== "number" || !Number.isInteger(raw)) throw wrongType(at, "an integer", raw);
  if (raw < range.min || raw > range.max) {
    throw new IpcError(
      `field ${at} of ${raw} is out of range ${range.min}..${range.max}`,
      Code.InvalidArgument,
    );
  }
  return raw;
}

function readEnum(e: DescEnum, raw: unknown, at: string): number {
  if (typeof raw !== "string") throw wrongType(at, "a string", raw);
  const n = namesOf(e).byName.get(raw);
  if (n !== undefined) return n;
  throw new IpcError(`field ${at} has unknown ${e.typeName} value "${raw}"`, Code.InvalidArgument);
}
