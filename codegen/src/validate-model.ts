import {
  type DescField,
  type DescMessage,
  type DescOneof,
  getOption,
  hasOption,
  isFieldSet,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { type Duration, FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import {
  type FieldRules,
  FieldRulesSchema,
  field as fieldExt,
  Ignore,
  message as messageExt,
  oneof as oneofExt,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** Implicit presence: proto3 scalars without `optional` (set means non-zero). */
const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;

/**
 * The language-neutral plan of the validators protoc-gen-ipc-es and protoc-gen-ipc-python
 * generate from protovalidate's `buf.validate` rules. Each rule becomes a {@link Check}: a
 * condition that is true when the value VIOLATES the rule, with protovalidate's rule id, rule
 * path and message. The emitters print conditions as straight-line TypeScript or Python; no CEL
 * is evaluated at run time.
 *
 * Semantics follow protovalidate (github.com/bufbuild/protovalidate, validate.proto): `required`
 * stops a field's other rules; fields with presence (message, optional, oneof members) are only
 * checked when set; implicit-presence fields are always checked; range rules combine lt/lte with
 * gt/gte into one rule (`int32.gt_lt`, `int32.gt_lt_exclusive`, ...).
 */

/** A literal in a condition. `big` is a 64-bit integer (bigint in TypeScript). */
export type Lit =
  | { readonly t: "num"; readonly v: number }
  | { readonly t: "big"; readonly v: bigint }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "bytes"; readonly v: Uint8Array }
  | { readonly t: "bool"; readonly v: boolean };

/** What a comparison reads from the value. */
export type Operand =
  /** The value itself. */
  | "value"
  /** A string's length in Unicode code points. */
  | "runes"
  /** A string's length in UTF-8 bytes. */
  | "utf8"
  /** The length of bytes, a list, or the number of map entries. */
  | "size";

/** Runtime helpers a condition calls with the value; each returns true when the value is fine. */
export type Helper =
  | "isEmail"
  | "isHostname"
  | "isIp"
  | "isIpv4"
  | "isIpv6"
  | "isUri"
  | "isUuid"
  | "isUnique"
  | "bytesEqual"
  | "bytesStartsWith"
  | "bytesEndsWith"
  | "bytesContains"
  | "startsWith"
  | "endsWith"
  | "contains";

/** A condition over the current value; true means the rule is violated. */
export type Cond =
  | {
      readonly k: "cmp";
      readonly op: "<" | "<=" | ">" | ">=" | "==" | "!=";
      readonly a: Operand;
      readonly b: Lit;
    }
  /** compareTime(value, seconds, nanos) op 0, for Duration and Timestamp values. */
  | {
      readonly k: "time";
      readonly op: "<" | "<=" | ">" | ">=" | "==" | "!=";
      readonly seconds: bigint;
      readonly nanos: number;
    }
  | { readonly k: "or"; readonly of: readonly Cond[] }
  | { readonly k: "and"; readonly of: readonly Cond[] }
  | { readonly k: "not"; readonly c: Cond }
  | { readonly k: "call"; readonly fn: Helper; readonly arg?: Lit }
  | { readonly k: "in"; readonly set: readonly Lit[] }
  | { readonly k: "nan" }
  | { readonly k: "finite" }
  | { readonly k: "match"; readonly pattern: string };

/** One rule on one value. */
export interface Check {
  /** protovalidate's rule id, e.g. `string.min_len`. */
  readonly ruleId: string;
  /** The path of the rule in FieldRules, dotted field names, e.g. `repeated.items.uint32.lte`. */
  readonly rulePath: string;
  /** The violation message, e.g. `must be at least 1 characters`. */
  readonly message: string;
  /** True when violated. */
  readonly cond: Cond;
}

/** The rules on one value (a singular field's value, a list item, a map key or value). */
export interface ValuePlan {
  readonly checks: readonly Check[];
  /** The message type whose validator runs on the value, when it has one. */
  nested: DescMessage | undefined;
}

/** How one field is validated. */
export interface FieldPlan {
  readonly field: DescField;
  /** `required`: a violation when the field is not set (implicit scalars: zero value). */
  readonly required: boolean;
  /** Whether the rules only run when the field is set (fields with presence, ignore rules). */
  readonly onlyIfSet: boolean;
  /** Rules on the field's value: singular value, or the list / map as a whole. */
  readonly value: ValuePlan;
  /** Rules on each list item. */
  readonly items?: ValuePlan;
  /** Rules on each map key. */
  readonly keys?: ValuePlan;
  /** Rules on each map value. */
  readonly values?: ValuePlan;
}

/** How one message is validated. */
export interface MessagePlan {
  readonly desc: DescMessage;
  readonly fields: FieldPlan[];
  /** Oneofs with `(buf.validate.oneof).required`. */
  readonly requiredOneofs: readonly DescOneof[];
  /**
   * The message has custom CEL rules and is validated, whole and with everything it contains,
   * by protovalidate at run time (plugin option `cel=delegate`); `fields` is empty then.
   */
  readonly delegate: boolean;
}

/** Options of {@link planValidators}. */
export interface PlanOptions {
  /**
   * What to do with custom CEL rules: `"fail"` (default) throws naming the field; `"delegate"`
   * hands the messages that have them to protovalidate at run time.
   */
  readonly cel?: "fail" | "delegate";
}

/** The plugin option that turns on CEL delegation, as both plugins spell it. */
export const CEL_DELEGATE_OPTION = "cel=delegate";

/** Thrown for a custom CEL rule when the plugin was not told to delegate. */
class CelRuleError extends Error {}

/**
 * Plans validators for `roots` (the request messages of a file's services) and every message
 * they reach. Returns the plans of the messages that have something to check, themselves or in a
 * message they contain, keyed by full name, in a stable order.
 *
 * @throws Error naming the field and the rule for rules protoipc does not compile: custom CEL
 *   (`cel`, `cel_expression`, message-level CEL and `(buf.validate.message).oneof`), predefined
 *   rule extensions, and the standard rules not listed in the README.
 */
export function planValidators(
  roots: readonly DescMessage[],
  options: PlanOptions = {},
): Map<string, MessagePlan> {
  const plans = new Map<string, MessagePlan>();
  const queue = [...roots];
  while (queue.length > 0) {
    const desc = queue.shift()!;
    if (plans.has(desc.typeName)) continue;
    let plan: MessagePlan;
    try {
      plan = planMessage(desc);
    } catch (e) {
      if (!(e instanceof CelRuleError)) throw e;
      if (options.cel !== "delegate") {
        throw new Error(
          `${e.message}: protoipc compiles the standard rules only; to check custom CEL rules, install @bufbuild/protovalidate (TypeScript) or protovalidate (Python) and generate with the plugin option ${CEL_DELEGATE_OPTION}, or express the rule with standard rules`,
        );
      }
      // protovalidate validates the message and everything in it.
      plans.set(desc.typeName, { desc, fields: [], requiredOneofs: [], delegate: true });
      continue;
    }
    plans.set(desc.typeName, plan);
    for (const f of desc.fields) {
      const m =
        f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")
          ? f.message
          : f.fieldKind === "map" && f.mapKind === "message"
            ? f.message
            : undefined;
      if (m !== undefined && !isWellKnownValue(m)) queue.push(m);
    }
  }
  // A message needs a validator when it has checks or contains one that does (fixpoint: cycles).
  const needs = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const plan of plans.values()) {
      if (needs.has(plan.desc.typeName)) continue;
      const own =
        plan.delegate ||
        plan.requiredOneofs.length > 0 ||
        plan.fields.some(
          (f) =>
            f.required ||
            [f.value, f.items, f.keys, f.values].some(
              (v) =>
                v !== undefined &&
                (v.checks.length > 0 || (v.nested !== undefined && needs.has(v.nested.typeName))),
            ),
        );
      if (own) {
        needs.add(plan.desc.typeName);
        changed = true;
      }
    }
  }
  const out = new Map<string, MessagePlan>();
  for (const plan of plans.values()) {
    if (!needs.has(plan.desc.typeName)) continue;
    for (const f of plan.fields) {
      for (const v of [f.value, f.items, f.keys, f.values]) {
        if (v?.nested !== undefined && !needs.has(v.nested.typeName)) v.nested = undefined;
      }
    }
    const fields = plan.fields.filter(
      (f) =>
        f.required ||
        [f.value, f.items, f.keys, f.values].some(
          (v) => v !== undefined && (v.checks.length > 0 || v.nested !== undefined),
        ),
    );
    out.set(plan.desc.typeName, { ...plan, fields });
  }
  return out;
}

