import { clone, create, createRegistry, toBinary } from "@bufbuild/protobuf";
import {
  DescriptorProtoSchema,
  FieldOptionsSchema,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { deriveValidateProto } from "./derive-validate-proto.js";
import { printProtoSource, quoteText } from "./proto-source-printer.js";
import { compileRequest } from "./testing/compile-request.js";

/** Clears what embedded descriptors drop (json_name) so compiled and embedded compare equal. */
function normalise(file: FileDescriptorProto): FileDescriptorProto {
  const f = clone(FileDescriptorProtoSchema, file);
  f.sourceCodeInfo = undefined;
  for (const m of f.messageType) for (const field of m.field) field.jsonName = undefined as never;
  for (const e of f.extension) e.jsonName = undefined as never;
  return f;
}

describe("printProtoSource", () => {
  it("prints validate.proto that buf compiles back to the embedded descriptor", () => {
    const request = compileRequest({}, { fileToGenerate: [] });
    const compiled = request.protoFile.find((f) => f.name === "buf/validate/validate.proto")!;
    const embedded = file_buf_validate_validate.proto;
    const a = normalise(compiled);
    const b = normalise(embedded);
    // Field by field first, for a readable failure; then the whole file.
    expect(a.messageType.map((m) => m.name)).toStrictEqual(b.messageType.map((m) => m.name));
    for (const [i, m] of a.messageType.entries()) {
      expect(toBinary(DescriptorProtoSchema, m), m.name).toStrictEqual(
        toBinary(DescriptorProtoSchema, b.messageType[i]!),
      );
    }
    expect(toBinary(FileDescriptorProtoSchema, a)).toStrictEqual(
      toBinary(FileDescriptorProtoSchema, b),
    );
  });

  it("prints predefined rules as text-format options", () => {
    const text = deriveValidateProto();
    expect(text).toContain(
      `optional uint64 min_len = 2 [(buf.validate.predefined) = { cel: [{ id: "string.min_len" expression: "uint(this.size()) < rules.min_len ? 'must be at least %s characters'.format([rules.min_len]) : ''" }] }];`,
    );
    expect(text).toContain("  extensions 1000 to max;");
    expect(text).toContain('  reserved "skipped", "ignore_empty";');
  });

  it("fails naming the element for what it cannot print", () => {
    const file = clone(FileDescriptorProtoSchema, file_buf_validate_validate.proto);
    const rule = file.messageType.find((m) => m.name === "Rule")!;
    rule.field[0]!.defaultValue = "x";
    expect(() => printProtoSource(file, createRegistry(file_buf_validate_validate))).toThrow(
      "field id: default values are not supported by the printer",
    );
    const nested = create(FileDescriptorProtoSchema, {
      name: "n.proto",
      package: "n",
      syntax: "proto3",
      messageType: [{ name: "Outer", nestedType: [{ name: "Inner" }] }],
    });
    expect(() => printProtoSource(nested, createRegistry())).toThrow(
      "n.Outer: nested types and extensions are not supported by the printer",
    );
    const unknownOption = create(FileDescriptorProtoSchema, {
      name: "u.proto",
      package: "u",
      syntax: "proto3",
      messageType: [
        {
          name: "M",
          field: [{ name: "f", number: 1, type: 9, label: 1, options: {} }],
        },
      ],
    });
    const options = create(FieldOptionsSchema);
    options.$unknown = [{ no: 99999, wireType: 0, data: new Uint8Array([1]) }];
    unknownOption.messageType[0]!.field[0]!.options = options;
    expect(() => printProtoSource(unknownOption, createRegistry())).toThrow(
      "field f: option field 99999 is not a known extension",
    );
  });

  it("quotes strings in text format", () => {
    expect(quoteText(new TextEncoder().encode(`a"b\\c\n\u00e9`))).toBe('"a\\"b\\\\c\\n\\303\\251"');
  });
});
