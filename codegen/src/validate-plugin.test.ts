import { describe, expect, it } from "vitest";
import { protocGenIpcEs } from "./plugin.js";
import { protocGenIpcPython } from "./python-plugin.js";
import { compileRequest } from "./testing/compile-request.js";

const header = `syntax = "proto3";
package demo.v1;
import "buf/validate/validate.proto";
service DemoService { rpc Put(PutRequest) returns (PutResponse); }
message PutResponse {}
`;

function ts(body: string, parameter = "target=ts"): string[] {
  const response = protocGenIpcEs.run(
    compileRequest({ "demo/v1/demo.proto": header + body }, { parameter }),
  );
  return (response.file.find((f) => f.name === "demo/v1/demo_ipc.ts")?.content ?? "").split("\n");
}

function py(body: string, parameter = ""): string[] {
  const response = protocGenIpcPython.run(
    compileRequest({ "demo/v1/demo.proto": header + body }, { parameter }),
  );
  return (response.file.find((f) => f.name === "demo/v1/demo_ipc.py")?.content ?? "").split("\n");
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}

describe("generated validators", () => {
  it("compile standard rules to straight-line TypeScript and Python", () => {
    const body = `message PutRequest {
  string name = 1 [(buf.validate.field).string = {min_len: 1, max_len: 8}];
  repeated uint32 size = 2 [(buf.validate.field).repeated = {max_items: 2, items: {uint32: {lte: 9}}}];
  optional int64 n = 3 [(buf.validate.field).int64 = {gt: 0, lt: 10}];
}
`;
    const t = ts(body);
    expect(t).toContain(
      '    if (runeLength(v) < 1) out.push(violation(up, PutRequestSchema.field.name, undefined, "string.min_len", "string.min_len", "must be at least 1 characters"));',
    );
    expect(t).toContain(
      '      if (x > 9) out.push(violation(up, PutRequestSchema.field.size, i, "uint32.lte", "repeated.items.uint32.lte", "must be less than or equal to 9"));',
    );
    expect(t).toContain(
      '      if ((v >= 10n || v <= 0n)) out.push(violation(up, PutRequestSchema.field.n, undefined, "int64.gt_lt", "int64.gt", "must be greater than 0 and less than 10"));',
    );
    expect(t).toContain("      validateInput: $validate_demo_v1_PutRequest,");
    const p = py(body);
    expect(p).toContain("    if len(v1) < 1:");
    expect(p).toContain("    for i2, x2 in enumerate(v2):");
    expect(p).toContain('    if m.HasField("n"):');
    expect(p).toContain("    validate_input=_validate_demo_v1_PutRequest,");
  });

  it("fail generation naming the field for a custom CEL rule, unless told to delegate", () => {
    const body = `message PutRequest {
  string name = 1 [(buf.validate.field).cel = {id: "x", expression: "this != 'y'"}];
}
`;
    const expected =
      "field demo.v1.PutRequest.name has custom CEL rules (buf.validate cel): protoipc compiles the standard rules only; to check custom CEL rules, install @bufbuild/protovalidate (TypeScript) or protovalidate (Python) and generate with the plugin option cel=delegate, or express the rule with standard rules";
    expect(errorOf(() => ts(body))).toBe(expected);
    expect(errorOf(() => py(body))).toBe(expected);
    const t = ts(body, "target=ts,cel=delegate");
    expect(t).toContain(
      'import { createValidator, violationsToProto } from "@bufbuild/protovalidate";',
    );
    expect(t).toContain("  const r = $protovalidate.validate(PutRequestSchema, m);");
    const p = py(body, "cel=delegate");
    expect(p).toContain("import protovalidate as _protovalidate");
  });

  it("fail generation naming the field and rule for standard rules protoipc does not compile", () => {
    const body = `message PutRequest {
  string id = 1 [(buf.validate.field).string.ulid = true];
}
`;
    expect(errorOf(() => ts(body))).toBe(
      "field demo.v1.PutRequest.id: string.ulid is not supported by protoipc's generated validators",
    );
  });
});