/** Duration and Timestamp are checked by their own rules, not validated as messages. */
function isWellKnownValue(m: DescMessage): boolean {
  return m.typeName.startsWith("google.protobuf.");
}

function planMessage(desc: DescMessage): MessagePlan {
  if (hasOption(desc, messageExt)) {
    const rules = getOption(desc, messageExt);
    if (rules.cel.length > 0 || rules.celExpression.length > 0) {
      throw new CelRuleError(`message ${desc.typeName} has custom CEL rules (buf.validate cel)`);
    }
    if (rules.oneof.length > 0) {
      throw new Error(
        `message ${desc.typeName}: (buf.validate.message).oneof is not supported by protoipc's generated validators; use a oneof with (buf.validate.oneof).required`,
      );
    }
  }
  const requiredOneofs = desc.oneofs.filter(
    (o) => hasOption(o, oneofExt) && getOption(o, oneofExt).required,
  );
  const fields: FieldPlan[] = [];
  for (const field of desc.fields) {
    fields.push(planField(field));
  }
  return { desc, fields, requiredOneofs, delegate: false };
}

function planField(field: DescField): FieldPlan {
  const where = `field ${field.parent.typeName}.${field.name}`;
  const rules: FieldRules | undefined = hasOption(field, fieldExt)
    ? getOption(field, fieldExt)
    : undefined;
  if (rules !== undefined) rejectCel(rules, where);
  let ignore = rules?.ignore ?? Ignore.UNSPECIFIED;
  if (
    rules !== undefined &&
    !isFieldSet(rules, FieldRulesSchema.field.ignore) &&
    field.oneof !== undefined
  ) {
    ignore = Ignore.IF_ZERO_VALUE;
  }
  if (ignore === Ignore.ALWAYS) {
    return { field, required: false, onlyIfSet: true, value: { checks: [], nested: undefined } };
  }
  const required = rules?.required ?? false;
  const hasPresence =
    field.fieldKind === "message" ||
    field.oneof !== undefined ||
    (field.fieldKind !== "list" && field.fieldKind !== "map" && field.presence !== IMPLICIT);
  const onlyIfSet = hasPresence || ignore === Ignore.IF_ZERO_VALUE;
  switch (field.fieldKind) {
    case "scalar":
      return {
        field,
        required,
        onlyIfSet,
        value: { checks: scalarChecks(field.scalar, rules, "", where), nested: undefined },
      };
    case "enum":
      return {
        field,
        required,
        onlyIfSet,
        value: { checks: enumChecks(field, rules, "", where), nested: undefined },
      };
    case "message":
      return {
        field,
        required,
        onlyIfSet,
        value: messageValue(field.message, rules, "", where),
      };
    case "list": {
      const r = rules?.type.case === "repeated" ? rules.type.value : undefined;
      if (rules !== undefined && rules.type.case !== undefined && r === undefined) {
        throw new Error(`${where}: ${rules.type.case} rules on a repeated field`);
      }
      const checks: Check[] = [];
      if (r !== undefined) {
        rejectUnknown(r, ["minItems", "maxItems", "unique", "items"], `${where}: repeated`);
        if (isFieldSet(r, fieldOf(r, "min_items"))) {
          checks.push(
            check(
              "repeated.min_items",
              `must contain at least ${r.minItems} item(s)`,
              cmp("size", "<", num(r.minItems)),
            ),
          );
        }
        if (isFieldSet(r, fieldOf(r, "max_items"))) {
          checks.push(
            check(
              "repeated.max_items",
              `must contain no more than ${r.maxItems} item(s)`,
              cmp("size", ">", num(r.maxItems)),
            ),
          );
        }
        if (r.unique) {
          checks.push(
            check("repeated.unique", "repeated value must contain unique items", {
              k: "not",
              c: { k: "call", fn: "isUnique" },
            }),
          );
        }
      }
      const itemRules = r?.items;
      if (itemRules !== undefined) rejectCel(itemRules, `${where} items`);
      return {
        field,
        required,
        onlyIfSet: ignore === Ignore.IF_ZERO_VALUE,
        value: { checks, nested: undefined },
        items: itemPlan(field, itemRules, "repeated.items.", `${where} items`),
      };
    }
    case "map": {
      const r = rules?.type.case === "map" ? rules.type.value : undefined;
      if (rules !== undefined && rules.type.case !== undefined && r === undefined) {
        throw new Error(`${where}: ${rules.type.case} rules on a map field`);
      }
      const checks: Check[] = [];
      if (r !== undefined) {
        rejectUnknown(r, ["minPairs", "maxPairs", "keys", "values"], `${where}: map`);
        if (isFieldSet(r, fieldOf(r, "min_pairs"))) {
          checks.push(
            check(
              "map.min_pairs",
              `map must be at least ${r.minPairs} entries`,
              cmp("size", "<", num(r.minPairs)),
            ),
          );
        }
        if (isFieldSet(r, fieldOf(r, "max_pairs"))) {
          checks.push(
            check(
              "map.max_pairs",
              `map must be at most ${r.maxPairs} entries`,
              cmp("size", ">", num(r.maxPairs)),
            ),
          );
        }
      }
      if (r?.keys !== undefined) rejectCel(r.keys, `${where} keys`);
      if (r?.values !== undefined) rejectCel(r.values, `${where} values`);
      const keys: ValuePlan = {
        checks:
          r?.keys === undefined
            ? []
            : scalarChecks(field.mapKey, r.keys, "map.keys.", `${where} keys`),
        nested: undefined,
      };
      let values: ValuePlan;
      switch (field.mapKind) {
        case "scalar":
          values = {
            checks: scalarChecks(field.scalar, r?.values, "map.values.", `${where} values`),
            nested: undefined,
          };
          break;
        case "enum":
          values = {
            checks: enumChecks(field, r?.values, "map.values.", `${where} values`),
            nested: undefined,
          };
          break;
        case "message":
          values = messageValue(field.message, r?.values, "map.values.", `${where} values`);
          break;
      }
      return {
        field,
        required,
        onlyIfSet: ignore === Ignore.IF_ZERO_VALUE,
        value: { checks, nested: undefined },
        keys,
        values,
      };
    }
  }
}

