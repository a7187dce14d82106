import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveValidateProto } from "./derive-validate-proto.js";
import { protocGenIpcPython } from "./python-plugin.js";
import { compileRequest } from "./testing/compile-request.js";

// Generates Python code for inline protos and the pixels schema (protoc's `_pb2` modules and
// stubs through tools/protoc, our `_ipc` modules in process), then imports it and type-checks
// typed usage with `mypy --strict` against the Python runtime `protoipc`.

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const python = join(repoRoot, ".venv/bin/python");
const protoc = join(repoRoot, "tools/protoc");

/** Runs the venv's Python; returns its exit status and output. */
function runPython(args: readonly string[], cwd?: string) {
  const p = spawnSync(python, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: p.status, output: `${p.stdout ?? ""}${p.stderr ?? ""}${p.error ?? ""}` };
}

// The runtime (python/, pip package `protoipc`, `pip install -e python/`) is written in parallel
// with this generator and installed into the venv once it exists; until then these checks cannot
// run, so they are skipped (the suite's name says why) instead of failing. `import protoipc` also
// fails when the venv itself is missing.
const runtimeInstalled = existsSync(python) && runPython(["-c", "import protoipc"]).status === 0;

const commonProto = `
syntax = "proto3";
package common.v1;

// Step is one progress update.
message Step { uint32 n = 1; }
`;

const demoProto = `
syntax = "proto3";
package demo.v1;

import "common/v1/common.proto";
import "google/protobuf/empty.proto";
import "protoipc/v1/options.proto";

// DemoService exercises every method kind.
service DemoService {
  option (protoipc.v1.service) = {default_timeout_ms: 5000};

  // Ping answers "quote" \\ "backslash".
  rpc Ping(PingRequest) returns (PingResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (protoipc.v1.method) = {wire_name: "ping"};
  }
  rpc Watch(WatchRequest) returns (stream Tick);
  rpc Build(BuildRequest) returns (BuildResponse) {
    option (protoipc.v1.method) = {kind: METHOD_KIND_PROGRESS progress: "common.v1.Step" timeout_ms: 60000};
  }
  rpc Health(google.protobuf.Empty) returns (google.protobuf.Empty);
  rpc Import(Outer.Inner) returns (Outer.Inner);
  rpc Float(PingRequest) returns (PingResponse);
}

service Admin {
  rpc Delete(PingRequest) returns (google.protobuf.Empty);
}

message PingRequest { string text = 1; }
message PingResponse { string text = 1; }
message WatchRequest {}
message Tick { uint32 n = 1; }
message BuildRequest { string target = 1; }
message BuildResponse { string artifact = 1; map<string, Tick> ticks = 2; }
message Outer {
  message Inner { string x = 1; }
}
`;

const imports = `
from collections.abc import AsyncIterator

import protoipc
from common.v1 import common_pb2
from demo.v1 import demo_ipc, demo_pb2
from google.protobuf import empty_pb2
from pixels.v1 import pixels_ipc, pixels_pb2
`;

