/**
 * TypeScript ↔ Python over ZeroMQ, both directions, `ipc://` and `tcp://`: the same TestService
 * (packages/runtime/src/testing, python/src/protoipc/testing.py) served by one language and
 * called from the other, with real processes.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { type ClientTransport, Code, createClient } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { createZmqTransport } from "@protoipc/zeromq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort, killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const tsServer = fileURLToPath(new URL("./fixtures/test-server.ts", import.meta.url));
const pyClient = fileURLToPath(new URL("./fixtures/py_client_scenarios.py", import.meta.url));

const endpoints = {
  "ipc://": async (dir: string) => `ipc://${dir}/server.sock`,
  "tcp://": async () => `tcp://127.0.0.1:${await freePort()}`,
};

for (const [scheme, endpoint] of Object.entries(endpoints)) {
  describe(`TypeScript client → Python server over ${scheme}`, () => {
    let tmp: ReturnType<typeof privateDir>;
    let address: string;
    let server: ChildProcess | undefined;
    const transports: ClientTransport[] = [];
    const heartbeatIntervalMs = 300;

    beforeEach(async () => {
      tmp = privateDir();
      address = await endpoint(tmp.dir);
      server = await spawnReady(
        python,
        [
          "-m",
          "protoipc.testing",
          "--bind",
          address,
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
      const t = createZmqTransport({ address, heartbeatIntervalMs });
      transports.push(t);
      return createClient(TestService, t);
    }

    it("answers unary calls, with metadata", async () => {
      const c = client();
      expect((await c.echo({ value: "16-bit knight" })).value).toBe("16-bit knight");
      expect((await c.echo({ value: "metadata" }, { metadata: { "x-user": "ada" } })).value).toBe(
        "ada",
      );
    });

    it("streams 1000 progress updates in order, then the result", async () => {
      const call = client().work({ value: 1000 });
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
      const missing = await rejection(c.missing({ value: "x" }));
      expect(missing.code).toBe(Code.Unimplemented);
      expect(missing.rawMessage).toBe(
        "method /protoipc.test.TestService/Missing is not implemented",
      );
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

    it("expires a deadline: the caller gets DeadlineExceeded and the Python handler is cancelled", async () => {
      const c = client();
      expect((await rejection(c.echo({ value: "hang" }, { timeoutMs: 200 }))).code).toBe(
        Code.DeadlineExceeded,
      );
      await expect
        .poll(async () => (await c.echo({ value: "last-cancel" })).value)
        .toMatch(/^(canceled|deadline_exceeded)$/);
    });

    it("fails a pending call with Unavailable within 3 heartbeat intervals when the Python process is killed", async () => {
      const c = client();
      const call = c.work({ value: 0 }, { timeoutMs: 60_000 });
      const it = call.progress[Symbol.asyncIterator]();
      expect((await it.next()).value?.value).toBe(1);
      await killAndWait(server!);
      const killedAt = Date.now();
      const err = await rejection(call.result);
      expect(err.code).toBe(Code.Unavailable);
      expect(Date.now() - killedAt).toBeLessThan(3 * heartbeatIntervalMs);
    });
  });

  describe(`Python client → TypeScript server over ${scheme}`, () => {
    let tmp: ReturnType<typeof privateDir>;
    let address: string;
    let server: ChildProcess | undefined;

    beforeEach(async () => {
      tmp = privateDir();
      address = await endpoint(tmp.dir);
      server = await spawnReady(tsServer, ["--bind", address, "--heartbeat-ms", "300"]);
    });

    afterEach(async () => {
      if (server) await killAndWait(server, "SIGTERM");
      tmp.remove();
    });

    it("passes every Python client scenario: unary, progress, streams, errors, deadline, cancellation, server killed", async () => {
      const { stdout } = await promisify(execFile)(
        python,
        [
          pyClient,
          "--address",
          address,
          "--heartbeat-ms",
          "300",
          "--server-pid",
          String(server!.pid),
        ],
        { timeout: 60_000 },
      );
      const results = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { scenario: string; ok: boolean; detail: string });
      const failed = results.filter((r) => !r.ok);
      expect(failed).toEqual([]);
      expect(results.map((r) => r.scenario)).toEqual([
        "unary",
        "metadata",
        "progress_1000_in_order",
        "server_streaming",
        "error_code_message_details",
        "unknown_error",
        "unimplemented",
        "deadline_exceeded_cancels_handler",
        "task_cancellation_reaches_handler",
        "server_killed_unavailable",
      ]);
    });
  });
}