function itemPlan(
  field: DescField & { fieldKind: "list" },
  rules: FieldRules | undefined,
  prefix: string,
  where: string,
): ValuePlan {
  switch (field.listKind) {
    case "scalar":
      return { checks: scalarChecks(field.scalar, rules, prefix, where), nested: undefined };
    case "enum":
      return { checks: enumChecks(field, rules, prefix, where), nested: undefined };
    case "message":
      return messageValue(field.message, rules, prefix, where);
  }
}

function rejectCel(rules: FieldRules, where: string): void {
  if (rules.cel.length > 0 || rules.celExpression.length > 0) {
    throw new CelRuleError(`${where} has custom CEL rules (buf.validate cel)`);
  }
}

/** Fails on any set field of a rules message outside `supported` (localNames) or extensions. */
function rejectUnknown(rules: Message, supported: readonly string[], where: string): void {
  const schema = rulesSchemaOf(rules);
  for (const f of schema.fields) {
    if (isFieldSet(rules, f) && !supported.includes(f.localName)) {
      throw new Error(`${where}.${f.name} is not supported by protoipc's generated validators`);
    }
  }
  if ((rules.$unknown ?? []).length > 0) {
    throw new Error(
      `${where}: predefined rule extensions are not supported by protoipc's generated validators`,
    );
  }
}

