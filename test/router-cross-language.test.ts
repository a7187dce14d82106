import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { UInt32ValueSchema } from "@bufbuild/protobuf/wkt";
import { createRouterClientTransport, createRouterServerTransport } from "@protoipc/router";
import { Code, createClient, createServer } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, killAndWait, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const protoipcBin = `${repo}packages/router/bin/protoipc.js`;
const pyServer = fileURLToPath(new URL("./fixtures/py_router_server.py", import.meta.url));
const pyClient = fileURLToPath(new URL("./fixtures/py_router_client.py", import.meta.url));

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(children.splice(0).map((c) => killAndWait(c)));
});

/**
 * Starts a router command and resolves with its bound endpoint once it prints
 * `protoipc router listening on <endpoint> …`; rejects if it exits first.
 */
function startRouterCommand(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} did not start within 15 s`)),
      15_000,
    );
    createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).on(
      "line",
      (line) => {
        const m = /^protoipc router listening on (\S+) /.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      },
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before listening`));
    });
  });
}

async function tsServer(address: string, name: string) {
  const server = createServer(createRouterServerTransport({ address, name }));
  server.register(TestService, { echo: (req) => ({ value: `${name}:${req.value}` }) });
  cleanups.push(() => server.close());
  await server.listen();
  return server;
}

describe("TypeScript and Python through the router", () => {
  it("the Python router command routes a TypeScript client to Python and TypeScript servers", async () => {
    const port = await freePort();
    const address = await startRouterCommand(python, [
      "-m",
      "protoipc",
      "router",
      "--bind",
      `tcp://127.0.0.1:${port}`,
      "--heartbeat-ms",
      "300",
    ]);
    expect(address).toBe(`tcp://127.0.0.1:${port}`);
    const py = await spawnReady(python, [pyServer, address, "py"], { interpreter: "none" });
    children.push(py);
    await tsServer(address, "ts");
    const t = createRouterClientTransport({ address });
    cleanups.push(() => t.close());
    const client = createClient(TestService, t);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.echo({ value: `${i}` })),
    );
    // Round robin over both servers; each answer belongs to its own request.
    expect(answers.filter((a) => a.value.startsWith("py:"))).toHaveLength(5);
    expect(answers.filter((a) => a.value.startsWith("ts:"))).toHaveLength(5);
    answers.forEach((a, i) => {
      expect(a.value.endsWith(`:${i}`)).toBe(true);
    });
    // Progress through the router from the Python server (native semantics pass through).
    const work = client.work({ value: 3 });
    const updates: number[] = [];
    for await (const p of work.progress) updates.push(p.value);
    expect(updates).toEqual([1, 2, 3]);
    expect((await work.result).value).toBe("done");
  });

  it("fans out a Python server's broadcasts to a TypeScript client, in order, and fails calls when it dies", async () => {
    const port = await freePort();
    const address = await startRouterCommand(process.execPath, [
      protoipcBin,
      "router",
      "--bind",
      `tcp://127.0.0.1:${port}`,
      "--heartbeat-ms",
      "300",
    ]);
    const py = await spawnReady(python, [pyServer, address, "py"], { interpreter: "none" });
    children.push(py);
    const t = createRouterClientTransport({ address });
    cleanups.push(() => t.close());
    await t.ready(10_000);
    const sequences: number[] = [];
    let missed = 0;
    const all = new Promise<void>((resolve) => {
      t.subscribe(UInt32ValueSchema, (m, d) => {
        expect(m.value).toBe(d.sequence);
        sequences.push(d.sequence);
        missed += d.missed;
        if (sequences.length === 200) resolve();
      });
    });
    const client = createClient(TestService, t);
    expect((await client.echo({ value: "publish-200" })).value).toBe("py:published");
    await all;
    expect(sequences).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(missed).toBe(0);

    // The Python server dies with a call pending: the router expires it after 3 heartbeats
    // and the caller gets Unavailable.
    const pending = client.echo({ value: "hang" }, { timeoutMs: 20_000 });
    await new Promise((r) => setImmediate(r));
    await killAndWait(py);
    const err = await rejection(pending);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/left the router \(heartbeat expired after \d+ ms\)/);
  });

  it("a Python client calls a TypeScript server through the TypeScript router command", async () => {
    const port = await freePort();
    const address = await startRouterCommand(process.execPath, [
      protoipcBin,
      "router",
      "--bind",
      `tcp://127.0.0.1:${port}`,
    ]);
    await tsServer(address, "ts");
    const { stdout } = await promisify(execFile)(python, [pyClient, address, "hello", "world"]);
    expect(stdout).toBe("ts:hello\nts:world\n");
  });
});
