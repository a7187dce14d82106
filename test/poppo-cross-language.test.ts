/**
 * TypeScript ↔ Python over the command-frame binding, with real processes: the generated poppo
 * client in TypeScript against a Python daemon (test/fixtures/poppo_server.py), a Python client
 * (test/fixtures/poppo_client.py) against a TypeScript daemon, and a TypeScript client that
 * reconnects after the Python daemon is killed and restarted.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  DaemonService,
  type DaemonServiceClient,
  EventName,
  type WatchEventsResponseSchema,
} from "@protoipc/poppo-sdk";
import { Code, createClient, createServer, IpcError } from "@protoipc/runtime";
import {
  type CommandFrameTransportOptions,
  createCommandFrameServerTransport,
  createCommandFrameTransport,
} from "@protoipc/unix";
import { afterEach, describe, expect, it } from "vitest";
import { killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const pyServer = fileURLToPath(new URL("./fixtures/poppo_server.py", import.meta.url));
const pyClient = fileURLToPath(new URL("./fixtures/poppo_client.py", import.meta.url));
const SECRET = "cross-language-secret";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function socketPath(): string {
  const dir = privateDir("poppo-x-");
  cleanups.push(dir.remove);
  return join(dir.dir, "daemon.sock");
}

async function startPythonServer(path: string, ...methods: string[]): Promise<ChildProcess> {
  const child = await spawnReady(python, [pyServer, path, SECRET, ...methods], {
    interpreter: "none",
  });
  cleanups.push(() => killAndWait(child, "SIGTERM"));
  return child;
}

function client(path: string, options: Partial<CommandFrameTransportOptions> = {}) {
  const transport = createCommandFrameTransport({ endpoint: { path }, secret: SECRET, ...options });
  cleanups.push(() => transport.close());
  return createClient(DaemonService, transport) as DaemonServiceClient;
}

describe("TypeScript client → Python daemon over command frames", () => {
  it("runs commands, maps errors and receives events (HMAC)", async () => {
    const path = socketPath();
    const server = await startPythonServer(path);
    const poppo = client(path);
    const status = await poppo.daemonStatus();
    expect(status).toMatchObject({ status: "running", version: "py", pid: server.pid });
    expect(status.components).toEqual({ queue: { ok: true } });
    const err = await rejection(poppo.projectRemove({ projectId: "p9" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("project p9 not found");
    // Scaling to 0 sends count 0 (an optional field), not nothing.
    expect((await poppo.workerScale({ count: 0 })).result).toEqual({ count: 0, set: true });
    const events = poppo.watchEvents()[Symbol.asyncIterator]();
    const first = events.next();
    const reloaded = await poppo.daemonReload();
    expect(reloaded.result).toEqual({ reloaded: true, subscribers: 1 });
    const event = (await first).value;
    expect(event.event).toBe(EventName.DAEMON_STARTED);
    expect(event.data).toEqual({ by: "reload" });
    await events.return?.();
  });

  it("refuses a wrong secret and a static token the daemon does not accept", async () => {
    const path = socketPath();
    await startPythonServer(path);
    expect((await rejection(client(path, { secret: "wrong" }).daemonStatus())).code).toBe(
      Code.Unauthenticated,
    );
    expect((await rejection(client(path, { authMethod: "token" }).daemonStatus())).code).toBe(
      Code.Unauthenticated,
    );
  });

  it("authenticates with a static token when the daemon accepts one", async () => {
    const path = socketPath();
    await startPythonServer(path, "token");
    expect((await client(path, { authMethod: "token" }).daemonStatus()).status).toBe("running");
  });

  it("reconnects after the Python daemon is killed and restarted", async () => {
    const path = socketPath();
    const first = await startPythonServer(path);
    const poppo = client(path, { reconnect: { initialDelayMs: 20, maxDelayMs: 250 } });
    expect((await poppo.daemonStatus()).pid).toBe(first.pid);
    await killAndWait(first, "SIGKILL");
    // SIGKILL leaves the socket file behind: the restarted daemon reclaims it (nobody answers).
    expect(existsSync(path)).toBe(true);
    const pending = poppo.daemonStatus({}, { timeoutMs: 15_000 });
    pending.catch(() => {});
    const second = await startPythonServer(path);
    expect((await pending).pid).toBe(second.pid);
  });
});

describe("Python client → TypeScript daemon over command frames", () => {
  async function startTsServer(path: string, authMethods: ("hmac-sha256" | "token")[]) {
    const subscribers = new Set<(e: MessageInitShape<typeof WatchEventsResponseSchema>) => void>();
    const server = createServer(
      createCommandFrameServerTransport({
        endpoint: { path },
        services: [DaemonService],
        secret: SECRET,
        authMethods,
      }),
    );
    server.register(DaemonService, {
      daemonStatus: () => ({ status: "running", pid: process.pid }),
      projectAdd: (req) => ({ result: { added: req.path } }),
      projectRemove: (req) => {
        throw new IpcError(`project ${req.projectId} not found`, Code.NotFound);
      },
      daemonReload: () => {
        for (const s of subscribers) s({ event: EventName.TASK_COMPLETED, data: { by: "ts" } });
        return { result: { reloaded: true } };
      },
      async *watchEvents(_req, ctx) {
        const queue: MessageInitShape<typeof WatchEventsResponseSchema>[] = [];
        let wake: (() => void) | undefined;
        const push = (e: MessageInitShape<typeof WatchEventsResponseSchema>) => {
          queue.push(e);
          wake?.();
        };
        subscribers.add(push);
        ctx.signal.addEventListener("abort", () => wake?.());
        try {
          while (!ctx.signal.aborted) {
            const e = queue.shift();
            if (e !== undefined) yield e;
            else
              await new Promise<void>((r) => {
                wake = r;
              });
          }
        } finally {
          subscribers.delete(push);
        }
      },
    });
    await server.listen();
    cleanups.push(() => server.close());
  }

  async function runPythonClient(path: string, ...args: string[]) {
    const { stdout } = await promisify(execFile)(python, [pyClient, path, ...args], {
      timeout: 30_000,
    });
    return stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it("runs the scenario with HMAC", async () => {
    const path = socketPath();
    await startTsServer(path, ["hmac-sha256"]);
    const steps = await runPythonClient(path, SECRET);
    expect(steps).toEqual([
      { step: "status", status: "running", pid: process.pid },
      { step: "add", result: { added: "/from/python" } },
      { step: "remove", code: "NOT_FOUND", message: "project nope not found" },
      {
        step: "event",
        reloaded: { reloaded: true },
        event: "EVENT_NAME_TASK_COMPLETED",
        data: { by: "ts" },
      },
    ]);
  });

  it("runs it with a static token, and fails a wrong secret as UNAUTHENTICATED", async () => {
    const path = socketPath();
    await startTsServer(path, ["token"]);
    expect((await runPythonClient(path, SECRET, "token"))[0]).toEqual({
      step: "status",
      status: "running",
      pid: process.pid,
    });
    expect((await runPythonClient(path, "wrong", "token"))[0]).toMatchObject({
      step: "status",
      code: "UNAUTHENTICATED",
    });
  });
});