function rulesSchemaOf(rules: Message): DescMessage {
  const f = FieldRulesSchema.fields.find(
    (x) => x.fieldKind === "message" && x.message.typeName === rules.$typeName,
  );
  if (f === undefined || f.fieldKind !== "message") {
    throw new Error(`no rules schema for ${rules.$typeName}`);
  }
  return f.message;
}

function fieldOf(rules: Message, name: string): DescField {
  const f = rulesSchemaOf(rules).fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`${rules.$typeName} has no field ${name}`);
  return f;
}

function check(ruleId: string, message: string, cond: Cond, rulePath = ruleId): Check {
  return { ruleId, rulePath, message, cond };
}

function withPrefix(c: Check, prefix: string): Check {
  return { ...c, rulePath: prefix + c.rulePath };
}

/**
 * The exact / minimum / maximum length rules of one measure of a value (a string's characters
 * or UTF-8 bytes, a bytes field's size): each rule that is set becomes a check failing when
 * `measure op limit` holds, with protovalidate's rule id and message.
 */
function lengthChecks(
  get: (name: string) => unknown,
  measure: Operand,
  rules: ReadonlyArray<
    readonly [
      name: string,
      ruleId: string,
      op: "!=" | "<" | ">",
      message: (limit: unknown) => string,
    ]
  >,
): Check[] {
  const out: Check[] = [];
  for (const [name, ruleId, op, message] of rules) {
    const limit = get(name);
    if (limit !== undefined)
      out.push(check(ruleId, message(limit), cmp(measure, op, num(limit as bigint))));
  }
  return out;
}

function cmp(a: Operand, op: "<" | "<=" | ">" | ">=" | "==" | "!=", b: Lit): Cond {
  return { k: "cmp", op, a, b };
}

function num(v: number | bigint): Lit {
  return { t: "num", v: Number(v) };
}

function messageValue(
  m: DescMessage,
  rules: FieldRules | undefined,
  prefix: string,
  where: string,
): ValuePlan {
  const t = rules?.type;
  if (m.typeName === "google.protobuf.Duration" || m.typeName === "google.protobuf.Timestamp") {
    const kind = m.typeName === "google.protobuf.Duration" ? "duration" : "timestamp";
    if (t?.case !== undefined && t.case !== kind) {
      throw new Error(`${where}: ${t.case} rules on a ${m.typeName} field`);
    }
    const r = t?.case === kind ? (t.value as Message) : undefined;
    return { checks: r === undefined ? [] : timeChecks(kind, r, prefix, where), nested: undefined };
  }
  if (t?.case !== undefined) {
    throw new Error(`${where}: ${t.case} rules are not supported on message ${m.typeName}`);
  }
  return { checks: [], nested: isWellKnownValue(m) ? undefined : m };
}

type Op = "<" | "<=" | ">" | ">=" | "==" | "!=";

/** The numeric kinds of FieldRules, by scalar type. */
const numericKinds: Partial<Record<ScalarType, string>> = {
  [ScalarType.FLOAT]: "float",
  [ScalarType.DOUBLE]: "double",
  [ScalarType.INT32]: "int32",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
};

/** Whether a scalar is 64-bit, so a bigint in TypeScript. */
export function isWide(scalar: ScalarType): boolean {
  return (
    scalar === ScalarType.INT64 ||
    scalar === ScalarType.UINT64 ||
    scalar === ScalarType.SINT64 ||
    scalar === ScalarType.FIXED64 ||
    scalar === ScalarType.SFIXED64
  );
}

