import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { PythonFileModel } from "./python-model.js";
import { PYTHON_KEYWORDS, pythonString } from "./python-names.js";
import { createPythonPrinter, type PythonPrinter } from "./python-printer.js";
import type { Cond, FieldPlan, Lit, MessagePlan, ValuePlan } from "./validate-model.js";

/** Implicit presence: proto3 scalars without `optional` (set means non-zero). */
const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;

/** The Python validator of a request type, e.g. `_validate_pixels_v1_GenerateRequest`. */
export function pyValidatorName(desc: DescMessage): string {
  return `_validate_${desc.typeName.replace(/\./g, "_")}`;
}

function walkerName(desc: DescMessage): string {
  return `_walk_${desc.typeName.replace(/\./g, "_")}`;
}

function fieldsName(desc: DescMessage): string {
  return `_FIELDS_${desc.typeName.replace(/\./g, "_")}`;
}

/**
 * Prints the validators of `file.plans` as straight-line Python (the counterpart of
 * validate-emit.ts): per message a walker `_walk_<type>(m, out, up)` appending
 * `buf.validate.Violation`s, and per validated request type `_validate_<type>(m)` returning
 * them. Compiled patterns and field descriptors are module constants.
 */
export function emitPyValidators(f: PythonPrinter, file: PythonFileModel): void {
  const plans = file.plans;
  if (plans.size === 0) return;
  for (const plan of plans.values()) {
    if (plan.delegate) continue;
    f.print(`${fieldsName(plan.desc)} = ${file.messageRef(plan.desc)}.DESCRIPTOR.fields_by_name`);
  }
  // The walkers are printed first, into a side printer, because they collect the constants
  // (compiled patterns, sets) that must precede them in the module.
  const side = createPythonPrinter();
  const e2 = new PyEmitter(side, file);
  for (const plan of plans.values()) {
    side.print();
    side.print();
    e2.walker(plan);
  }
  for (const root of file.validatedInputs) {
    side.print();
    side.print();
    side.print(
      `def ${pyValidatorName(root)}(m: ${file.messageRef(root)}) -> list[_validate.Violation]:`,
    );
    side.indent(() => {
      side.print(
        `"""The violations of ${root.typeName}'s buf.validate rules; empty when valid."""`,
      );
      side.print("out: list[_validate.Violation] = []");
      side.print(`${walkerName(root)}(m, out, None)`);
      side.print("return out");
    });
  }
  for (const c of e2.consts) f.print(c);
  for (const line of side.content().trimEnd().split("\n")) f.print(line);
  f.print();
}

class PyEmitter {
  readonly consts: string[] = [];
  private readonly regexes = new Map<string, string>();

  constructor(
    private readonly f: PythonPrinter,
    private readonly file: PythonFileModel,
  ) {}

  walker(plan: MessagePlan): void {
    const { f } = this;
    f.print(
      `def ${walkerName(plan.desc)}(m: ${this.file.messageRef(plan.desc)}, out: list[_validate.Violation], up: _validate.PathNode | None) -> None:`,
    );
    if (plan.delegate) {
      f.indent(() => {
        f.print("# Custom CEL rules: validated by protovalidate (plugin option cel=delegate).");
        f.print(
          "out.extend(_validate.prefix_violations(up, [v.proto for v in _protovalidate.collect_violations(m)]))",
        );
      });
      return;
    }
    f.indent(() => {
      for (const o of plan.requiredOneofs) {
        f.print(`if m.WhichOneof(${pythonString(o.name)}) is None:`);
        f.indent(() =>
          f.print(
            `out.append(_validate.oneof_violation(up, ${this.file.messageRef(plan.desc)}.DESCRIPTOR.oneofs_by_name[${pythonString(o.name)}]))`,
          ),
        );
      }
      for (const fp of plan.fields) this.field(plan, fp);
      if (plan.fields.length === 0 && plan.requiredOneofs.length === 0) f.print("pass");
    });
  }

  private field(plan: MessagePlan, fp: FieldPlan): void {
    const { f } = this;
    const field = fp.field;
    const F = `${fieldsName(plan.desc)}[${pythonString(field.name)}]`;
    const access = PYTHON_KEYWORDS.has(field.name)
      ? `getattr(m, ${pythonString(field.name)})`
      : `m.${field.name}`;
    f.print(`# ${field.name}`);
    // One name per field: mypy types a variable by its first assignment.
    const v = `v${field.number}`;
    const isSet =
      field.oneof !== undefined
        ? `m.WhichOneof(${pythonString(field.oneof.name)}) == ${pythonString(field.name)}`
        : field.fieldKind === "message" ||
            (field.presence !== IMPLICIT && field.fieldKind !== "list" && field.fieldKind !== "map")
          ? `m.HasField(${pythonString(field.name)})`
          : implicitIsSet(field, v);
    const required = `out.append(_validate.violation(up, ${F}, None, "required", "required", "value is required"))`;
    const usesV = !isSet.startsWith("m.");
    if (fp.required) {
      if (usesV) f.print(`${v} = ${access}`);
      f.print(`if not (${isSet}):`);
      f.indent(() => f.print(required));
      f.print("else:");
      f.indent(() => {
        if (!usesV) f.print(`${v} = ${access}`);
        this.valueBody(fp, F, v);
      });
    } else if (fp.onlyIfSet) {
      if (usesV) f.print(`${v} = ${access}`);
      f.print(`if ${isSet}:`);
      f.indent(() => {
        if (!usesV) f.print(`${v} = ${access}`);
        this.valueBody(fp, F, v);
      });
    } else {
      f.print(`${v} = ${access}`);
      this.valueBody(fp, F, v);
    }
  }

