import { createHash } from "node:crypto";
import { create, createFileRegistry, type DescService, toBinary } from "@bufbuild/protobuf";
import {
  DescriptorProtoSchema,
  EnumDescriptorProtoSchema,
  FileDescriptorSetSchema,
  ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { computeSchemaHash, reachableTypes } from "./schema-hash.js";
import { compileRequest } from "./testing/compile-request.js";

// A known-answer vector: the Python generator must compute the same hash for this schema.
const katProto = `syntax = "proto3";
package kat.v1;

service Kat {
  rpc Get(GetRequest) returns (GetResponse);
}

message GetRequest { string key = 1; }
message GetResponse {
  map<string, Entry> entries = 1;
  repeated Color colors = 2;
  message Unused {}
}
message Entry { Inner inner = 1; }
message Inner { int64 n = 1; }
enum Color { COLOR_UNSPECIFIED = 0; }
message NotReached { GetRequest r = 1; }
`;
const katHash = "8f0cae057ae3f755e4a3e4147d66699bddf7407873fcf6481f02acff51b959bb";

function compileKat(): DescService {
  const request = compileRequest({ "kat/v1/kat.proto": katProto });
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
  const service = registry.getService("kat.v1.Kat");
  if (service === undefined) {
    throw new Error("kat.v1.Kat was not compiled");
  }
  return service;
}

describe("computeSchemaHash", () => {
  const service = compileKat();
  const get = service.methods[0]!;

  it("reaches messages and enums through fields, lists and map values, not map entries", () => {
    const names = reachableTypes([get.input, get.output]).map((t) => t.typeName);
    expect(names.sort()).toStrictEqual([
      "kat.v1.Color",
      "kat.v1.Entry",
      "kat.v1.GetRequest",
      "kat.v1.GetResponse",
      "kat.v1.Inner",
    ]);
  });

  it("hashes the sorted full names and base64 descriptors, as documented", () => {
    // The documented algorithm, spelled out independently.
    const entries = new Map<string, Uint8Array>([
      ["kat.v1.Kat", toBinary(ServiceDescriptorProtoSchema, service.proto)],
    ]);
    for (const t of reachableTypes([get.input, get.output])) {
      entries.set(
        t.typeName,
        t.kind === "message"
          ? toBinary(DescriptorProtoSchema, t.proto)
          : toBinary(EnumDescriptorProtoSchema, t.proto),
      );
    }
    let text = "";
    for (const name of [...entries.keys()].sort()) {
      text += `${name}\n${Buffer.from(entries.get(name)!).toString("base64")}\n`;
    }
    const expected = createHash("sha256").update(text, "utf8").digest("hex");
    expect(computeSchemaHash(service, [get.input, get.output])).toBe(expected);
  });

  it("matches the known-answer vector", () => {
    expect(computeSchemaHash(service, [get.input, get.output])).toBe(katHash);
  });
});
