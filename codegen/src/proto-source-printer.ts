import {
  type DescField,
  type DescMessage,
  getExtension,
  isFieldSet,
  type Message,
  type Registry,
  ScalarType,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  type FieldOptions,
  FieldOptionsSchema,
  type FileDescriptorProto,
  FileOptionsSchema,
} from "@bufbuild/protobuf/wkt";

/**
 * Prints a `FileDescriptorProto` back as `.proto` source that compiles to the same descriptor
 * (modulo comments and source info, which embedded descriptors do not carry).
 *
 * Supported: proto2 and proto3 files, top-level messages and enums, fields with labels, scalar,
 * message and enum types, oneofs, reserved ranges and names, extension ranges, file-scope
 * extensions, the standard file options that are set, and field options that are custom
 * extensions known to `registry` (printed in text format, e.g.
 * `[(buf.validate.predefined) = { cel: [{ id: "string.len" expression: "…" }] }]`).
 * Used to derive `buf/validate/validate.proto` from the descriptor embedded in
 * `@bufbuild/protovalidate` at install time (see `derive-validate-proto.ts`).
 *
 * @throws Error naming the element when the descriptor holds anything else (nested types,
 *   default values, editions, message or enum options, unknown option fields), so a future
 *   descriptor that needs more support fails loudly instead of printing a different schema.
 */
export function printProtoSource(file: FileDescriptorProto, registry: Registry): string {
  if (file.edition !== 0 && file.syntax === "editions") {
    throw new Error(`${file.name}: editions are not supported by the printer`);
  }
  const syntax = file.syntax === "" ? "proto2" : file.syntax;
  const out: string[] = [];
  out.push(`// Derived from the descriptor of ${file.name}; do not edit.`);
  out.push(`syntax = "${syntax}";`, "");
  out.push(`package ${file.package};`, "");
  for (const dep of file.dependency) out.push(`import "${dep}";`);
  if (file.dependency.length > 0) out.push("");
  const fileOptions = printStandardOptions(file.options, FileOptionsSchema, file.name);
  for (const o of fileOptions) out.push(`option ${o};`);
  if (fileOptions.length > 0) out.push("");
  const scope = file.package === "" ? "" : `.${file.package}`;
  for (const e of file.extension) {
    out.push(`extend ${relativeName(e.extendee, scope)} {`);
    out.push(`  ${printField(e, scope, registry, syntax, false)}`);
    out.push("}", "");
  }
  for (const m of file.messageType) out.push(...printMessage(m, scope, registry, syntax), "");
  for (const e of file.enumType) out.push(...printEnum(e, file.name), "");
  while (out[out.length - 1] === "") out.pop();
  return `${out.join("\n")}\n`;
}

function printMessage(
  m: DescriptorProto,
  scope: string,
  registry: Registry,
  syntax: string,
): string[] {
  const where = `${scope.slice(1)}.${m.name}`;
  if (m.nestedType.length > 0 || m.enumType.length > 0 || m.extension.length > 0) {
    throw new Error(`${where}: nested types and extensions are not supported by the printer`);
  }
  if (m.options !== undefined) {
    throw new Error(`${where}: message options are not supported by the printer`);
  }
  const out = [`message ${m.name} {`];
  const printed = new Set<number>();
  for (const [i, f] of m.field.entries()) {
    if (printed.has(i)) continue;
    if (inOneof(f) && !f.proto3Optional) {
      const oneof = m.oneofDecl[f.oneofIndex]!;
      if (oneof.options !== undefined) {
        throw new Error(`${where}.${oneof.name}: oneof options are not supported by the printer`);
      }
      out.push(`  oneof ${oneof.name} {`);
      for (const [j, g] of m.field.entries()) {
        if (inOneof(g) && g.oneofIndex === f.oneofIndex && !g.proto3Optional) {
          out.push(`    ${printField(g, scope, registry, syntax, true)}`);
          printed.add(j);
        }
      }
      out.push("  }");
      continue;
    }
    out.push(`  ${printField(f, scope, registry, syntax, false)}`);
    printed.add(i);
  }
  for (const r of m.extensionRange) {
    if (r.options !== undefined) {
      throw new Error(`${where}: extension range options are not supported by the printer`);
    }
    out.push(`  extensions ${printRange(r.start, r.end, 536_870_912)};`);
  }
  for (const r of m.reservedRange)
    out.push(`  reserved ${printRange(r.start, r.end, 536_870_912)};`);
  if (m.reservedName.length > 0) {
    out.push(`  reserved ${m.reservedName.map((n) => JSON.stringify(n)).join(", ")};`);
  }
  out.push("}");
  return out;
}

