import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import { RUNTIME_PACKAGE } from "./emit.js";
import {
  type Cond,
  type FieldPlan,
  isWide,
  type Lit,
  type MessagePlan,
  type ValuePlan,
} from "./validate-model.js";

/** Implicit presence: proto3 scalars without `optional` (set means non-zero). */
const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;

/** The name of the function that returns the violations of a message type, e.g. `$validate_pixels_v1_GenerateRequest`. */
export function validatorName(desc: DescMessage): string {
  return `$validate_${mangle(desc.typeName)}`;
}

function walkerName(desc: DescMessage): string {
  return `$walk_${mangle(desc.typeName)}`;
}

function mangle(typeName: string): string {
  return typeName.replace(/\./g, "_");
}

/**
 * Prints the validators of `plans` (see validate-model.ts) as straight-line TypeScript: per
 * message a walker `$walk_<type>(m, out, up)` that pushes violations, and for each of `roots` a
 * `$validate_<type>(m)` that returns them. Regular expressions and byte literals are hoisted to
 * module constants. Prints nothing when `plans` is empty.
 */
export function emitValidators(
  f: GeneratedFile,
  plans: ReadonlyMap<string, MessagePlan>,
  roots: readonly DescMessage[],
): void {
  if (plans.size === 0) return;
  const e = new TsEmitter(f);
  const body: Printable[][] = [];
  for (const plan of plans.values()) e.walker(plan, body);
  for (const root of roots) {
    if (!plans.has(root.typeName)) continue;
    const Violation = f.import("Violation", RUNTIME_PACKAGE, true);
    body.push([""]);
    body.push([
      f.jsDoc(`The violations of ${root.typeName}'s buf.validate rules; empty when it is valid.`),
    ]);
    body.push([
      "function ",
      validatorName(root),
      "(m: ",
      f.importShape(root),
      "): ",
      Violation,
      "[] {",
    ]);
    body.push(["  const out: ", Violation, "[] = [];"]);
    body.push(["  ", walkerName(root), "(m, out, undefined);"]);
    body.push(["  return out;"]);
    body.push(["}"]);
  }
  for (const c of e.consts) f.print(c);
  if (e.consts.length > 0) f.print();
  for (const line of body) f.print(...line);
  f.print();
}

class TsEmitter {
  readonly consts: Printable[][] = [];
  private protovalidate = false;
  private readonly regexes = new Map<string, string>();
  private readonly byteConsts = new Map<string, string>();

  constructor(private readonly f: GeneratedFile) {}

  rt(name: string): Printable {
    return this.f.import(name, RUNTIME_PACKAGE);
  }

  walker(plan: MessagePlan, out: Printable[][]): void {
    const { f } = this;
    const PathNode = f.import("PathNode", RUNTIME_PACKAGE, true);
    const Violation = f.import("Violation", RUNTIME_PACKAGE, true);
    const schema = f.importSchema(plan.desc);
    if (out.length > 0) out.push([""]);
    if (plan.delegate) {
      this.delegatedWalker(plan, out);
      return;
    }
    out.push([
      "function ",
      walkerName(plan.desc),
      "(m: ",
      f.importShape(plan.desc),
      ", out: ",
      Violation,
      "[], up: ",
      PathNode,
      " | undefined): void {",
    ]);
    for (const o of plan.requiredOneofs) {
      out.push([
        `  if (m.${o.localName}.case === undefined) out.push(`,
        this.rt("oneofViolation"),
        "(up, ",
        schema,
        `.oneofs[${plan.desc.oneofs.indexOf(o)}]!));`,
      ]);
    }
    for (const fp of plan.fields) this.field(fp, schema, out);
    out.push(["}"]);
  }

  /** A message with custom CEL rules: protovalidate validates it (and all it contains). */
  private delegatedWalker(plan: MessagePlan, out: Printable[][]): void {
    const { f } = this;
    const PathNode = f.import("PathNode", RUNTIME_PACKAGE, true);
    const Violation = f.import("Violation", RUNTIME_PACKAGE, true);
    if (!this.protovalidate) {
      this.protovalidate = true;
      this.consts.push([
        "const $protovalidate = ",
        f.import("createValidator", "@bufbuild/protovalidate"),
        "();",
      ]);
    }
    out.push([
      "function ",
      walkerName(plan.desc),
      "(m: ",
      f.importShape(plan.desc),
      ", out: ",
      Violation,
      "[], up: ",
      PathNode,
      " | undefined): void {",
    ]);
    out.push([
      "  // Custom CEL rules: validated by @bufbuild/protovalidate (plugin option cel=delegate).",
    ]);
    out.push(["  const r = $protovalidate.validate(", f.importSchema(plan.desc), ", m);"]);
    out.push(['  if (r.kind === "error") throw r.error;']);
    out.push([
      '  if (r.kind === "invalid") out.push(...',
      this.rt("prefixViolations"),
      "(up, ",
      f.import("violationsToProto", "@bufbuild/protovalidate"),
      "(r.violations)[0].violations));",
    ]);
    out.push(["}"]);
  }