/** Typed use of the generated handlers, clients and descriptors that must pass mypy --strict. */
const goodUsage = `${imports}

class Demo(demo_ipc.DemoServiceHandler):
    async def ping(self, request: demo_pb2.PingRequest, context: protoipc.CallContext) -> demo_pb2.PingResponse:
        return demo_pb2.PingResponse(text=request.text.upper())

    async def watch(self, request: demo_pb2.WatchRequest, context: protoipc.CallContext) -> AsyncIterator[demo_pb2.Tick]:
        for n in range(3):
            yield demo_pb2.Tick(n=n)

    async def build(self, request: demo_pb2.BuildRequest, context: protoipc.ProgressContext[common_pb2.Step]) -> demo_pb2.BuildResponse:
        await context.progress(common_pb2.Step(n=1))
        return demo_pb2.BuildResponse(artifact=request.target)

    async def import_(self, request: demo_pb2.Outer.Inner, context: protoipc.CallContext) -> demo_pb2.Outer.Inner:
        return request


class Pixels(pixels_ipc.PixelServiceHandler):
    async def generate(self, request: pixels_pb2.GenerateRequest, context: protoipc.ProgressContext[pixels_pb2.GenerateProgress]) -> pixels_pb2.GenerateResponse:
        await context.progress(pixels_pb2.GenerateProgress(progress=pixels_pb2.Progress(step=1, total_steps=request.steps)))
        return pixels_pb2.GenerateResponse(job_id=request.id, image_path="/tmp/out.png")


async def use(transport: protoipc.ClientTransport) -> list[str]:
    out: list[str] = []
    demo = demo_ipc.DemoServiceClient(transport)
    pong: demo_pb2.PingResponse = await demo.ping(demo_pb2.PingRequest(text="hi"), timeout_ms=1000, metadata={"k": "v"})
    out.append(pong.text)
    out.append(repr((await demo.ping()).text))
    out.append(",".join([str(tick.n) async for tick in demo.watch(demo_pb2.WatchRequest())]))
    call = demo.build(demo_pb2.BuildRequest(target="app"))
    steps = [step.n async for step in call.progress]
    done: demo_pb2.BuildResponse = await call.result()
    out.append(f"{done.artifact} {steps}")
    inner: demo_pb2.Outer.Inner = await demo.import_(demo_pb2.Outer.Inner(x="x"))
    out.append(inner.x)
    try:
        empty: empty_pb2.Empty = await demo.health()
        out.append(str(empty))
    except protoipc.IpcError as e:
        out.append(str(e))
    pixels = pixels_ipc.PixelServiceClient(transport)
    job = pixels.generate(pixels_pb2.GenerateRequest(id="job-1", prompt="16-bit knight", model="sdxl-base", size=[64, 64], steps=30))
    totals = [update.progress.total_steps async for update in job.progress]
    result: pixels_pb2.GenerateResponse = await job.result()
    out.append(f"{result.job_id} {result.image_path} {totals}")
    return out


async def round_trip() -> list[str]:
    """Serves Demo and Pixels on the runtime's in-memory transport and calls them."""
    memory = protoipc.create_in_memory_transport()
    server = protoipc.create_server(memory.server)
    server.register(Demo())
    server.register(Pixels())
    await server.listen()
    transport = memory.connect()
    try:
        return await use(transport)
    finally:
        await transport.aclose()
        await server.close()


def unused_client_methods(transport: protoipc.ClientTransport) -> None:
    call = demo_ipc.DemoServiceClient(transport).build()
    call.cancel("done")
    _ = (demo_ipc.DemoServiceClient(transport).float_, demo_ipc.AdminClient(transport, interceptors=()).delete)


build: protoipc.MethodDescriptor[demo_pb2.BuildRequest, demo_pb2.BuildResponse, common_pb2.Step] = demo_ipc.DEMO_SERVICE_BUILD
service: protoipc.ServiceDescriptor = Demo.service
`;

/** Wrong uses, one per file, each with the mypy error code it must produce. */
const badUsages: Record<string, { code: string; source: string }> = {
  bad_request_type: {
    code: "arg-type",
    source: `${imports}
async def f(c: demo_ipc.DemoServiceClient) -> None:
    await c.ping(demo_pb2.Tick())
`,
  },
  bad_response_type: {
    code: "assignment",
    source: `${imports}
async def f(c: demo_ipc.DemoServiceClient) -> None:
    t: demo_pb2.Tick = await c.ping()
`,
  },
  bad_stream_item: {
    code: "assignment",
    source: `${imports}
async def f(c: demo_ipc.DemoServiceClient) -> None:
    async for t in c.watch():
        p: demo_pb2.PingResponse = t
`,
  },
  bad_progress_update: {
    code: "assignment",
    source: `${imports}
async def f(c: demo_ipc.DemoServiceClient) -> None:
    async for u in c.build().progress:
        r: demo_pb2.BuildResponse = u
`,
  },
  bad_unary_progress: {
    code: "attr-defined",
    source: `${imports}
class H(demo_ipc.DemoServiceHandler):
    async def ping(self, request: demo_pb2.PingRequest, context: protoipc.CallContext) -> demo_pb2.PingResponse:
        await context.progress(common_pb2.Step())
        return demo_pb2.PingResponse()
`,
  },
  bad_progress_message: {
    code: "arg-type",
    source: `${imports}
class H(demo_ipc.DemoServiceHandler):
    async def build(self, request: demo_pb2.BuildRequest, context: protoipc.ProgressContext[common_pb2.Step]) -> demo_pb2.BuildResponse:
        await context.progress(demo_pb2.Tick())
        return demo_pb2.BuildResponse()
`,
  },
  bad_handler_return: {
    code: "override",
    source: `${imports}
class H(demo_ipc.DemoServiceHandler):
    async def ping(self, request: demo_pb2.PingRequest, context: protoipc.CallContext) -> demo_pb2.Tick:
        return demo_pb2.Tick()
`,
  },
  bad_stream_handler: {
    code: "override",
    source: `${imports}
class H(demo_ipc.DemoServiceHandler):
    async def watch(self, request: demo_pb2.WatchRequest, context: protoipc.CallContext) -> AsyncIterator[demo_pb2.PingResponse]:
        yield demo_pb2.PingResponse()
`,
  },
  bad_escaped_name: {
    code: "attr-defined",
    source: `${imports}
async def f(c: demo_ipc.DemoServiceClient) -> None:
    await c.float()
`,
  },
};

