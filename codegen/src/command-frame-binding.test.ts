import { describe, expect, it } from "vitest";
import { protocGenIpcEs } from "./plugin.js";
import { protocGenIpcPython } from "./python-plugin.js";
import { compileRequest } from "./testing/compile-request.js";

const proto = {
  "poppo/v1/p.proto": `
    syntax = "proto3";
    package poppo.v1;
    import "protoipc/v1/options.proto";
    service DaemonService {
      option (protoipc.v1.service) = {binding: BINDING_COMMAND_FRAME};
      rpc DaemonStatus(DaemonStatusRequest) returns (DaemonStatusResponse) {
        option (protoipc.v1.method) = {wire_name: "daemon.status"};
      }
    }
    message DaemonStatusRequest {}
    message DaemonStatusResponse {
      option (protoipc.v1.message) = {json_value_field: "status"};
      string status = 1;
    }
  `,
};

describe("BINDING_COMMAND_FRAME in the generators", () => {
  it("prints binding command_frame and the command's wire name (TypeScript)", () => {
    const response = protocGenIpcEs.run(compileRequest(proto, { parameter: "target=ts" }));
    expect(response.error ?? "").toBe("");
    const ts = response.file.find((f) => f.name === "poppo/v1/p_ipc.ts")?.content ?? "";
    expect(ts).toContain(`  binding: "command_frame",\n`);
    expect(ts).toContain(`      wireName: "daemon.status",\n`);
  });

  it("prints binding command_frame (Python)", () => {
    const response = protocGenIpcPython.run(compileRequest(proto, { parameter: "" }));
    expect(response.error ?? "").toBe("");
    const py = response.file.find((f) => f.name === "poppo/v1/p_ipc.py")?.content ?? "";
    expect(py).toContain(`binding="command_frame",`);
    expect(py).toContain(`wire_name="daemon.status",`);
  });
});