  private field(fp: FieldPlan, schema: Printable, out: Printable[][]): void {
    const field = fp.field;
    const F: Printable[] = [schema, `.field.${field.localName}`];
    const v = "v";
    let access: string;
    let isSet: string;
    let indent = "  ";
    if (field.oneof !== undefined) {
      const o = `m.${field.oneof.localName}`;
      out.push([`  { // ${field.name}`]);
      isSet = `${o}.case === ${JSON.stringify(field.localName)}`;
      access = `${o}.value`;
      indent = "    ";
      if (fp.required) {
        out.push([
          `${indent}if (!(${isSet})) out.push(`,
          this.rt("violation"),
          "(up, ",
          ...F,
          ', undefined, "required", "required", "value is required"));',
        ]);
      }
      out.push([`${indent}if (${isSet}) {`]);
      out.push([`${indent}  const ${v} = ${access};`]);
      this.valueBody(fp, F, v, `${indent}  `, out);
      out.push([`${indent}}`]);
      out.push(["  }"]);
      return;
    }
    access = `m.${field.localName}`;
    isSet = isSetExpr(field, v);
    out.push([`  { // ${field.name}`]);
    out.push([`    const ${v} = ${access};`]);
    if (fp.required) {
      out.push([
        `    if (!(${isSet})) out.push(`,
        this.rt("violation"),
        "(up, ",
        ...F,
        ', undefined, "required", "required", "value is required"));',
      ]);
      out.push(["    else {"]);
      this.valueBody(fp, F, v, "      ", out);
      out.push(["    }"]);
    } else if (fp.onlyIfSet) {
      out.push([`    if (${isSet}) {`]);
      this.valueBody(fp, F, v, "      ", out);
      out.push(["    }"]);
    } else {
      this.valueBody(fp, F, v, "    ", out);
    }
    out.push(["  }"]);
  }

  private valueBody(
    fp: FieldPlan,
    F: Printable[],
    v: string,
    indent: string,
    out: Printable[][],
  ): void {
    const field = fp.field;
    const sizeOf = (x: string) =>
      field.fieldKind === "map" ? `Object.keys(${x}).length` : `${x}.length`;
    this.checks(fp.value, F, v, "undefined", sizeOf, indent, out, false, field, "value");
    if (fp.items !== undefined && (fp.items.checks.length > 0 || fp.items.nested !== undefined)) {
      out.push([`${indent}for (let i = 0; i < ${v}.length; i++) {`]);
      out.push([`${indent}  const x = ${v}[i]!;`]);
      this.checks(
        fp.items,
        F,
        "x",
        "i",
        (x) => `${x}.length`,
        `${indent}  `,
        out,
        false,
        field,
        "item",
      );
      out.push([`${indent}}`]);
    }
    const hasKeys = fp.keys !== undefined && fp.keys.checks.length > 0;
    const hasValues =
      fp.values !== undefined && (fp.values.checks.length > 0 || fp.values.nested !== undefined);
    if (field.fieldKind === "map" && (hasKeys || hasValues)) {
      out.push([`${indent}for (const k in ${v}) {`]);
      out.push([`${indent}  const key = ${mapKeyExpr(field.mapKey, "k")};`]);
      if (hasKeys) {
        this.checks(
          fp.keys!,
          F,
          "key",
          "key",
          (x) => `${x}.length`,
          `${indent}  `,
          out,
          true,
          field,
          "key",
        );
      }
      if (hasValues) {
        out.push([`${indent}  const x = ${v}[k]!;`]);
        this.checks(
          fp.values!,
          F,
          "x",
          "key",
          (x) => `${x}.length`,
          `${indent}  `,
          out,
          false,
          field,
          "value",
        );
      }
      out.push([`${indent}}`]);
    }
  }

  private checks(
    plan: ValuePlan,
    F: Printable[],
    x: string,
    sub: string,
    sizeOf: (x: string) => string,
    indent: string,
    out: Printable[][],
    forKey: boolean,
    field: DescField,
    role: "value" | "item" | "key",
  ): void {
    for (const c of plan.checks) {
      out.push([
        `${indent}if (`,
        ...this.cond(
          c.cond,
          x,
          sizeOf,
          role === "key" && field.fieldKind === "map" ? field.mapKey : scalarOf(field),
        ),
        ") out.push(",
        this.rt("violation"),
        "(up, ",
        ...F,
        `, ${sub}, ${JSON.stringify(c.ruleId)}, ${JSON.stringify(c.rulePath)}, ${JSON.stringify(c.message)}${forKey ? ", true" : ""}));`,
      ]);
    }
    if (plan.nested !== undefined) {
      const node =
        sub === "undefined"
          ? ["{ up, field: ", ...F, " }"]
          : ["{ up, field: ", ...F, `, sub: ${sub} }`];
      out.push([`${indent}${walkerName(plan.nested)}(${x}, out, `, ...node, ");"]);
    }
  }

