/**
 * TypeScript ↔ Python over Unix stream sockets, with real Python processes: the TestService
 * (`python -m protoipc.testing --bind unix:<path> --binding <b>`) called from TypeScript over
 * the native binding (length-prefixed envelopes) and over jsonrpc2 (Content-Length JSON-RPC),
 * a Python crystalmath daemon called with the generated TypeScript client, and the reverse:
 * the Python client scenarios against the TypeScript server (native) and a Python crystalmath
 * client against the TypeScript daemon (jsonrpc2).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { CrystalMathService, DftCode, JobState } from "@protoipc/crystalmath-sdk";
import { type ClientTransport, Code, createClient } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { childStdioDuplex, createStreamTransport, type StreamBinding } from "@protoipc/unix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const pyCrystal = fileURLToPath(new URL("./fixtures/py_crystalmath_daemon.py", import.meta.url));
const pyCrystalClient = fileURLToPath(
  new URL("./fixtures/py_crystalmath_client.py", import.meta.url),
);
const pyClient = fileURLToPath(new URL("./fixtures/py_client_scenarios.py", import.meta.url));
const tsServer = fileURLToPath(new URL("./fixtures/test-server.ts", import.meta.url));
const tsDaemon = fileURLToPath(new URL("./fixtures/crystalmath-daemon.ts", import.meta.url));

describe.each<StreamBinding>(["native", "jsonrpc2"])(
  "TypeScript client → Python server over a Unix socket (%s)",
  (binding) => {
    let tmp: ReturnType<typeof privateDir>;
    let path: string;
    let server: ChildProcess | undefined;
    const transports: ClientTransport[] = [];
    const heartbeatIntervalMs = 300;

    beforeEach(async () => {
      tmp = privateDir();
      path = join(tmp.dir, "py.sock");
      server = await spawnReady(
        python,
        [
          "-m",
          "protoipc.testing",
          "--bind",
          `unix:${path}`,
          "--binding",
          binding,
          "--heartbeat-ms",
          String(heartbeatIntervalMs),
        ],
        { interpreter: "none" },
      );
    });

    afterEach(async () => {
      for (const t of transports.splice(0)) await t.close();
      if (server) await killAndWait(server, "SIGTERM");
      tmp.remove();
    });

    function client() {
      const t = createStreamTransport({ endpoint: { path }, binding, heartbeatIntervalMs });
      transports.push(t);
      return createClient(TestService, t);
    }

    it("answers unary calls and streams 1000 progress updates in order", async () => {
      const c = client();
      expect((await c.echo({ value: "16-bit knight" })).value).toBe("16-bit knight");
      const call = c.work({ value: 1000 });
      const got: number[] = [];
      for await (const p of call.progress) got.push(p.value);
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect((await call.result).value).toBe("done");
    });

    it("streams server items in order", async () => {
      const got: number[] = [];
      for await (const item of client().count({ value: 50 })) got.push(item.value);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it("carries codes, messages and typed details from Python", async () => {
      const c = client();
      const fail = await rejection(c.echo({ value: "fail" }));
      expect(fail.code).toBe(Code.InvalidArgument);
      expect(fail.rawMessage).toBe("the prompt is empty");
      expect(fail.findDetails(StringValueSchema).map((d) => d.value)).toEqual(["prompt"]);
      const crash = await rejection(c.echo({ value: "crash" }));
      expect(crash.code).toBe(Code.Unknown);
      expect(crash.rawMessage).toBe("disk on fire");
      expect((await rejection(c.missing({ value: "x" }))).code).toBe(Code.Unimplemented);
    });

    it("cancels a Python handler from TypeScript", async () => {
      const c = client();
      const call = c.work({ value: 0 });
      const it = call.progress[Symbol.asyncIterator]();
      expect((await it.next()).value?.value).toBe(1);
      call.cancel("user pressed q");
      expect((await rejection(call.result)).code).toBe(Code.Canceled);
      await expect
        .poll(async () => (await c.echo({ value: "last-cancel" })).value)
        .toBe("canceled");
    });

    it("fails a pending call with Unavailable when the Python process is killed", async () => {
      const c = client();
      const call = c.work({ value: 0 }, { timeoutMs: 60_000 });
      const it = call.progress[Symbol.asyncIterator]();
      expect((await it.next()).value?.value).toBe(1);
      await killAndWait(server!);
      expect((await rejection(call.result)).code).toBe(Code.Unavailable);
    });
  },
);

describe("TypeScript crystalmath client → Python crystalmath daemon", () => {
  let tmp: ReturnType<typeof privateDir>;
  let path: string;
  let server: ChildProcess | undefined;
  let transport: ClientTransport;

  beforeEach(async () => {
    tmp = privateDir();
    path = join(tmp.dir, "run", "crystalmath.sock");
    server = await spawnReady(python, [pyCrystal, "--socket", path], { interpreter: "none" });
    transport = createStreamTransport({ endpoint: { path } });
  });

  afterEach(async () => {
    await transport.close();
    if (server) await killAndWait(server, "SIGTERM");
    tmp.remove();
  });

  it("calls every namespaced and flat method with typed requests and results", async () => {
    const c = createClient(CrystalMathService, transport);
    const pong = await c.systemPing({});
    expect(pong.pong).toBe(true);
    expect(pong.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await c.systemVersion({})).toMatchObject({
      protocol: "json-rpc-2.0",
      transport: "unix-socket",
    });
    const listed = await c.listJobs({ status: "running" });
    expect(listed.total).toBe(1);
    expect(listed.jobs[0]?.status).toBe("running");
    const jobs = await c.fetchJobs({ limit: 3 });
    expect(jobs.jobs.map((j) => j.state)).toEqual([
      JobState.CREATED,
      JobState.RUNNING,
      JobState.COMPLETED,
    ]);
    expect(jobs.jobs[1]?.dftCode).toBe(DftCode.QUANTUM_ESPRESSO);
    const missing = await c.fetchJobDetails({ pk: 42 });
    expect(missing.ok).toBe(false);
    expect(missing.error?.message).toBe("Job with pk=42 not found");
    const found = await c.fetchJobDetails({ pk: 1 });
    expect(found.ok).toBe(true);
    expect(found.data?.state).toBe(JobState.COMPLETED);
    expect(found.data?.keyResults).toEqual({ energy: -1.5 });
  });
});

describe.each<StreamBinding>(["native", "jsonrpc2"])(
  "TypeScript client → Python child over its stdio (%s)",
  (binding) => {
    it("calls, streams progress and cancels over the child's stdin/stdout, then the child exits when stdin closes", async () => {
      const child = spawn(
        python,
        ["-m", "protoipc.testing", "--bind", "stdio:", "--binding", binding],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
      const transport = createStreamTransport({
        connect: () => childStdioDuplex(child),
        binding,
      });
      try {
        const c = createClient(TestService, transport);
        expect((await c.echo({ value: "over stdio" })).value).toBe("over stdio");
        const call = c.work({ value: 100 });
        const got: number[] = [];
        for await (const p of call.progress) got.push(p.value);
        expect(got).toHaveLength(100);
        expect((await call.result).value).toBe("done");
        const hang = c.work({ value: 0 });
        const it = hang.progress[Symbol.asyncIterator]();
        expect((await it.next()).value?.value).toBe(1);
        hang.cancel();
        expect((await rejection(hang.result)).code).toBe(Code.Canceled);
      } finally {
        await transport.close();
      }
      child.stdin.end();
      expect(await exited).toBe(0);
    });
  },
);

describe("Python client → TypeScript server over a Unix socket", () => {
  let tmp: ReturnType<typeof privateDir>;

  beforeEach(() => {
    tmp = privateDir();
  });

  afterEach(() => {
    tmp.remove();
  });

  it("passes every Python client scenario over the native binding", async () => {
    const path = join(tmp.dir, "ts.sock");
    const server = await spawnReady(tsServer, ["--bind", `unix:${path}`, "--heartbeat-ms", "300"]);
    try {
      const { stdout } = await promisify(execFile)(
        python,
        [
          pyClient,
          "--address",
          `unix:${path}`,
          "--heartbeat-ms",
          "300",
          "--server-pid",
          String(server.pid),
        ],
        { timeout: 60_000 },
      );
      const results = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { scenario: string; ok: boolean; detail: string });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results).toHaveLength(10);
    } finally {
      await killAndWait(server, "SIGTERM");
    }
  });

  it("a Python crystalmath client calls a TypeScript daemon over jsonrpc2, which shuts down on request", async () => {
    const path = join(tmp.dir, "run", "crystalmath.sock");
    const daemon = await spawnReady(tsDaemon, ["--socket", path]);
    const exited = new Promise<number | null>((res) => daemon.once("exit", (code) => res(code)));
    try {
      const { stdout } = await promisify(execFile)(python, [pyCrystalClient, "--socket", path], {
        timeout: 60_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        pong: true,
        protocol: "json-rpc-2.0",
        transport: "unix-socket",
        action: "shutdown",
      });
      expect(await exited).toBe(0);
    } finally {
      await killAndWait(daemon);
    }
  });
});
