import { create, type DescField, type DescOneof, ScalarType } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt";
import { Code, IpcError } from "./error.js";
import {
  type FieldPath,
  type FieldPathElement,
  FieldPathElementSchema,
  FieldPathSchema,
  FieldRulesSchema,
  type Violation,
  ViolationSchema,
  ViolationsSchema,
} from "./gen/buf/validate/validate_pb.js";

/**
 * The run-time half of the validators protoc-gen-ipc-es generates from protovalidate's
 * `buf.validate` rules (github.com/bufbuild/protovalidate): where a violation is, and how it is
 * reported. Generated code checks the rules inline and calls {@link violation} only for a
 * violated rule, so a valid message allocates (almost) nothing.
 *
 * Violations are `buf.validate.Violation` messages, the ones protovalidate itself reports: field
 * path, rule path, rule id (`string.min_len`) and message. A rejected call carries them as one
 * `buf.validate.Violations` detail of an `IpcError` with `Code.InvalidArgument`.
 */

/** Where a value sits in the validated message: a linked list from the value up to the root. */
export interface PathNode {
  /** The enclosing node, `undefined` at the root message's fields. */
  readonly up: PathNode | undefined;
  /** The field. */
  readonly field: DescField;
  /** The list index or map key, for an item of a repeated or map field. */
  readonly sub?: number | bigint | string | boolean | undefined;
}

/** A generated validator: the violations of `message`, empty when it is valid. */
export type Validator<M = unknown> = (message: M) => Violation[];

/**
 * Builds the violation of rule `ruleId` by the value at `field` (with list index or map key
 * `sub`) under `up`. `rulePath` is the rule's path in `buf.validate.FieldRules`, dotted
 * (`repeated.items.uint32.lte`); `forKey` marks a violation by a map key.
 */
export function violation(
  up: PathNode | undefined,
  field: DescField,
  sub: number | bigint | string | boolean | undefined,
  ruleId: string,
  rulePath: string,
  message: string,
  forKey = false,
): Violation {
  return create(ViolationSchema, {
    field: fieldPath({ up, field, sub }),
    rule: rulePathOf(rulePath),
    ruleId,
    message,
    forKey,
  });
}

/** Builds the violation of `(buf.validate.oneof).required` by the oneof `oneof` under `up`. */
export function oneofViolation(up: PathNode | undefined, oneof: DescOneof): Violation {
  const path = up === undefined ? create(FieldPathSchema) : fieldPath(up);
  path.elements.push(create(FieldPathElementSchema, { fieldName: oneof.name }));
  // protovalidate reports this violation without a rule path.
  return create(ViolationSchema, {
    field: path,
    ruleId: "required",
    message: "exactly one field is required in oneof",
  });
}

/**
 * Re-roots violations protovalidate reported for a message at `up` (generated code of messages
 * with custom CEL rules, plugin option `cel=delegate`): prefixes each field path with the path
 * of `up` and returns them as this runtime's `buf.validate.Violation` messages.
 */
export function prefixViolations(
  up: PathNode | undefined,
  violations: readonly {
    readonly field?: { readonly elements: readonly FieldPathElement[] } | undefined;
    readonly rule?: { readonly elements: readonly FieldPathElement[] } | undefined;
    readonly ruleId: string;
    readonly message: string;
    readonly forKey: boolean;
  }[],
): Violation[] {
  const prefix = up === undefined ? [] : fieldPath(up).elements;
  return violations.map((v) =>
    create(ViolationSchema, {
      field: { elements: [...prefix, ...(v.field?.elements ?? [])] },
      rule: { elements: [...(v.rule?.elements ?? [])] },
      ruleId: v.ruleId,
      message: v.message,
      forKey: v.forKey,
    }),
  );
}

function fieldPath(node: PathNode): FieldPath {
  const elements: FieldPathElement[] = [];
  for (let n: PathNode | undefined = node; n !== undefined; n = n.up) {
    elements.push(element(n));
  }
  elements.reverse();
  return create(FieldPathSchema, { elements });
}

function element(n: PathNode): FieldPathElement {
  const f = n.field;
  const e = create(FieldPathElementSchema, {
    fieldNumber: f.number,
    fieldName: f.name,
    fieldType: f.proto.type,
  });
  if (n.sub === undefined) return e;
  if (f.fieldKind === "list") {
    e.subscript = { case: "index", value: BigInt(n.sub as number) };
  } else if (f.fieldKind === "map") {
    e.keyType = f.mapKey as number as FieldDescriptorProto_Type;
    e.valueType =
      f.mapKind === "scalar"
        ? (f.scalar as number as FieldDescriptorProto_Type)
        : f.mapKind === "enum"
          ? FieldDescriptorProto_Type.ENUM
          : FieldDescriptorProto_Type.MESSAGE;
    switch (f.mapKey) {
      case ScalarType.STRING:
        e.subscript = { case: "stringKey", value: n.sub as string };
        break;
      case ScalarType.BOOL:
        e.subscript = { case: "boolKey", value: n.sub as boolean };
        break;
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        e.subscript = { case: "uintKey", value: BigInt(n.sub as number | bigint) };
        break;
      default:
        e.subscript = { case: "intKey", value: BigInt(n.sub as number | bigint) };
    }
  }
  return e;
}

