import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { protocGenEs } from "@bufbuild/protoc-gen-es/dist/cjs/src/protoc-gen-es-plugin.js";
import type { ServiceDescriptor } from "@protoipc/runtime";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocGenIpcEs } from "./plugin.js";
import { compileRequest } from "./testing/compile-request.js";

// Generated code is type-checked (and run) inside the monorepo, so that `@protoipc/runtime` and
// `@bufbuild/protobuf` resolve as they do for an SDK package. The directory is git-ignored.
const codegenDir = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(codegenDir, `.tmp-typecheck-${randomBytes(6).toString("hex")}`);
const baseConfig = fileURLToPath(new URL("../../tsconfig.base.json", import.meta.url));

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

  rpc Ping(PingRequest) returns (PingResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (protoipc.v1.method) = {wire_name: "ping"};
  }
  rpc Watch(WatchRequest) returns (stream Tick);
  rpc Build(BuildRequest) returns (BuildResponse) {
    option (protoipc.v1.method) = {kind: METHOD_KIND_PROGRESS progress: "common.v1.Step" timeout_ms: 60000};
  }
  rpc Health(google.protobuf.Empty) returns (google.protobuf.Empty);
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
`;

const imports = `
import type { ServiceDescriptor } from "@protoipc/runtime";
import { createClient, createInMemoryTransport, createServer } from "@protoipc/runtime";
import type { Step } from "./common/v1/common_pb.js";
import type { AdminClient, DemoServiceClient, DemoServiceHandler } from "./demo/v1/demo_ipc.js";
import { Admin, DemoService } from "./demo/v1/demo_ipc.js";
import type { BuildResponse, PingResponse, Tick } from "./demo/v1/demo_pb.js";
`;

/** Typed use of the generated interfaces and descriptors that must compile. */
const goodUsage = `${imports}
export async function useClient(c: DemoServiceClient, signal: AbortSignal): Promise<string> {
  const r: Promise<PingResponse> = c.ping({ text: "hi" }, { timeoutMs: 1000, signal });
  const pong: PingResponse = await r;
  await c.ping();
  let sum = 0;
  for await (const tick of c.watch({})) {
    const t: Tick = tick;
    sum += t.n;
  }
  const call = c.build({ target: "app" }, { maxBufferedUpdates: 10 });
  for await (const step of call.progress) {
    const s: Step = step;
    sum += s.n;
  }
  const done: BuildResponse = await call.result;
  call.cancel("done");
  await c.health({});
  return pong.text + done.artifact + String(sum) + String(done.ticks["a"]?.n);
}

export const handler: DemoServiceHandler = {
  ping(request) {
    return { text: request.text.toUpperCase() };
  },
  async *watch(_request, context) {
    if (context.timeRemainingMs() > 0) {
      yield { n: 1 };
      yield { n: 2 };
    }
  },
  async build(request, context) {
    await context.progress({ n: 1 });
    await context.progress({ n: 2 });
    return { artifact: request.target, ticks: { a: { n: 1 } } };
  },
  health() {
    return {};
  },
};

export const descriptor: ServiceDescriptor<DemoServiceClient, DemoServiceHandler> = DemoService;
export const buildTimeoutMs: number | undefined = DemoService.methods["build"]?.timeoutMs;
export const admin: ServiceDescriptor<AdminClient> = Admin;
export async function deleteIt(a: AdminClient): Promise<void> {
  await a.delete({ text: "x" });
}

/** Serves \`handler\` and calls it through the in-memory transport; returns useClient's result. */
export async function roundTrip(): Promise<string> {
  const memory = createInMemoryTransport();
  const server = createServer(memory.server);
  server.register(DemoService, handler);
  await server.listen();
  const transport = memory.connect();
  try {
    const client: DemoServiceClient = createClient(DemoService, transport);
    return await useClient(client, new AbortController().signal);
  } finally {
    await transport.close();
    await server.close();
  }
}
`;

/** Wrong uses, one per file: each must produce at least one diagnostic. */
const badUsages: Record<string, string> = {
  "bad-request-field": `${imports}