function scalarChecks(
  scalar: ScalarType,
  rules: FieldRules | undefined,
  prefix: string,
  where: string,
): Check[] {
  const t = rules?.type;
  if (t === undefined || t.case === undefined) return [];
  const numericKind = numericKinds[scalar];
  if (numericKind !== undefined) {
    if (t.case !== numericKind)
      throw new Error(`${where}: ${t.case} rules on a ${numericKind} field`);
    return numericChecks(numericKind, isWide(scalar), t.value as Message, where).map((c) =>
      withPrefix(c, prefix),
    );
  }
  if (scalar === ScalarType.BOOL) {
    if (t.case !== "bool") throw new Error(`${where}: ${t.case} rules on a bool field`);
    rejectUnknown(t.value, ["const", "example"], `${where}: bool`);
    if (!isFieldSet(t.value, fieldOf(t.value, "const"))) return [];
    const v = t.value.const;
    return [
      withPrefix(
        check("bool.const", `must equal ${v}`, cmp("value", "!=", { t: "bool", v })),
        prefix,
      ),
    ];
  }
  if (scalar === ScalarType.STRING) {
    if (t.case !== "string") throw new Error(`${where}: ${t.case} rules on a string field`);
    return stringChecks(t.value as Message, where).map((c) => withPrefix(c, prefix));
  }
  if (t.case !== "bytes") throw new Error(`${where}: ${t.case} rules on a bytes field`);
  return bytesChecks(t.value as Message, where).map((c) => withPrefix(c, prefix));
}

/** Reads a set rules field by proto name with reflection; undefined when unset. */
function ruleValue(rules: Message, name: string): unknown {
  const f = fieldOf(rules, name);
  if (!isFieldSet(rules, f)) return undefined;
  const r = reflect(rulesSchemaOf(rules), rules);
  const v = r.get(f);
  const unwrap = (x: unknown) =>
    typeof x === "object" && x !== null && "message" in x && !(x instanceof Uint8Array)
      ? (x as { message: unknown }).message
      : x;
  if (f.fieldKind === "list") return [...(v as Iterable<unknown>)].map(unwrap);
  return unwrap(v);
}