  private valueBody(fp: FieldPlan, F: string, v: string): void {
    const { f } = this;
    const field = fp.field;
    let printed = this.checks(fp.value, F, v, "None", false, scalarOf(field), true);
    if (fp.items !== undefined && (fp.items.checks.length > 0 || fp.items.nested !== undefined)) {
      const n = field.number;
      f.print(`for i${n}, x${n} in enumerate(${v}):`);
      f.indent(() => this.checks(fp.items!, F, `x${n}`, `i${n}`, false, scalarOf(field), false));
      printed = true;
    }
    const hasKeys = fp.keys !== undefined && fp.keys.checks.length > 0;
    const hasValues =
      fp.values !== undefined && (fp.values.checks.length > 0 || fp.values.nested !== undefined);
    if (field.fieldKind === "map" && (hasKeys || hasValues)) {
      const n = field.number;
      f.print(`for k${n}, x${n} in ${v}.items():`);
      f.indent(() => {
        if (hasKeys) this.checks(fp.keys!, F, `k${n}`, `k${n}`, true, field.mapKey, false);
        if (hasValues) this.checks(fp.values!, F, `x${n}`, `k${n}`, false, scalarOf(field), false);
      });
      printed = true;
    }
    if (!printed) f.print("pass");
  }

  private checks(
    plan: ValuePlan,
    F: string,
    x: string,
    sub: string,
    forKey: boolean,
    scalar: ScalarType | undefined,
    top: boolean,
  ): boolean {
    const { f } = this;
    let printed = false;
    for (const c of plan.checks) {
      f.print(`if ${this.cond(c.cond, x, scalar)}:`);
      f.indent(() =>
        f.print(
          `out.append(_validate.violation(up, ${F}, ${sub}, ${pythonString(c.ruleId)}, ${pythonString(c.rulePath)}, ${pythonString(c.message)}${forKey ? ", True" : ""}))`,
        ),
      );
      printed = true;
    }
    if (plan.nested !== undefined) {
      f.print(`${walkerName(plan.nested)}(${x}, out, _validate.PathNode(up, ${F}, ${sub}))`);
      printed = true;
    }
    if (!printed && !top) f.print("pass");
    return printed;
  }

  private cond(c: Cond, x: string, scalar: ScalarType | undefined): string {
    switch (c.k) {
      case "cmp": {
        const a =
          c.a === "value"
            ? x
            : c.a === "runes"
              ? `len(${x})`
              : c.a === "utf8"
                ? `len(${x}.encode())`
                : `len(${x})`;
        return `${a} ${c.op} ${this.lit(c.b)}`;
      }
      case "time":
        return `_validate.compare_time(${x}, ${c.seconds}, ${c.nanos}) ${c.op} 0`;
      case "or":
      case "and":
        return `(${c.of.map((p) => this.cond(p, x, scalar)).join(c.k === "or" ? " or " : " and ")})`;
      case "not":
        return `not (${this.cond(c.c, x, scalar)})`;
      case "in":
        return `${x} in (${c.set.map((l) => this.lit(l)).join(", ")}${c.set.length === 1 ? "," : ""})`;
      case "nan":
        return `_validate.is_nan(${x})`;
      case "finite":
        return `_validate.is_finite(${x})`;
      case "match":
        return `${this.regex(c.pattern)}.search(${x}) is not None`;
      case "call":
        switch (c.fn) {
          case "startsWith":
          case "bytesStartsWith":
            return `${x}.startswith(${this.lit(c.arg!)})`;
          case "endsWith":
          case "bytesEndsWith":
            return `${x}.endswith(${this.lit(c.arg!)})`;
          case "contains":
          case "bytesContains":
            return `(${this.lit(c.arg!)} in ${x})`;
          case "bytesEqual":
            return `${x} == ${this.lit(c.arg!)}`;
          default:
            return `_validate.${snake(c.fn)}(${x})`;
        }
    }
  }

  private lit(l: Lit): string {
    switch (l.t) {
      case "num":
        if (Number.isNaN(l.v)) return 'float("nan")';
        if (!Number.isFinite(l.v)) return l.v > 0 ? 'float("inf")' : 'float("-inf")';
        return Object.is(l.v, -0) ? "-0.0" : String(l.v);
      case "big":
        return String(l.v);
      case "str":
        return pythonString(l.v);
      case "bool":
        return l.v ? "True" : "False";
      case "bytes":
        return `b"${Array.from(l.v, (b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}"`;
    }
  }

  private regex(pattern: string): string {
    let name = this.regexes.get(pattern);
    if (name === undefined) {
      name = `_RE${this.regexes.size}`;
      this.regexes.set(pattern, name);
      this.consts.push(`${name} = _validate.compile_pattern(${pythonString(pattern)})`);
    }
    return name;
  }
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/([a-z])(\d)/, "$1_$2");
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

function implicitIsSet(field: DescField, v: string): string {
  switch (field.fieldKind) {
    case "list":
    case "map":
      return `len(${v}) > 0`;
    case "enum":
      return `${v} != 0`;
    case "scalar":
      switch (field.scalar) {
        case ScalarType.STRING:
          return `${v} != ""`;
        case ScalarType.BYTES:
          return `len(${v}) > 0`;
        case ScalarType.BOOL:
          return `${v}`;
        default:
          return `${v} != 0`;
      }
    default:
      return `${v} is not None`;
  }
}