export const f = (c: DemoServiceClient) => c.ping({ text: 1 });`,
  "bad-response-type": `${imports}
export const f = (c: DemoServiceClient): Promise<Tick> => c.ping({});`,
  "bad-stream-item": `${imports}
export const f = (c: DemoServiceClient): AsyncIterable<PingResponse> => c.watch({});`,
  "bad-progress-update": `${imports}
export const f = (c: DemoServiceClient): AsyncIterable<BuildResponse> => c.build({}).progress;`,
  "bad-unary-progress": `${imports}
export const h: Pick<DemoServiceHandler, "ping"> = {
  ping(_request, context) { void context.progress({ n: 1 }); return {}; },
};`,
  "bad-progress-init": `${imports}
export const h: Pick<DemoServiceHandler, "build"> = {
  async build(_request, context) { await context.progress({ wrong: 1 }); return {}; },
};`,
  "bad-missing-method": `${imports}
export const h: DemoServiceHandler = {
  ping() { return {}; },
  async *watch() { yield {}; },
  build() { return {}; },
};`,
  "bad-stream-handler": `${imports}
export const h: Pick<DemoServiceHandler, "watch"> = {
  watch() { return { n: 1 }; },
};`,
};

/** The TypeScript error each wrong use must produce. */
const expectedCodes: Record<string, number> = {
  "bad-request-field": 2322, // Type 'number' is not assignable to type 'string'.
  "bad-response-type": 2322, // Type 'Promise<PingResponse>' is not assignable to 'Promise<Tick>'.
  "bad-stream-item": 2322, // 'AsyncIterable<Tick>' is not assignable to 'AsyncIterable<PingResponse>'.
  "bad-progress-update": 2322, // 'AsyncIterable<Step>' is not assignable to 'AsyncIterable<BuildResponse>'.
  "bad-unary-progress": 2339, // Property 'progress' does not exist on type 'HandlerContext'.
  "bad-progress-init": 2353, // 'wrong' does not exist in type 'MessageInit<Step>'.
  "bad-missing-method": 2741, // Property 'health' is missing in type ... 'DemoServiceHandler'.
  "bad-stream-handler": 2322, // '{ n: number; }' is not an AsyncIterable.
};

function writeFile(path: string, content: string): void {
  mkdirSync(dirname(join(outDir, path)), { recursive: true });
  writeFileSync(join(outDir, path), content);
}

/** The strict compiler options of tsconfig.base.json, without emit. */
function compilerOptions(): ts.CompilerOptions {
  const json = JSON.parse(readFileSync(baseConfig, "utf8")) as { compilerOptions: object };
  const { options, errors } = ts.convertCompilerOptionsFromJson(json.compilerOptions, outDir);
  expect(errors).toStrictEqual([]);
  return {
    ...options,
    noEmit: true,
    composite: false,
    declaration: false,
    sourceMap: false,
    incremental: false,
  };
}

describe("generated code", () => {
  let diagnostics: readonly ts.Diagnostic[] = [];

  beforeAll(() => {
    const request = compileRequest(
      { "common/v1/common.proto": commonProto, "demo/v1/demo.proto": demoProto },
      {
        parameter: "target=ts,import_extension=js",
        fileToGenerate: [
          "common/v1/common.proto",
          "demo/v1/demo.proto",
          "protoipc/v1/options.proto",
        ],
      },
    );
    for (const plugin of [protocGenEs, protocGenIpcEs]) {
      for (const file of plugin.run(request).file) {
        writeFile(file.name, file.content);
      }
    }
    writeFile("good-usage.ts", goodUsage);
    for (const [name, content] of Object.entries(badUsages)) {
      writeFile(`${name}.ts`, content);
    }
    const rootNames = [
      "demo/v1/demo_ipc.ts",
      "good-usage.ts",
      ...Object.keys(badUsages).map((n) => `${n}.ts`),
    ].map((p) => join(outDir, p));
    const program = ts.createProgram({ rootNames, options: compilerOptions() });
    // Only our files count: the runtime's sources are checked by its own build.
    diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName.startsWith(outDir + sep));
  }, 120_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  const format = (ds: readonly ts.Diagnostic[]) =>
    ts.formatDiagnostics(ds, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => outDir,
      getNewLine: () => "\n",
    });

  const diagnosticsOf = (file: string) =>
    diagnostics.filter((d) => d.file?.fileName === join(outDir, file));

  it("type-checks, with its usage, under the strict options of tsconfig.base.json", () => {
    const bad = new Set(Object.keys(badUsages).map((n) => join(outDir, `${n}.ts`)));
    const good = diagnostics.filter((d) => d.file === undefined || !bad.has(d.file.fileName));
    expect(format(good)).toBe("");
  });

  it("serves and calls unary, server-streaming and progress methods through the runtime", async () => {
    const usage = (await import(pathToFileURL(join(outDir, "good-usage.ts")).href)) as {
      roundTrip(): Promise<string>;
    };
    // "HI" from ping, "app" from build, 1+2 stream items + 1+2 progress updates, ticks.a.n = 1.
    expect(await usage.roundTrip()).toBe("HIapp61");
  });

  it("describes the methods as the schema says", async () => {
    const ipc = (await import(pathToFileURL(join(outDir, "demo/v1/demo_ipc.ts")).href)) as {
      DemoService: ServiceDescriptor;
    };
    const { DemoService } = ipc;
    expect(DemoService.typeName).toBe("demo.v1.DemoService");
    expect(DemoService.defaultTimeoutMs).toBe(5000);
    expect(DemoService.schemaHash).toMatch(/^[0-9a-f]{64}$/);
    const summary = Object.values(DemoService.methods).map((m) => ({
      localName: m.localName,
      path: m.path,
      kind: m.kind,
      input: m.input.typeName,
      output: m.output.typeName,
      progress: m.progress?.typeName,
      idempotency: m.idempotency,
      timeoutMs: m.timeoutMs,
      wireName: m.wireName,
    }));
    expect(summary).toStrictEqual([
      {
        localName: "ping",
        path: "/demo.v1.DemoService/Ping",
        kind: "unary",
        input: "demo.v1.PingRequest",
        output: "demo.v1.PingResponse",
        progress: undefined,
        idempotency: "no_side_effects",
        timeoutMs: undefined,
        wireName: "ping",
      },
      {
        localName: "watch",
        path: "/demo.v1.DemoService/Watch",
        kind: "server_streaming",
        input: "demo.v1.WatchRequest",
        output: "demo.v1.Tick",
        progress: undefined,
        idempotency: "idempotency_unknown",
        timeoutMs: undefined,
        wireName: undefined,
      },
      {
        localName: "build",
        path: "/demo.v1.DemoService/Build",
        kind: "progress",
        input: "demo.v1.BuildRequest",
        output: "demo.v1.BuildResponse",
        progress: "common.v1.Step",
        idempotency: "idempotency_unknown",
        timeoutMs: 60000,
        wireName: undefined,
      },
      {
        localName: "health",
        path: "/demo.v1.DemoService/Health",
        kind: "unary",
        input: "google.protobuf.Empty",
        output: "google.protobuf.Empty",
        progress: undefined,
        idempotency: "idempotency_unknown",
        timeoutMs: undefined,
        wireName: undefined,
      },
    ]);
  });

  it.each(Object.keys(badUsages))("rejects wrong usage: %s", (name) => {
    const codes = diagnosticsOf(`${name}.ts`).map((d) => d.code);
    expect(codes).toContain(expectedCodes[name]);
  });
});