/** Whether a field belongs to a oneof: proto2 `oneof_index` reads 0 when unset. */
function inOneof(f: FieldDescriptorProto): boolean {
  return isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex);
}

function printEnum(e: EnumDescriptorProto, fileName: string): string[] {
  if (e.options !== undefined) {
    throw new Error(`${fileName}: enum ${e.name}: options are not supported by the printer`);
  }
  const out = [`enum ${e.name} {`];
  for (const v of e.value) {
    if (v.options !== undefined) {
      throw new Error(`${fileName}: enum value ${v.name}: options are not supported`);
    }
    out.push(`  ${v.name} = ${v.number};`);
  }
  // Enum reserved ranges are end-inclusive in descriptors.
  for (const r of e.reservedRange)
    out.push(`  reserved ${printRange(r.start, r.end + 1, 2 ** 31)};`);
  if (e.reservedName.length > 0) {
    out.push(`  reserved ${e.reservedName.map((n) => JSON.stringify(n)).join(", ")};`);
  }
  out.push("}");
  return out;
}

/** Prints an end-exclusive descriptor range as `.proto` source (`1 to 5`, `3`, `1000 to max`). */
function printRange(start: number, endExclusive: number, max: number): string {
  if (endExclusive === max) return `${start} to max`;
  if (endExclusive === start + 1) return `${start}`;
  return `${start} to ${endExclusive - 1}`;
}

const scalarNames: Partial<Record<FieldDescriptorProto_Type, string>> = {
  [FieldDescriptorProto_Type.DOUBLE]: "double",
  [FieldDescriptorProto_Type.FLOAT]: "float",
  [FieldDescriptorProto_Type.INT64]: "int64",
  [FieldDescriptorProto_Type.UINT64]: "uint64",
  [FieldDescriptorProto_Type.INT32]: "int32",
  [FieldDescriptorProto_Type.FIXED64]: "fixed64",
  [FieldDescriptorProto_Type.FIXED32]: "fixed32",
  [FieldDescriptorProto_Type.BOOL]: "bool",
  [FieldDescriptorProto_Type.STRING]: "string",
  [FieldDescriptorProto_Type.BYTES]: "bytes",
  [FieldDescriptorProto_Type.UINT32]: "uint32",
  [FieldDescriptorProto_Type.SFIXED32]: "sfixed32",
  [FieldDescriptorProto_Type.SFIXED64]: "sfixed64",
  [FieldDescriptorProto_Type.SINT32]: "sint32",
  [FieldDescriptorProto_Type.SINT64]: "sint64",
};

function printField(
  f: FieldDescriptorProto,
  scope: string,
  registry: Registry,
  syntax: string,
  inOneof: boolean,
): string {
  if (f.defaultValue !== undefined && f.defaultValue !== "") {
    throw new Error(`field ${f.name}: default values are not supported by the printer`);
  }
  if (f.type === FieldDescriptorProto_Type.GROUP) {
    throw new Error(`field ${f.name}: groups are not supported by the printer`);
  }
  const type = scalarNames[f.type] ?? relativeName(f.typeName ?? "", scope) ?? `<type ${f.type}>`;
  let label = "";
  if (!inOneof) {
    if (f.label === FieldDescriptorProto_Label.REPEATED) label = "repeated ";
    else if (f.label === FieldDescriptorProto_Label.REQUIRED) label = "required ";
    else if (syntax === "proto2" || f.proto3Optional) label = "optional ";
  }
  const options = f.options === undefined ? [] : printFieldOptions(f.options, registry, f.name);
  const suffix = options.length === 0 ? "" : ` [${options.join(", ")}]`;
  return `${label}${type} ${f.name} = ${f.number}${suffix};`;
}

