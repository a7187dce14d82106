/**
 * The command-frame binding (PoppoBuilder, PROTOCOLS.md §4) with the generated poppo SDK over
 * real Unix sockets: authentication (HMAC and static token), the auth gate, malformed and
 * oversized frames, events, reconnects, and a stand-in of the existing daemon's wire.
 */
import { once } from "node:events";
import { existsSync, linkSync, renameSync } from "node:fs";
import { stat } from "node:fs/promises";
import { connect, createServer as createNetServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  DaemonService,
  type DaemonServiceClient,
  type DaemonServiceHandler,
  defaultDaemonEndpoint,
  EventName,
  type WatchEventsResponse,
  type WatchEventsResponseSchema,
} from "@protoipc/poppo-sdk";
import {
  Code,
  createClient,
  createServer,
  type HandlerContext,
  IpcError,
  type Server as IpcServer,
} from "@protoipc/runtime";
import {
  type CommandFrameServerTransportOptions,
  type CommandFrameTransportOptions,
  createCommandFrameServerTransport,
  createCommandFrameTransport,
  createLengthPrefixFramer,
  POPPO_MAGIC,
} from "@protoipc/unix";
import { afterEach, describe, expect, it } from "vitest";
import { privateDir, rejection } from "./helpers.js";

const SECRET = "s3cret-token-for-tests";

/** Awaits `p`, expecting an IpcError with `code` (and a raw message matching `text`). */
async function expectIpcError(p: Promise<unknown>, code: Code, text?: RegExp) {
  const err = await rejection(p);
  expect(Code[err.code]).toBe(Code[code]);
  if (text !== undefined) expect(err.rawMessage).toMatch(text);
  return err;
}
const framer = createLengthPrefixFramer({ magic: POPPO_MAGIC });

type EventInit = MessageInitShape<typeof WatchEventsResponseSchema>;