/** A numeric rule value: a bigint literal for 64-bit fields, else a number. */
function literal(wide: boolean, v: unknown): Lit {
  return wide ? { t: "big", v: BigInt(v as bigint) } : { t: "num", v: Number(v) };
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmt).join(", ")}]`;
  return String(v);
}

function numericChecks(kind: string, wide: boolean, rules: Message, where: string): Check[] {
  rejectUnknown(
    rules,
    ["const", "lt", "lte", "gt", "gte", "in", "notIn", "finite", "example"],
    `${where}: ${kind}`,
  );
  const out: Check[] = [];
  const lit = (v: unknown) => literal(wide, v);
  const c = ruleValue(rules, "const");
  if (c !== undefined) {
    out.push(check(`${kind}.const`, `must equal ${fmt(c)}`, cmp("value", "!=", lit(c))));
  }
  const lt = ruleValue(rules, "lt");
  const lte = ruleValue(rules, "lte");
  const gt = ruleValue(rules, "gt");
  const gte = ruleValue(rules, "gte");
  const isFloat = kind === "float" || kind === "double";
  const nanOr = (cond: Cond): Cond => (isFloat ? { k: "or", of: [{ k: "nan" }, cond] } : cond);
  const upper =
    lt !== undefined
      ? { v: lt, op: ">=" as Op, name: "lt", word: "less than" }
      : lte !== undefined
        ? { v: lte, op: ">" as Op, name: "lte", word: "less than or equal to" }
        : undefined;
  const lower =
    gt !== undefined
      ? { v: gt, op: "<=" as Op, name: "gt", word: "greater than" }
      : gte !== undefined
        ? { v: gte, op: "<" as Op, name: "gte", word: "greater than or equal to" }
        : undefined;
  if (lower === undefined && upper !== undefined) {
    out.push(
      check(
        `${kind}.${upper.name}`,
        `must be ${upper.word} ${fmt(upper.v)}`,
        nanOr(cmp("value", upper.op, lit(upper.v))),
      ),
    );
  } else if (lower !== undefined && upper === undefined) {
    out.push(
      check(
        `${kind}.${lower.name}`,
        `must be ${lower.word} ${fmt(lower.v)}`,
        nanOr(cmp("value", lower.op, lit(lower.v))),
      ),
    );
  } else if (lower !== undefined && upper !== undefined) {
    const id = `${kind}.${lower.name}_${upper.name}`;
    const rulePath = `${kind}.${lower.name}`;
    const inclusive =
      Number(upper.v) >= Number(lower.v) &&
      (typeof upper.v !== "bigint" || BigInt(upper.v as bigint) >= BigInt(lower.v as bigint));
    if (inclusive) {
      // value outside [lower, upper]
      out.push(
        check(
          id,
          `must be ${lower.word} ${fmt(lower.v)} and ${upper.word} ${fmt(upper.v)}`,
          nanOr({
            k: "or",
            of: [cmp("value", upper.op, lit(upper.v)), cmp("value", lower.op, lit(lower.v))],
          }),
          rulePath,
        ),
      );
    } else {
      // value inside the gap (upper, lower): upper-violating AND... i.e. !(v > lower || v < upper)
      const notUpper: Op = upper.op === ">=" ? ">=" : ">";
      const notLower: Op = lower.op === "<=" ? "<=" : "<";
      out.push(
        check(
          `${id}_exclusive`,
          `must be ${lower.word} ${fmt(lower.v)} or ${upper.word} ${fmt(upper.v)}`,
          nanOr({
            k: "and",
            of: [cmp("value", notUpper, lit(upper.v)), cmp("value", notLower, lit(lower.v))],
          }),
          rulePath,
        ),
      );
    }
  }
  const inList = ruleValue(rules, "in") as unknown[] | undefined;
  if (inList !== undefined) {
    out.push(
      check(`${kind}.in`, `must be in list ${fmt(inList)}`, {
        k: "not",
        c: { k: "in", set: inList.map(lit) },
      }),
    );
  }
  const notIn = ruleValue(rules, "not_in") as unknown[] | undefined;
  if (notIn !== undefined) {
    out.push(
      check(`${kind}.not_in`, `must not be in list ${fmt(notIn)}`, {
        k: "in",
        set: notIn.map(lit),
      }),
    );
  }
  if (isFloat && ruleValue(rules, "finite") === true) {
    out.push(check(`${kind}.finite`, "must be finite", { k: "not", c: { k: "finite" } }));
  }
  return out;
}

const stringFormats: Record<string, { fn: Helper; word: string }> = {
  email: { fn: "isEmail", word: "email address" },
  hostname: { fn: "isHostname", word: "hostname" },
  ip: { fn: "isIp", word: "IP address" },
  ipv4: { fn: "isIpv4", word: "IPv4 address" },
  ipv6: { fn: "isIpv6", word: "IPv6 address" },
  uri: { fn: "isUri", word: "URI" },
  uuid: { fn: "isUuid", word: "UUID" },
};

function str(v: string): Lit {
  return { t: "str", v };
}

function stringChecks(rules: Message, where: string): Check[] {
  rejectUnknown(
    rules,
    [
      "const",
      "len",
      "minLen",
      "maxLen",
      "lenBytes",
      "minBytes",
      "maxBytes",
      "pattern",
      "prefix",
      "suffix",
      "contains",
      "notContains",
      "in",
      "notIn",
      "email",
      "hostname",
      "ip",
      "ipv4",
      "ipv6",
      "uri",
      "uuid",
      "example",
    ],
    `${where}: string`,
  );
  const out: Check[] = [];
  const get = (n: string) => ruleValue(rules, n);
  const c = get("const") as string | undefined;
  if (c !== undefined)
    out.push(check("string.const", `must equal \`${c}\``, cmp("value", "!=", str(c))));
  out.push(
    ...lengthChecks(get, "runes", [
      ["len", "string.len", "!=", (n) => `must be ${n} characters`],
      ["min_len", "string.min_len", "<", (n) => `must be at least ${n} characters`],
      ["max_len", "string.max_len", ">", (n) => `must be at most ${n} characters`],
    ]),
    ...lengthChecks(get, "utf8", [
      ["len_bytes", "string.len_bytes", "!=", (n) => `must be ${n} bytes`],
      ["min_bytes", "string.min_bytes", "<", (n) => `must be at least ${n} bytes`],
      ["max_bytes", "string.max_bytes", ">", (n) => `must be at most ${n} bytes`],
    ]),
  );
  const pattern = get("pattern") as string | undefined;
  if (pattern !== undefined) {
    out.push(
      check("string.pattern", `does not match regex pattern \`${pattern}\``, {
        k: "not",
        c: { k: "match", pattern },
      }),
    );
  }
  const prefix = get("prefix") as string | undefined;
  if (prefix !== undefined)
    out.push(
      check("string.prefix", `does not have prefix \`${prefix}\``, {
        k: "not",
        c: { k: "call", fn: "startsWith", arg: str(prefix) },
      }),
    );
  const suffix = get("suffix") as string | undefined;
  if (suffix !== undefined)
    out.push(
      check("string.suffix", `does not have suffix \`${suffix}\``, {
        k: "not",
        c: { k: "call", fn: "endsWith", arg: str(suffix) },
      }),
    );
  const contains = get("contains") as string | undefined;
  if (contains !== undefined)
    out.push(
      check("string.contains", `does not contain substring \`${contains}\``, {
        k: "not",
        c: { k: "call", fn: "contains", arg: str(contains) },
      }),
    );
  const notContains = get("not_contains") as string | undefined;
  if (notContains !== undefined)
    out.push(
      check("string.not_contains", `contains substring \`${notContains}\``, {
        k: "call",
        fn: "contains",
        arg: str(notContains),
      }),
    );
  const inList = get("in") as string[] | undefined;
  if (inList !== undefined)
    out.push(
      check("string.in", `must be in list ${fmt(inList)}`, {
        k: "not",
        c: { k: "in", set: inList.map(str) },
      }),
    );
  const notIn = get("not_in") as string[] | undefined;
  if (notIn !== undefined)
    out.push(
      check("string.not_in", `must not be in list ${fmt(notIn)}`, { k: "in", set: notIn.map(str) }),
    );
  const wk = (rules as unknown as { wellKnown: { case: string | undefined; value: unknown } })
    .wellKnown;
  if (wk.case !== undefined) {
    const format = stringFormats[toSnake(wk.case)];
    if (format === undefined) {
      throw new Error(
        `${where}: string.${toSnake(wk.case)} is not supported by protoipc's generated validators`,
      );
    }
    if (wk.value === true) {
      const name = toSnake(wk.case);
      out.push(
        check(
          `string.${name}_empty`,
          `value is empty, which is not a valid ${format.word}`,
          cmp("runes", "==", num(0)),
          `string.${name}`,
        ),
      );
      out.push(
        check(`string.${name}`, `must be a valid ${format.word}`, {
          k: "and",
          of: [cmp("runes", "!=", num(0)), { k: "not", c: { k: "call", fn: format.fn } }],
        }),
      );
    }
  }
  return out;
}