/** Behaviour at run time: descriptors as the schema says, handler bases answer UNIMPLEMENTED. */
const runCheck = `
import asyncio
import protoipc
from demo.v1 import demo_ipc, demo_pb2
from pixels.v1 import pixels_ipc

d = demo_ipc.DEMO_SERVICE
assert d.type_name == "demo.v1.DemoService", d
assert d.default_timeout_ms == 5000, d
assert [m.local_name for m in d.methods] == ["ping", "watch", "build", "health", "import_", "float_"], d
assert d.method("build").progress.DESCRIPTOR.full_name == "common.v1.Step"
assert d.method("build").timeout_ms == 60000
assert d.method("ping").wire_name == "ping" and d.method("ping").idempotency == "no_side_effects"
assert d.method("import_").input is demo_pb2.Outer.Inner
assert demo_ipc.DemoServiceHandler.service is d
assert demo_ipc.AdminHandler.service is demo_ipc.ADMIN
assert pixels_ipc.PIXEL_SERVICE.method("list_models").path == "/pixels.v1.PixelService/ListModels"

async def main() -> None:
    h = demo_ipc.DemoServiceHandler()
    ctx = object()
    try:
        await h.ping(demo_pb2.PingRequest(), ctx)  # type: ignore[arg-type]
    except protoipc.IpcError as e:
        assert e.code == protoipc.Code.UNIMPLEMENTED, e
        print("unary:", e)
    try:
        async for _ in h.watch(demo_pb2.WatchRequest(), ctx):  # type: ignore[arg-type]
            pass
    except protoipc.IpcError as e:
        assert e.code == protoipc.Code.UNIMPLEMENTED, e
        print("stream:", e)

asyncio.run(main())
print(d.schema_hash)

import good_usage
for line in asyncio.run(good_usage.round_trip()):
    print(line)
`;