/** A tiny broadcast source: every subscriber gets every event published after it subscribed. */
function createEventSource() {
  const listeners = new Set<(e: EventInit) => void>();
  return {
    publish(e: EventInit) {
      for (const l of listeners) l(e);
    },
    get subscribers() {
      return listeners.size;
    },
    async *subscribe(signal: AbortSignal): AsyncIterable<EventInit> {
      const queue: EventInit[] = [];
      let wake: (() => void) | undefined;
      const l = (e: EventInit) => {
        queue.push(e);
        wake?.();
      };
      listeners.add(l);
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      try {
        while (!signal.aborted) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      } finally {
        listeners.delete(l);
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

function handler(events: ReturnType<typeof createEventSource>): Partial<DaemonServiceHandler> {
  return {
    daemonStatus: () => ({
      status: "running",
      version: "3.1.0",
      pid: process.pid,
      config: { port: 3003, nested: { ok: true } },
    }),
    projectAdd: (req) => ({ result: { added: req.path, name: req.name ?? "(derived)" } }),
    taskList: (req) => ({ result: { limit: req.limit ?? 100, status: req.status ?? null } }),
    async taskCancel(_req, ctx: HandlerContext) {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      return {};
    },
    watchEvents: (_req, ctx) => events.subscribe(ctx.signal),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(
  path: string,
  options: Partial<CommandFrameServerTransportOptions> = {},
  events = createEventSource(),
): Promise<{ server: IpcServer; events: ReturnType<typeof createEventSource> }> {
  const server = createServer(
    createCommandFrameServerTransport({
      endpoint: { path },
      services: [DaemonService],
      secret: SECRET,
      ...options,
    }),
  );
  server.register(DaemonService, handler(events));
  await server.listen();
  cleanups.push(() => server.close());
  return { server, events };
}

function client(path: string, options: Partial<CommandFrameTransportOptions> = {}) {
  const transport = createCommandFrameTransport({ endpoint: { path }, secret: SECRET, ...options });
  cleanups.push(() => transport.close());
  return createClient(DaemonService, transport) as DaemonServiceClient;
}

function socketPath(): string {
  const dir = privateDir("poppo-");
  cleanups.push(dir.remove);
  return join(dir.dir, "daemon.sock");
}

/** A raw socket speaking frames by hand, to see exactly what the server sends. */
async function rawConnection(path: string) {
  const socket = connect({ path });
  await once(socket, "connect");
  const decoder = framer.createDecoder();
  const inbox: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) inbox.push(JSON.parse(new TextDecoder().decode(f)));
    wake?.();
  });
  socket.on("close", () => {
    closed = true;
    wake?.();
  });
  socket.on("error", () => {});
  cleanups.push(() => {
    socket.destroy();
  });
  return {
    socket,
    send(msg: unknown) {
      for (const c of framer.encode(new TextEncoder().encode(JSON.stringify(msg)))) socket.write(c);
    },
    async next(): Promise<Record<string, unknown>> {
      while (inbox.length === 0) {
        if (closed) throw new Error("connection closed with no message");
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      return inbox.shift()!;
    },
    async closed(): Promise<void> {
      while (!closed) {
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
    get inbox() {
      return inbox;
    },
  };
}

describe("command-frame binding with the poppo SDK", () => {
  it("authenticates with mutual HMAC by default and runs commands by wire name", async () => {
    const path = socketPath();
    await startServer(path);
    const poppo = client(path);
    const status = await poppo.daemonStatus();
    expect(status.status).toBe("running");
    expect(status.pid).toBe(process.pid);
    expect(status.config).toEqual({ port: 3003, nested: { ok: true } });
    const added = await poppo.projectAdd({ path: "/src/app" });
    expect(added.result).toEqual({ added: "/src/app", name: "(derived)" });
    // Optional fields left unset are not sent: the daemon applies its defaults (limit 100).
    expect((await poppo.taskList({ status: "failed" })).result).toEqual({
      limit: 100,
      status: "failed",
    });
  });

  it("runs client and server interceptors around commands", async () => {
    const path = socketPath();
    const seen: string[] = [];
    const server = createServer(
      createCommandFrameServerTransport({
        endpoint: { path },
        services: [DaemonService],
        secret: SECRET,
      }),
      {
        interceptors: [
          (next) => async (req) => {
            seen.push(`server ${req.method.wireName ?? req.method.name}`);
            if (req.method.wireName === "project.add") {
              throw new IpcError("adding is not allowed here", Code.PermissionDenied);
            }
            return next(req);
          },
        ],
      },
    );
    server.register(DaemonService, handler(createEventSource()));
    await server.listen();
    cleanups.push(() => server.close());
    const transport = createCommandFrameTransport({ endpoint: { path }, secret: SECRET });
    cleanups.push(() => transport.close());
    const poppo = createClient(DaemonService, transport, {
      interceptors: [
        (next) => async (req) => {
          seen.push(`client ${req.method.wireName}`);
          return next(req);
        },
      ],
    }) as DaemonServiceClient;
    expect((await poppo.daemonStatus()).status).toBe("running");
    await expectIpcError(poppo.projectAdd({ path: "/x" }), Code.PermissionDenied, /not allowed/);
    // The event source (WatchEvents) starts when the connection authenticates, through the
    // interceptors too.
    expect(seen).toEqual([
      "client daemon.status",
      "server WatchEvents",
      "server daemon.status",
      "client project.add",
      "server project.add",
    ]);
  });

  it("puts version, timestamp, and args as both args and payload on the wire", async () => {
    const path = socketPath();
    await startServer(path, { authMethods: ["token"] });
    const raw = await rawConnection(path);
    const welcome = await raw.next();
    expect(welcome).toMatchObject({ type: "welcome", version: "1.0.0", authRequired: true });
    expect(typeof welcome.timestamp).toBe("number");
    raw.send({ type: "auth", id: "a1", token: SECRET });
    expect(await raw.next()).toMatchObject({ type: "auth-success", id: "a1", version: "1.0.0" });
    // The existing daemon reads `payload`; a server built here accepts either key.
    raw.send({ type: "command", id: "c1", command: "project.add", payload: { path: "/p" } });
    expect(await raw.next()).toMatchObject({
      type: "response",
      id: "c1",
      success: true,
      result: { added: "/p" },
    });
    raw.send({ type: "command", id: "c2", command: "no.such", args: {} });
    expect(await raw.next()).toMatchObject({
      type: "error",
      id: "c2",
      error: { code: "UNIMPLEMENTED", message: 'unknown command "no.such"' },
    });
  });

  it("answers every message before auth with Authentication required", async () => {
    const path = socketPath();
    await startServer(path);
    const raw = await rawConnection(path);
    const welcome = await raw.next();
    expect(typeof welcome.challenge).toBe("string");
    raw.send({ type: "command", id: "c1", command: "daemon.status", args: {} });
    expect(await raw.next()).toMatchObject({
      type: "error",
      id: "c1",
      error: { message: "Authentication required", code: "UNAUTHENTICATED" },
    });
    raw.send({ type: "event", event: "daemon.started", data: {} });
    expect(await raw.next()).toMatchObject({
      type: "error",
      error: { message: "Authentication required" },
    });
  });

  it("refuses a wrong secret with HMAC, and a static token the server does not accept", async () => {
    const path = socketPath();
    await startServer(path);
    await expectIpcError(client(path, { secret: "wrong" }).daemonStatus(), Code.Unauthenticated);
    const token = client(path, { authMethod: "token" });
    await expectIpcError(token.daemonStatus(), Code.Unauthenticated, /not accepted/);
    // The server keeps serving the right secret.
    expect((await client(path).daemonStatus()).status).toBe("running");
  });

  it("refuses a wrong static token and closes that connection", async () => {
    const path = socketPath();
    await startServer(path, { authMethods: ["token"] });
    await expectIpcError(
      client(path, { secret: "wrong", authMethod: "token" }).daemonStatus(),
      Code.Unauthenticated,
      /authentication failed/,
    );
    const raw = await rawConnection(path);
    await raw.next();
    raw.send({ type: "auth", id: "a", token: `${SECRET}x` });
    expect(await raw.next()).toMatchObject({ type: "error", error: { code: "UNAUTHENTICATED" } });
    await raw.closed();
    expect((await client(path, { authMethod: "token" }).daemonStatus()).status).toBe("running");
  });

  it("rejects a server that cannot prove the secret (mutual HMAC)", async () => {
    const path = socketPath();
    // A fake server that accepts any auth without proving anything.
    const fake = createNetServer((s) => {
      const d = framer.createDecoder();
      const send = (m: object) => {
        for (const c of framer.encode(new TextEncoder().encode(JSON.stringify(m)))) s.write(c);
      };
      send({ type: "welcome", version: "1.0.0", authRequired: true, challenge: "x".repeat(44) });
      s.on("data", (chunk) => {
        for (const f of d.push(chunk)) {
          const m = JSON.parse(new TextDecoder().decode(f));
          if (m.type === "auth") send({ type: "auth-success", id: m.id, mac: "forged" });
        }
      });
      s.on("error", () => {});
    });
    await listen(fake, path);
    await expectIpcError(client(path).daemonStatus(), Code.Unauthenticated, /did not prove/);
  });

  it("refuses a peer of another major protocol version, either way", async () => {
    const path = socketPath();
    await startServer(path, { authMethods: ["token"] });
    const raw = await rawConnection(path);
    await raw.next();
    raw.send({ type: "auth", id: "a", token: SECRET, version: "2.0.0" });
    expect(await raw.next()).toMatchObject({
      type: "error",
      id: "a",
      error: { code: "FAILED_PRECONDITION" },
    });
    const other = socketPath();
    const fake = createNetServer((s) => {
      for (const c of framer.encode(
        new TextEncoder().encode(JSON.stringify({ type: "welcome", version: "2.0.0" })),
      ))
        s.write(c);
      s.on("error", () => {});
    });
    await listen(fake, other);
    await expectIpcError(client(other).daemonStatus(), Code.FailedPrecondition, /version 2\.0\.0/);
  });

  it("answers a malformed frame with an error and closes it, serving other clients", async () => {
    const path = socketPath();
    await startServer(path);
    const good = client(path);
    expect((await good.daemonStatus()).status).toBe("running");
    const raw = await rawConnection(path);
    await raw.next();
    raw.socket.write(Buffer.from("GARBAGE that is not a frame"));
    expect(await raw.next()).toMatchObject({
      type: "error",
      error: { code: "INVALID_ARGUMENT" },
    });
    await raw.closed();
    const json = await rawConnection(path);
    await json.next();
    for (const c of framer.encode(new TextEncoder().encode("{not json"))) json.socket.write(c);
    expect((await json.next()).error).toMatchObject({ code: "INVALID_ARGUMENT" });
    await json.closed();
    expect((await good.daemonStatus()).status).toBe("running");
  });

  it("rejects a frame over maxFrameBytes from its header, before the payload arrives", async () => {
    const path = socketPath();
    await startServer(path, { maxFrameBytes: 1024 });
    const raw = await rawConnection(path);
    await raw.next();
    // Declares 4 GiB and sends nothing more: the answer comes from the header alone.
    raw.socket.write(Buffer.concat([Buffer.from("POPPO"), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    expect(await raw.next()).toMatchObject({
      type: "error",
      error: {
        code: "RESOURCE_EXHAUSTED",
        message: "frame of 4294967295 bytes exceeds maxFrameBytes 1024",
      },
    });
    await raw.closed();
    // A client whose request is too large fails that call only.
    const poppo = client(path, { maxFrameBytes: 1024 });
    await expectIpcError(poppo.projectAdd({ path: "x".repeat(2000) }), Code.ResourceExhausted);
    expect((await poppo.daemonStatus()).status).toBe("running");
  });

  it("delivers events to authenticated clients only, with names from the schema", async () => {
    const path = socketPath();
    const { events } = await startServer(path);
    const poppo = client(path);
    const stream = poppo.watchEvents({})[Symbol.asyncIterator]();
    const first = stream.next();
    // An unauthenticated connection is open while events flow.
    const raw = await rawConnection(path);
    await raw.next();
    await expect.poll(() => events.subscribers).toBe(1);
    events.publish({ event: EventName.TASK_STARTED, data: { taskId: "t1" }, id: "e1" });
    const got = (await first).value as WatchEventsResponse;
    expect(got.event).toBe(EventName.TASK_STARTED);
    expect(got.data).toEqual({ taskId: "t1" });
    expect(got.id).toBe("e1");
    // The raw, unauthenticated connection saw no event; a command after the publish proves
    // the server has written everything it would write to it.
    raw.send({ type: "command", id: "probe", command: "daemon.status" });
    expect(await raw.next()).toMatchObject({ type: "error", id: "probe" });
    expect(raw.inbox).toEqual([]);
    await stream.return?.();
  });

  it("sends the event's wire name", async () => {
    const path = socketPath();
    const { events } = await startServer(path, { authMethods: ["token"] });
    const raw = await rawConnection(path);
    await raw.next();
    raw.send({ type: "auth", id: "a", token: SECRET });
    await raw.next();
    await expect.poll(() => events.subscribers).toBe(1);
    events.publish({ event: EventName.PROJECT_STATUS_CHANGED, data: { projectId: "p" } });
    expect(await raw.next()).toMatchObject({
      type: "event",
      event: "project.status-changed",
      data: { projectId: "p" },
      version: "1.0.0",
    });
  });

  it("closes a connection that does not authenticate in time", async () => {
    const path = socketPath();
    await startServer(path, { authTimeoutMs: 50 });
    const raw = await rawConnection(path);
    await raw.next();
    expect(await raw.next()).toMatchObject({
      type: "error",
      error: { code: "UNAUTHENTICATED", message: "authentication timed out after 50 ms" },
    });
    await raw.closed();
  });

  it("bounds the commands running per connection", async () => {
    const path = socketPath();
    await startServer(path, { maxCallsPerConnection: 1 });
    const poppo = client(path);
    const abort = new AbortController();
    const blocked = poppo.taskCancel({ taskId: "t" }, { signal: abort.signal });
    blocked.catch(() => {});
    await expectIpcError(poppo.daemonStatus(), Code.ResourceExhausted, /maxCallsPerConnection 1/);
    // Another connection has its own budget.
    expect((await client(path).daemonStatus()).status).toBe("running");
    abort.abort();
    await expectIpcError(blocked, Code.Canceled);
  });

  it("reclaims a stale socket file and refuses to take a live server's", async () => {
    const path = socketPath();
    // A socket file nobody listens on, as a killed daemon leaves behind: listen, keep a second
    // name for the socket inode (closing removes the first), close, put it back.
    const stale = createNetServer();
    await new Promise<void>((resolve) => stale.listen({ path }, resolve));
    linkSync(path, `${path}.keep`);
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    renameSync(`${path}.keep`, path);
    expect(existsSync(path)).toBe(true);
    await startServer(path);
    expect((await client(path).daemonStatus()).status).toBe("running");
    const second = createServer(
      createCommandFrameServerTransport({
        endpoint: { path },
        services: [DaemonService],
        secret: SECRET,
      }),
    );
    await expectIpcError(second.listen(), Code.AlreadyExists);
    await second.close();
    expect((await client(path).daemonStatus()).status).toBe("running");
  });

  it("makes the socket file 0600 and serves over TCP too", async () => {
    const path = socketPath();
    await startServer(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const transport = createCommandFrameServerTransport({
      endpoint: { host: "127.0.0.1", port: 0 },
      services: [DaemonService],
      secret: SECRET,
    });
    const server = createServer(transport);
    server.register(DaemonService, handler(createEventSource()));
    await server.listen();
    cleanups.push(() => server.close());
    const t = createCommandFrameTransport({ endpoint: transport.endpoint!, secret: SECRET });
    cleanups.push(() => t.close());
    const poppo = createClient(DaemonService, t) as DaemonServiceClient;
    expect((await poppo.daemonStatus()).status).toBe("running");
  });

  it("times a command out with its deadline and aborts the handler", async () => {
    const path = socketPath();
    await startServer(path);
    await expectIpcError(
      client(path).taskCancel({ taskId: "t" }, { timeoutMs: 200 }),
      Code.DeadlineExceeded,
    );
  });

  it("reconnects after the server restarts on the same socket", async () => {
    const path = socketPath();
    const first = await startServer(path);
    const poppo = client(path, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    expect((await poppo.daemonStatus()).status).toBe("running");
    await first.server.close();
    // Nothing listens now: a call waits and retries with backoff until the server is back.
    const pending = poppo.daemonStatus({}, { timeoutMs: 10_000 });
    pending.catch(() => {}); // awaited below; a failure must not surface as unhandled first
    await startServer(path);
    expect((await pending).status).toBe("running");
  });

  it("lets a subscription wait for the daemon, and ends it when the connection is lost", async () => {
    const path = socketPath();
    const poppo = client(path, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    const stream = poppo.watchEvents()[Symbol.asyncIterator]();
    const first = stream.next();
    const { server, events } = await startServer(path);
    await expect.poll(() => events.subscribers).toBe(1);
    events.publish({ event: EventName.DAEMON_STARTED });
    expect(((await first).value as WatchEventsResponse).event).toBe(EventName.DAEMON_STARTED);
    const ended = expectIpcError(stream.next(), Code.Unavailable);
    await server.close();
    await ended;
  });

  it("sends a side-effect-free command again after a restart; fails one that may have run", async () => {
    const path = socketPath();
    let running = 0;
    let bothRunning!: () => void;
    const started = new Promise<void>((r) => {
      bothRunning = r;
    });
    const hang = async (_req: unknown, ctx: HandlerContext) => {
      if (++running === 2) bothRunning();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      return {};
    };
    const first = createServer(
      createCommandFrameServerTransport({
        endpoint: { path },
        services: [DaemonService],
        secret: SECRET,
      }),
    );
    first.register(DaemonService, { logsTail: hang, taskCancel: hang });
    await first.listen();
    cleanups.push(() => first.close());
    const poppo = client(path, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    // logs.tail is NO_SIDE_EFFECTS in the schema; task.cancel is not.
    // The restarted daemon has no logsTail handler: UNIMPLEMENTED proves the command reached it.
    const tail = expectIpcError(
      poppo.logsTail({ lines: 5 }, { timeoutMs: 10_000 }),
      Code.Unimplemented,
      /LogsTail/,
    );
    const cancel = expectIpcError(
      poppo.taskCancel({ taskId: "t" }, { timeoutMs: 10_000 }),
      Code.Unavailable,
    );
    await started;
    await first.close();
    await cancel;
    await startServer(path);
    await tail;
  });

  it("fails calls with Unavailable when nothing listens until the deadline", async () => {
    const path = socketPath();
    await expectIpcError(
      client(path, { reconnect: { initialDelayMs: 10, maxDelayMs: 50 } }).daemonStatus(
        {},
        { timeoutMs: 300 },
      ),
      Code.DeadlineExceeded,
    );
  });
});

describe("createCommandFrameTransport options", () => {
  it("refuses a socket path the platform cannot bind", () => {
    expect(() =>
      createCommandFrameTransport({ endpoint: { path: `/tmp/${"x".repeat(200)}.sock` } }),
    ).toThrow(/socket path of \d+ bytes exceeds the limit/);
  });
});

describe("defaultDaemonEndpoint", () => {
  it("is ~/.poppobuilder/daemon.sock, or the named pipe on Windows", () => {
    expect(defaultDaemonEndpoint("/home/ada", "linux")).toEqual({
      path: "/home/ada/.poppobuilder/daemon.sock",
    });
    expect(defaultDaemonEndpoint("C:\\Users\\ada", "win32")).toEqual({
      path: "\\\\.\\pipe\\poppobuilder-daemon",
    });
  });
});

describe("against a stand-in of the existing PoppoBuilder daemon", () => {
  /**
   * A raw node:net server written from PROTOCOLS.md §4: POPPO frames, welcome with
   * authRequired, static token auth, commands read from `payload`, error replies that may lack
   * `message`, events broadcast to authenticated clients.
   */
  async function startLegacyDaemon(path: string) {
    const clients = new Set<{ socket: Socket; authed: boolean }>();
    const send = (s: Socket, m: object) => {
      const json = JSON.stringify({ ...m, version: "1.0.0", timestamp: Date.now() });
      const body = Buffer.from(json, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      s.write(Buffer.concat([Buffer.from("POPPO"), len, body]));
    };
    const server = createNetServer((socket) => {
      const c = { socket, authed: false };
      clients.add(c);
      let buf = Buffer.alloc(0);
      send(socket, { type: "welcome", authRequired: true });
      socket.on("data", (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 9 && buf.subarray(0, 5).toString() === "POPPO") {
          const n = buf.readUInt32BE(5);
          if (buf.length < 9 + n) break;
          const msg = JSON.parse(buf.subarray(9, 9 + n).toString("utf8"));
          buf = buf.subarray(9 + n);
          if (msg.type === "auth") {
            if (msg.token === SECRET) {
              c.authed = true;
              send(socket, { type: "auth-success", id: msg.id });
            } else send(socket, { type: "error", id: msg.id, error: { message: "Invalid token" } });
          } else if (!c.authed) {
            send(socket, {
              type: "error",
              id: msg.id,
              error: { message: "Authentication required" },
            });
          } else if (msg.command === "project.status") {
            const { projectId } = msg.payload;
            send(socket, {
              type: "response",
              id: msg.id,
              success: true,
              result: { id: projectId, status: "active" },
            });
          } else if (msg.command === "project.list") {
            send(socket, {
              type: "response",
              id: msg.id,
              success: true,
              result: {
                count: 1,
                projects: [
                  {
                    id: "p1",
                    name: "app",
                    path: "/src/app",
                    status: "active",
                    enabled: true,
                    lastActivity: null,
                  },
                ],
              },
            });
          } else {
            // An error without `message`, code defaulted as the daemon does.
            send(socket, { type: "error", id: msg.id, error: { code: "UNKNOWN_ERROR" } });
          }
        }
      });
      socket.on("close", () => clients.delete(c));
      socket.on("error", () => {});
    });
    await listen(server, path);
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const c of clients) c.socket.destroy();
          server.close(() => r());
        }),
    );
    return {
      broadcast(event: string, data: object) {
        for (const c of clients) if (c.authed) send(c.socket, { type: "event", event, data });
      },
      get authed() {
        return [...clients].filter((c) => c.authed).length;
      },
    };
  }

  it("speaks to it with the generated client and a static token", async () => {
    const path = socketPath();
    const daemon = await startLegacyDaemon(path);
    const poppo = client(path, { authMethod: "token" });
    expect((await poppo.projectStatus({ projectId: "p1" })).result).toEqual({
      id: "p1",
      status: "active",
    });
    const list = await poppo.projectList();
    expect(list.count).toBe(1);
    expect(list.projects[0]).toMatchObject({
      id: "p1",
      name: "app",
      status: "active",
      enabled: true,
    });
    const err = await expectIpcError(poppo.queueStatus(), Code.Unknown, /without a message/);
    expect(err.metadata["error-code"]).toBe("UNKNOWN_ERROR");
    const stream = poppo.watchEvents()[Symbol.asyncIterator]();
    const next = stream.next();
    await expect.poll(() => daemon.authed).toBe(1);
    daemon.broadcast("daemon.stopping", { reason: "test" });
    const ev = (await next).value as WatchEventsResponse;
    expect(ev.event).toBe(EventName.DAEMON_STOPPING);
    expect(ev.data).toEqual({ reason: "test" });
    await stream.return?.();
  });

  it("fails HMAC against it with a clear error", async () => {
    const path = socketPath();
    await startLegacyDaemon(path);
    await expectIpcError(client(path).projectList(), Code.Unauthenticated, /authMethod "token"/);
  });

  it("reports its bad-token reply as Unauthenticated", async () => {
    const path = socketPath();
    await startLegacyDaemon(path);
    await expectIpcError(
      client(path, { authMethod: "token", secret: "nope" }).projectList(),
      Code.Unauthenticated,
      /Invalid token/,
    );
  });
});

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ path }, () => resolve());
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
        }),
    );
  });
}
