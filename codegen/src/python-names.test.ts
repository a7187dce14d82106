import { describe, expect, it } from "vitest";
import { pythonMethodName, pythonModuleAlias, snakeCase, upperSnakeCase } from "./python-names.js";

describe("snakeCase", () => {
  it.each([
    ["ListModels", "list_models"],
    ["Ping", "ping"],
    ["GetHTTPStatus", "get_http_status"],
    ["HTTPGet", "http_get"],
    ["V2Call", "v2_call"],
    ["Get2FA", "get2_fa"],
    ["list_models", "list_models"],
    ["Get_Foo", "get_foo"],
  ])("%s → %s", (name, expected) => {
    expect(snakeCase(name)).toBe(expected);
  });

  it("upper-cases for constants", () => {
    expect(upperSnakeCase("PixelService")).toBe("PIXEL_SERVICE");
    expect(upperSnakeCase("ListModels")).toBe("LIST_MODELS");
  });
});

describe("pythonMethodName", () => {
  it.each([
    ["Delete", "delete"],
    ["Import", "import_"],
    ["None", "none"],
    ["Async", "async_"],
    ["Await", "await_"],
    ["Float", "float_"],
    ["Type", "type_"],
    ["Print", "print_"],
    ["Match", "match"],
    ["Service", "service_"],
    ["Protoipc", "protoipc_"],
    ["Transport", "transport_"],
    ["MaxBufferedUpdates", "max_buffered_updates_"],
    ["PixelsPb2", "pixels_pb2_"],
    ["_Unary", "_unary_"],
  ])("%s → %s", (name, expected) => {
    expect(pythonMethodName(name)).toBe(expected);
  });
});

describe("pythonModuleAlias", () => {
  it("is protoc's alias", () => {
    expect(pythonModuleAlias("a.v1.common_pb2")).toBe("a_dot_v1_dot_common__pb2");
  });
});