  private cond(
    c: Cond,
    x: string,
    sizeOf: (x: string) => string,
    scalar: ScalarType | undefined,
  ): Printable[] {
    switch (c.k) {
      case "cmp": {
        const a =
          c.a === "value"
            ? [x]
            : c.a === "runes"
              ? [this.rt("runeLength"), `(${x})`]
              : c.a === "utf8"
                ? [this.rt("utf8Length"), `(${x})`]
                : [sizeOf(x)];
        const op = c.op === "==" ? "===" : c.op === "!=" ? "!==" : c.op;
        return [...a, ` ${op} `, this.lit(c.b, c.a === "value" ? scalar : undefined)];
      }
      case "time": {
        const op = c.op === "==" ? "===" : c.op === "!=" ? "!==" : c.op;
        return [this.rt("compareTime"), `(${x}, ${c.seconds}n, ${c.nanos}) ${op} 0`];
      }
      case "or":
      case "and": {
        const parts: Printable[] = ["("];
        for (const [i, p] of c.of.entries()) {
          if (i > 0) parts.push(c.k === "or" ? " || " : " && ");
          parts.push(...this.cond(p, x, sizeOf, scalar));
        }
        parts.push(")");
        return parts;
      }
      case "not":
        return ["!(", ...this.cond(c.c, x, sizeOf, scalar), ")"];
      case "in": {
        const parts: Printable[] = ["["];
        for (const [i, l] of c.set.entries()) {
          if (i > 0) parts.push(", ");
          parts.push(this.lit(l, scalar));
        }
        parts.push(`].includes(${x})`);
        return parts;
      }
      case "nan":
        return [`Number.isNaN(${x})`];
      case "finite":
        return [`Number.isFinite(${x})`];
      case "match":
        return [`${this.regex(c.pattern)}.test(${x})`];
      case "call":
        switch (c.fn) {
          case "startsWith":
          case "endsWith":
            return [`${x}.${c.fn}(`, this.lit(c.arg!, scalar), ")"];
          case "contains":
            return [`${x}.includes(`, this.lit(c.arg!, scalar), ")"];
          default:
            return c.arg === undefined
              ? [this.rt(c.fn), `(${x})`]
              : [this.rt(c.fn), `(${x}, `, this.lit(c.arg, scalar), ")"];
        }
    }
  }

  private lit(l: Lit, scalar: ScalarType | undefined): string {
    switch (l.t) {
      case "num":
        if (scalar !== undefined && isWide(scalar) && Number.isInteger(l.v)) return `${l.v}n`;
        if (Number.isNaN(l.v)) return "Number.NaN";
        if (!Number.isFinite(l.v))
          return l.v > 0 ? "Number.POSITIVE_INFINITY" : "Number.NEGATIVE_INFINITY";
        return Object.is(l.v, -0) ? "-0" : String(l.v);
      case "big":
        return `${l.v}n`;
      case "str":
        return JSON.stringify(l.v);
      case "bool":
        return String(l.v);
      case "bytes": {
        const key = Array.from(l.v).join(",");
        let name = this.byteConsts.get(key);
        if (name === undefined) {
          name = `$bytes${this.byteConsts.size}`;
          this.byteConsts.set(key, name);
          this.consts.push([`const ${name} = new Uint8Array([${key}]);`]);
        }
        return name;
      }
    }
  }

  private regex(pattern: string): string {
    let name = this.regexes.get(pattern);
    if (name === undefined) {
      name = `$re${this.regexes.size}`;
      this.regexes.set(pattern, name);
      this.consts.push([`const ${name} = new RegExp(${JSON.stringify(pattern)}, "u");`]);
    }
    return name;
  }
}

function scalarOf(field: DescField): ScalarType | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar;
    case "list":
      return field.listKind === "scalar" ? field.scalar : undefined;
    case "map":
      return field.mapKind === "scalar" ? field.scalar : undefined;
    default:
      return undefined;
  }
}

/** TypeScript for "the field is set" (protovalidate's `has`): presence, or a non-zero value. */
function isSetExpr(field: DescField, v: string): string {
  switch (field.fieldKind) {
    case "message":
      return `${v} !== undefined`;
    case "list":
      return `${v}.length > 0`;
    case "map":
      return `Object.keys(${v}).length > 0`;
    case "enum":
      return field.presence === IMPLICIT ? `${v} !== 0` : `${v} !== undefined`;
    case "scalar":
      if (field.presence !== IMPLICIT) return `${v} !== undefined`;
      switch (field.scalar) {
        case ScalarType.STRING:
          return `${v} !== ""`;
        case ScalarType.BYTES:
          return `${v}.length > 0`;
        case ScalarType.BOOL:
          return v;
        default:
          return isWide(field.scalar) ? `${v} !== 0n` : `${v} !== 0`;
      }
  }
}

/** Converts a protobuf-es map key (always a string property) to the key's value type. */
function mapKeyExpr(key: ScalarType, k: string): string {
  switch (key) {
    case ScalarType.STRING:
      return k;
    case ScalarType.BOOL:
      return `${k} === "true"`;
    default:
      return isWide(key) ? `BigInt(${k})` : `Number(${k})`;
  }
}