/** `wellKnown` oneof case (`hostname`, `ipv4`) to its proto field name; they are all lowercase. */
function toSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function bytes(v: Uint8Array): Lit {
  return { t: "bytes", v };
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function bytesChecks(rules: Message, where: string): Check[] {
  rejectUnknown(
    rules,
    ["const", "len", "minLen", "maxLen", "prefix", "suffix", "contains", "in", "notIn", "example"],
    `${where}: bytes`,
  );
  const out: Check[] = [];
  const get = (n: string) => ruleValue(rules, n);
  const c = get("const") as Uint8Array | undefined;
  if (c !== undefined)
    out.push(
      check("bytes.const", `must be ${hex(c)}`, {
        k: "not",
        c: { k: "call", fn: "bytesEqual", arg: bytes(c) },
      }),
    );
  out.push(
    ...lengthChecks(get, "size", [
      ["len", "bytes.len", "!=", (n) => `must be ${n} bytes`],
      ["min_len", "bytes.min_len", "<", (n) => `must be at least ${n} bytes`],
      ["max_len", "bytes.max_len", ">", (n) => `must be at most ${n} bytes`],
    ]),
  );
  const prefix = get("prefix") as Uint8Array | undefined;
  if (prefix !== undefined)
    out.push(
      check("bytes.prefix", `does not have prefix ${hex(prefix)}`, {
        k: "not",
        c: { k: "call", fn: "bytesStartsWith", arg: bytes(prefix) },
      }),
    );
  const suffix = get("suffix") as Uint8Array | undefined;
  if (suffix !== undefined)
    out.push(
      check("bytes.suffix", `does not have suffix ${hex(suffix)}`, {
        k: "not",
        c: { k: "call", fn: "bytesEndsWith", arg: bytes(suffix) },
      }),
    );
  const contains = get("contains") as Uint8Array | undefined;
  if (contains !== undefined)
    out.push(
      check("bytes.contains", `does not contain ${hex(contains)}`, {
        k: "not",
        c: { k: "call", fn: "bytesContains", arg: bytes(contains) },
      }),
    );
  const inList = get("in") as Uint8Array[] | undefined;
  if (inList !== undefined) {
    out.push(
      check("bytes.in", `must be in list [${inList.map(hex).join(", ")}]`, {
        k: "not",
        c: {
          k: "or",
          of: inList.map((b) => ({ k: "call", fn: "bytesEqual", arg: bytes(b) }) as Cond),
        },
      }),
    );
  }
  const notIn = get("not_in") as Uint8Array[] | undefined;
  if (notIn !== undefined) {
    out.push(
      check("bytes.not_in", `must not be in list [${notIn.map(hex).join(", ")}]`, {
        k: "or",
        of: notIn.map((b) => ({ k: "call", fn: "bytesEqual", arg: bytes(b) }) as Cond),
      }),
    );
  }
  return out;
}

function enumChecks(
  field: DescField,
  rules: FieldRules | undefined,
  prefix: string,
  where: string,
): Check[] {
  const t = rules?.type;
  if (t === undefined || t.case === undefined) return [];
  if (t.case !== "enum") throw new Error(`${where}: ${t.case} rules on an enum field`);
  const r = t.value;
  rejectUnknown(r, ["const", "definedOnly", "in", "notIn", "example"], `${where}: enum`);
  const e = field.enum!;
  const out: Check[] = [];
  if (isFieldSet(r, fieldOf(r, "const"))) {
    out.push(check("enum.const", `must equal ${r.const}`, cmp("value", "!=", num(r.const))));
  }
  if (r.definedOnly) {
    out.push(
      check("enum.defined_only", "must be one of the defined enum values", {
        k: "not",
        c: { k: "in", set: e.values.map((v) => num(v.number)) },
      }),
    );
  }
  if (r.in.length > 0) {
    out.push(
      check("enum.in", `must be in list ${fmt(r.in)}`, {
        k: "not",
        c: { k: "in", set: r.in.map(num) },
      }),
    );
  }
  if (r.notIn.length > 0) {
    out.push(
      check("enum.not_in", `must not be in list ${fmt(r.notIn)}`, {
        k: "in",
        set: r.notIn.map(num),
      }),
    );
  }
  return out.map((c) => withPrefix(c, prefix));
}

function timeChecks(
  kind: "duration" | "timestamp",
  rules: Message,
  prefix: string,
  where: string,
): Check[] {
  const supported =
    kind === "duration"
      ? ["const", "lt", "lte", "gt", "gte", "in", "notIn", "example"]
      : ["const", "lt", "lte", "gt", "gte", "example"];
  rejectUnknown(rules, supported, `${where}: ${kind}`);
  const out: Check[] = [];
  const get = (n: string) => ruleValue(rules, n) as Duration | undefined;
  const t = (op: Op, d: Duration): Cond => ({ k: "time", op, seconds: d.seconds, nanos: d.nanos });
  const show = (d: Duration) => (kind === "duration" ? `${formatDuration(d)}` : formatTimestamp(d));
  const c = get("const");
  if (c !== undefined) out.push(check(`${kind}.const`, `must equal ${show(c)}`, t("!=", c)));
  const lt = get("lt");
  const lte = get("lte");
  const gt = get("gt");
  const gte = get("gte");
  const upper =
    lt !== undefined
      ? { v: lt, op: ">=" as Op, name: "lt", word: "less than" }
      : lte !== undefined
        ? { v: lte, op: ">" as Op, name: "lte", word: "less than or equal to" }
        : undefined;
  const lower =
    gt !== undefined
      ? { v: gt, op: "<=" as Op, name: "gt", word: "greater than" }
      : gte !== undefined
        ? { v: gte, op: "<" as Op, name: "gte", word: "greater than or equal to" }
        : undefined;
  if (lower === undefined && upper !== undefined) {
    out.push(
      check(
        `${kind}.${upper.name}`,
        `must be ${upper.word} ${show(upper.v)}`,
        t(upper.op, upper.v),
      ),
    );
  } else if (lower !== undefined && upper === undefined) {
    out.push(
      check(
        `${kind}.${lower.name}`,
        `must be ${lower.word} ${show(lower.v)}`,
        t(lower.op, lower.v),
      ),
    );
  } else if (lower !== undefined && upper !== undefined) {
    const id = `${kind}.${lower.name}_${upper.name}`;
    const inclusive = compareTime(upper.v, lower.v) >= 0;
    if (inclusive) {
      out.push(
        check(
          id,
          `must be ${lower.word} ${show(lower.v)} and ${upper.word} ${show(upper.v)}`,
          { k: "or", of: [t(upper.op, upper.v), t(lower.op, lower.v)] },
          `${kind}.${lower.name}`,
        ),
      );
    } else {
      out.push(
        check(
          `${id}_exclusive`,
          `must be ${lower.word} ${show(lower.v)} or ${upper.word} ${show(upper.v)}`,
          { k: "and", of: [t(upper.op, upper.v), t(lower.op, lower.v)] },
          `${kind}.${lower.name}`,
        ),
      );
    }
  }
  if (kind === "duration") {
    const inList = ruleValue(rules, "in") as Duration[] | undefined;
    if (inList !== undefined)
      out.push(
        check("duration.in", `must be in list [${inList.map(show).join(", ")}]`, {
          k: "not",
          c: { k: "or", of: inList.map((d) => t("==", d)) },
        }),
      );
    const notIn = ruleValue(rules, "not_in") as Duration[] | undefined;
    if (notIn !== undefined)
      out.push(
        check("duration.not_in", `must not be in list [${notIn.map(show).join(", ")}]`, {
          k: "or",
          of: notIn.map((d) => t("==", d)),
        }),
      );
  }
  return out.map((c) => withPrefix(c, prefix));
}

function compareTime(a: Duration, b: Duration): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  return a.nanos === b.nanos ? 0 : a.nanos < b.nanos ? -1 : 1;
}

function formatDuration(d: Duration): string {
  if (d.nanos === 0) return `${d.seconds}s`;
  const total = Number(d.seconds) + d.nanos / 1e9;
  return `${total}s`;
}

function formatTimestamp(d: Duration): string {
  const ms = Number(d.seconds) * 1000 + Math.trunc(d.nanos / 1e6);
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