function printFieldOptions(options: FieldOptions, registry: Registry, field: string): string[] {
  const out = printStandardOptions(options, FieldOptionsSchema, `field ${field}`);
  for (const u of options.$unknown ?? []) {
    const ext = registry.getExtensionFor(FieldOptionsSchema, u.no);
    if (ext === undefined) {
      throw new Error(`field ${field}: option field ${u.no} is not a known extension`);
    }
    if (ext.fieldKind !== "message") {
      throw new Error(`field ${field}: option ${ext.typeName} is not a message option`);
    }
    // getExtension decodes the option's bytes with any DescExtension, generated or not.
    const value = getExtension(options, ext) as Message;
    out.push(`(${ext.typeName}) = ${printTextMessage(value, registry)}`);
  }
  return out;
}

/** Prints the standard (non-extension) options that are set, as `name = value`. */
function printStandardOptions(
  options: Message | undefined,
  schema: DescMessage,
  where: string,
): string[] {
  if (options === undefined) return [];
  const out: string[] = [];
  const r = reflect(schema, options);
  for (const field of schema.fields) {
    if (!r.isSet(field)) continue;
    if (field.fieldKind === "list" && field.name === "uninterpreted_option") continue;
    if (field.fieldKind !== "scalar" && field.fieldKind !== "enum") {
      throw new Error(`${where}: option ${field.name} is not supported by the printer`);
    }
    out.push(`${field.name} = ${printTextScalar(field, r.get(field))}`);
  }
  return out;
}

/**
 * Prints a message in protobuf text format, on one line: `{ a: 1 b: [{ … }] }`.
 * Only what option values need: scalars, enums, messages and lists of them.
 */
export function printTextMessage(message: Message, registry: Registry): string {
  const schema = registry.getMessage(message.$typeName);
  if (schema === undefined) throw new Error(`printer: no schema for ${message.$typeName}`);
  const r = reflect(schema, message);
  const parts: string[] = [];
  for (const field of schema.fields) {
    if (!isFieldSet(message, field)) continue;
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        parts.push(`${field.name}: ${printTextScalar(field, r.get(field))}`);
        break;
      case "message":
        parts.push(`${field.name}: ${printTextMessage(r.get(field).message, registry)}`);
        break;
      case "list": {
        const list = r.get(field);
        const items: string[] = [];
        for (const item of list) {
          items.push(
            field.listKind === "message"
              ? printTextMessage((item as { message: Message }).message, registry)
              : printTextScalar(field, item),
          );
        }
        parts.push(`${field.name}: [${items.join(", ")}]`);
        break;
      }
      case "map":
        throw new Error(`option field ${field.name}: maps are not supported by the printer`);
    }
  }
  return parts.length === 0 ? "{}" : `{ ${parts.join(" ")} }`;
}

function printTextScalar(field: DescField, value: unknown): string {
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    const e = field.enum!;
    const v = e.values.find((x) => x.number === value);
    if (v === undefined) throw new Error(`option ${field.name}: enum value ${value} is undefined`);
    return v.name;
  }
  const scalar = field.scalar;
  switch (scalar) {
    case ScalarType.STRING:
      return quoteText(new TextEncoder().encode(value as string));
    case ScalarType.BYTES:
      return quoteText(value as Uint8Array);
    case ScalarType.BOOL:
      return value ? "true" : "false";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const n = value as number;
      if (Number.isNaN(n)) return "nan";
      if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
      return String(n);
    }
    default:
      return String(value);
  }
}

/** Quotes bytes as a text-format string: printable ASCII as is, everything else octal-escaped. */
export function quoteText(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += "\\\\";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x0d) s += "\\r";
    else if (b === 0x09) s += "\\t";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\${b.toString(8).padStart(3, "0")}`;
  }
  return `${s}"`;
}

/** `.buf.validate.Rule` in scope `.buf.validate` → `Rule`; other packages stay fully qualified. */
function relativeName(typeName: string, scope: string): string {
  if (scope !== "" && typeName.startsWith(`${scope}.`)) return typeName.slice(scope.length + 1);
  return typeName.startsWith(".") ? typeName.slice(1) : typeName;
}