const rulePaths = new Map<string, FieldPath>();

/** The FieldPath of a dotted rule path in `buf.validate.FieldRules`, cached. */
function rulePathOf(dotted: string): FieldPath {
  let path = rulePaths.get(dotted);
  if (path === undefined) {
    path = create(FieldPathSchema);
    let schema = FieldRulesSchema as typeof FieldRulesSchema | undefined;
    for (const name of dotted.split(".")) {
      const f = schema?.fields.find((x) => x.name === name);
      if (f === undefined) break;
      path.elements.push(
        create(FieldPathElementSchema, {
          fieldNumber: f.number,
          fieldName: f.name,
          fieldType: f.proto.type,
        }),
      );
      schema = f.fieldKind === "message" ? (f.message as typeof FieldRulesSchema) : undefined;
    }
    rulePaths.set(dotted, path);
  }
  return path;
}

/**
 * `field.path[0]: message [rule_id]` lines of violations, as protovalidate prints them;
 * paths print list indexes and map keys in brackets (`size[1]`, `labels["a"]`).
 */
export function formatViolations(violations: readonly Violation[]): string {
  return violations
    .map((v) => {
      const path = fieldPathToString(v.field);
      return `${path === "" ? "" : `${path}: `}${v.message} [${v.ruleId}]`;
    })
    .join("; ");
}

/** A FieldPath as text: `items[2].name`, `labels["key"]`. */
export function fieldPathToString(path: FieldPath | undefined): string {
  if (path === undefined) return "";
  let s = "";
  for (const e of path.elements) {
    if (s !== "") s += ".";
    s += e.fieldName;
    switch (e.subscript.case) {
      case "index":
      case "intKey":
      case "uintKey":
      case "boolKey":
        s += `[${e.subscript.value}]`;
        break;
      case "stringKey":
        s += `[${JSON.stringify(e.subscript.value)}]`;
        break;
    }
  }
  return s;
}

/**
 * The error a rejected request becomes: `IpcError` with `Code.InvalidArgument`, the message
 * `invalid <Type>: <violations>`, and the violations as one `buf.validate.Violations` detail
 * (read them with `err.findDetails(ViolationsSchema)[0].violations`).
 */
export function validationError(typeName: string, violations: Violation[]): IpcError {
  return new IpcError(
    `invalid ${typeName}: ${formatViolations(violations)}`,
    Code.InvalidArgument,
    { details: [{ desc: ViolationsSchema, value: { violations } }] },
  );
}

// --- Checks generated code calls -------------------------------------------------------------

/** A string's length in Unicode code points (what protovalidate's `size()` counts). */
export function runeLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** A string's length in UTF-8 bytes. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Compares a Duration or Timestamp with `seconds`/`nanos`: -1, 0 or 1. */
export function compareTime(
  v: { readonly seconds: bigint; readonly nanos: number },
  seconds: bigint,
  nanos: number,
): number {
  if (v.seconds !== seconds) return v.seconds < seconds ? -1 : 1;
  return v.nanos === nanos ? 0 : v.nanos < nanos ? -1 : 1;
}

/** Whether two byte arrays are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `a` starts with `prefix`. */
export function bytesStartsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  return a.length >= prefix.length && bytesEqual(a.subarray(0, prefix.length), prefix);
}

/** Whether `a` ends with `suffix`. */
export function bytesEndsWith(a: Uint8Array, suffix: Uint8Array): boolean {
  return a.length >= suffix.length && bytesEqual(a.subarray(a.length - suffix.length), suffix);
}

/** Whether `a` contains `sub`. */
export function bytesContains(a: Uint8Array, sub: Uint8Array): boolean {
  outer: for (let i = 0; i + sub.length <= a.length; i++) {
    for (let j = 0; j < sub.length; j++) if (a[i + j] !== sub[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether the items of a repeated scalar or enum field are unique (bytes by content). */
export function isUnique(list: readonly unknown[]): boolean {
  if (list.length > 0 && list[0] instanceof Uint8Array) {
    const seen = new Set<string>();
    for (const b of list as Uint8Array[]) {
      const k = Array.from(b).join(",");
      if (seen.has(k)) return false;
      seen.add(k);
    }
    return true;
  }
  return new Set(list).size === list.length;
}

export { isEmail, isHostname, isIp, isIpv4, isIpv6, isUri, isUuid } from "./validate-formats.js";
