/**
 * Messages ↔ the JSON of command frames: proto3 JSON with the schema's field names (json_name,
 * lowerCamelCase: the wire's `projectId`), plus the two schema options the command-frame binding
 * reads: `MessageOptions.json_value_field` (one field stands for the whole JSON value) and
 * `EnumValueOptions.wire_name` (event names such as `"task.started"`).
 */
import {
  create,
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  getOption,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { Code, IpcError, protoipcOptions } from "@protoipc/runtime";

const READ = { ignoreUnknownFields: true } as const;

const valueFields = new WeakMap<DescMessage, DescField | null>();

/** The field named by the message's `json_value_field` option, or `null`. */
function valueFieldOf(desc: DescMessage): DescField | null {
  let field = valueFields.get(desc);
  if (field === undefined) {
    const name = getOption(desc, protoipcOptions.message).jsonValueField;
    field = name === "" ? null : (desc.fields.find((f) => f.name === name) ?? null);
    if (name !== "" && field === null) {
      throw new IpcError(
        `${desc.typeName} names json_value_field "${name}", which is not one of its fields`,
        Code.Internal,
      );
    }
    valueFields.set(desc, field);
  }
  return field;
}

/**
 * The JSON of `message` on a command-frame wire: its proto3 JSON object, or, when the message
 * sets `json_value_field`, that field's JSON (an empty object when unset).
 */
export function messageToWire<D extends DescMessage>(desc: D, message: MessageShape<D>): JsonValue {
  const json = toJson(desc, message) as JsonObject;
  const field = valueFieldOf(desc);
  if (field === null) return json;
  return json[field.jsonName] ?? {};
}

/**
 * The message `json` stands for (see {@link messageToWire}); unknown keys are ignored, so a newer
 * peer may add fields. `undefined` and `null` read as the empty message.
 *
 * @throws IpcError Code.InvalidArgument naming the type when `json` does not fit the message
 */
export function messageFromWire<D extends DescMessage>(desc: D, json: unknown): MessageShape<D> {
  if (json === undefined || json === null) return create(desc);
  const field = valueFieldOf(desc);
  try {
    return fromJson(desc, (field === null ? json : { [field.jsonName]: json }) as JsonValue, READ);
  } catch (e) {
    throw new IpcError(
      `cannot read ${desc.typeName} from JSON: ${(e as Error).message}`,
      Code.InvalidArgument,
      { cause: e },
    );
  }
}

interface EventFields {
  readonly event: DescField | undefined;
  readonly byWireName: ReadonlyMap<string, number>;
  readonly toWireName: ReadonlyMap<number, string>;
}

const eventFields = new WeakMap<DescMessage, EventFields>();

function eventFieldsOf(desc: DescMessage): EventFields {
  let found = eventFields.get(desc);
  if (found === undefined) {
    const event = desc.fields.find((f) => f.name === "event");
    const byWireName = new Map<string, number>();
    const toWireName = new Map<number, string>();
    if (event?.fieldKind === "enum") {
      const e: DescEnum = event.enum;
      for (const v of e.values) {
        const wire = getOption(v, protoipcOptions.enum_value).wireName || v.name;
        byWireName.set(wire, v.number);
        toWireName.set(v.number, wire);
      }
    }
    found = { event, byWireName, toWireName };
    eventFields.set(desc, found);
  }
  return found;
}

/**
 * The item of an event subscription that the `event` message `{ event, data, id? }` stands for.
 * When the item's `event` field is an enum, the name maps through the values' `wire_name`; an
 * unknown name reads as 0 (the `_UNSPECIFIED` value).
 *
 * @throws IpcError Code.InvalidArgument when the message does not fit the item type
 */
export function eventFromWire<D extends DescMessage>(
  desc: D,
  message: Readonly<Record<string, unknown>>,
): MessageShape<D> {
  const { event, byWireName } = eventFieldsOf(desc);
  const json: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (f === event) continue;
    const v = message[f.jsonName] ?? message[f.name];
    if (v !== undefined) json[f.jsonName] = v;
  }
  if (event !== undefined && message.event !== undefined) {
    json[event.jsonName] =
      event.fieldKind === "enum" ? (byWireName.get(String(message.event)) ?? 0) : message.event;
  }
  return messageFromWire(desc, json);
}

/** The `event` message fields (`event`, `data`, `id`, ...) of a subscription item. */
export function eventToWire<D extends DescMessage>(
  desc: D,
  item: MessageShape<D>,
): Record<string, unknown> {
  const { event, toWireName } = eventFieldsOf(desc);
  const json = messageToWire(desc, item) as Record<string, unknown>;
  if (event === undefined) return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (k !== event.jsonName) out[k] = v;
  if (event.fieldKind === "enum") {
    const n = (item as unknown as Record<string, unknown>)[event.localName] as number;
    out.event = toWireName.get(n) ?? String(n);
  } else {
    out.event = json[event.jsonName] ?? "";
  }
  return out;
}