describe.skipIf(!runtimeInstalled)(
  "generated Python code (skipped unless the runtime `protoipc` is importable from .venv/bin/python)",
  () => {
    let dir = "";
    let mypyOutput = "";
    let stubMypyOutput = "";

    const write = (path: string, content: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    };

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "protoc-gen-ipc-python-"));
      const pixelsProto = readFileSync(join(repoRoot, "proto/pixels/v1/pixels.proto"), "utf8");
      const sources = {
        "common/v1/common.proto": commonProto,
        "demo/v1/demo.proto": demoProto,
        "pixels/v1/pixels.proto": pixelsProto,
      };
      for (const [path, content] of Object.entries(sources)) {
        write(`proto/${path}`, content);
      }
      // protoc's messages. options.proto is there to be imported, not generated: generated code
      // imports protoipc.v1 from the runtime, which owns that namespace.
      write(
        "proto/protoipc/v1/options.proto",
        readFileSync(join(repoRoot, "proto/protoipc/v1/options.proto"), "utf8"),
      );
      // Likewise buf/validate/validate.proto (derived at install time): the runtime ships
      // buf.validate.validate_pb2.
      write("proto/buf/validate/validate.proto", deriveValidateProto());
      mkdirSync(join(dir, "src"), { recursive: true });
      const p = spawnSync(
        protoc,
        [
          `-I${join(dir, "proto")}`,
          `--python_out=${join(dir, "src")}`,
          `--pyi_out=${join(dir, "src")}`,
          ...Object.keys(sources),
        ],
        { encoding: "utf8", cwd: join(dir, "proto") },
      );
      // stderr may hold warnings (common.proto is imported for a progress option only).
      expect(p.status, `${p.stderr}${p.error ?? ""}`).toBe(0);
      for (const file of protocGenIpcPython.run(compileRequest(sources, { parameter: "" })).file) {
        write(`src/${file.name}`, file.content);
      }
      for (const pkg of ["common", "common/v1", "demo", "demo/v1", "pixels", "pixels/v1"]) {
        write(`src/${pkg}/__init__.py`, "");
      }
      write("src/good_usage.py", goodUsage);
      for (const [name, { source }] of Object.entries(badUsages)) {
        write(`src/${name}.py`, source);
      }
      write("src/run_check.py", runCheck);
      // The runtime's own sources are checked by its own build: follow them silently, like
      // protoc's _pb2 stubs, which are not --strict clean (bare Mapping in __init__ signatures).
      const runtimeDir = runPython([
        "-c",
        "import os, protoipc; print(os.path.dirname(os.path.dirname(protoipc.__file__)))",
      ]).output.trim();
      write(
        "mypy.ini",
        [
          "[mypy]",
          "strict = True",
          "warn_unreachable = True",
          "python_version = 3.11",
          `mypy_path = ${join(dir, "src")}:${runtimeDir}`,
          `cache_dir = ${join(dir, ".mypy_cache")}`,
          "[mypy-protoipc.*,buf.validate.*,common.v1.common_pb2,demo.v1.demo_pb2,pixels.v1.pixels_pb2]",
          "follow_imports = silent",
          "ignore_errors = True",
          "",
        ].join("\n"),
      );
      const mypy = (files: readonly string[]) =>
        runPython(
          ["-m", "mypy", "--config-file", join(dir, "mypy.ini"), ...files],
          join(dir, "src"),
        ).output;
      // Users' code sees the .pyi stubs (mypy prefers them over the .py next to them).
      stubMypyOutput = mypy(["good_usage.py", ...Object.keys(badUsages).map((n) => `${n}.py`)]);
      // The .py modules, checked themselves (and used by the usage instead of the stubs).
      mypyOutput = mypy(["good_usage.py", "demo/v1/demo_ipc.py", "pixels/v1/pixels_ipc.py"]);
    }, 180_000);

    afterAll(() => {
      if (dir !== "") {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    const errorsOf = (output: string, file: string) =>
      output.split("\n").filter((l) => l.startsWith(`${file}:`) && l.includes(": error:"));

    it("imports, describes the schema, answers UNIMPLEMENTED from the handler bases and serves calls through the runtime", () => {
      const r = runPython(["run_check.py"], join(dir, "src"));
      expect(r.output.split("\n")).toStrictEqual([
        "unary: [unimplemented] method /demo.v1.DemoService/Ping is not implemented",
        "stream: [unimplemented] method /demo.v1.DemoService/Watch is not implemented",
        expect.stringMatching(/^[0-9a-f]{64}$/),
        "HI",
        "''",
        "0,1,2",
        "app [1]",
        "x",
        "[unimplemented] method /demo.v1.DemoService/Health is not implemented",
        "job-1 /tmp/out.png [30]",
        "",
      ]);
      expect(r.status).toBe(0);
    });

    it("type-checks typed usage against the stubs under mypy --strict", () => {
      expect(errorsOf(stubMypyOutput, "good_usage.py")).toStrictEqual([]);
    });

    it("type-checks the generated modules themselves under mypy --strict", () => {
      expect(mypyOutput).toMatch(/^Success: no issues found in 3 source files\n$/);
    });

    it("has stubs that match the modules (mypy.stubtest)", () => {
      const r = runPython(
        [
          "-m",
          "mypy.stubtest",
          "--mypy-config-file",
          join(dir, "mypy.ini"),
          "demo.v1.demo_ipc",
          "pixels.v1.pixels_ipc",
        ],
        join(dir, "src"),
      );
      expect(r.output).toBe("Success: no issues found in 2 modules\n");
    });

    it.each(Object.keys(badUsages))("rejects wrong usage: %s", (name) => {
      const errors = errorsOf(stubMypyOutput, `${name}.py`);
      expect(errors.join("\n")).toContain(`[${badUsages[name]!.code}]`);
    });
  },
);
