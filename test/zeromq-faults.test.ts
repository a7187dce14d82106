/**
 * Faults over real ZeroMQ sockets: a server process killed mid-call, malformed and oversized
 * frames from a raw peer, stale deadlines, unknown methods, a server restart.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { PixelService } from "@protoipc/pixels-sdk";
import {
  type ClientTransport,
  Code,
  createClient,
  createServer,
  decodeEnvelope,
  encodeEnvelope,
  FrameKind,
  type Server,
} from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { createZmqServerTransport, createZmqTransport } from "@protoipc/zeromq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const serverScript = fileURLToPath(new URL("./fixtures/test-server.ts", import.meta.url));

describe("ZeroMQ faults", () => {
  let tmp: ReturnType<typeof privateDir>;
  let address: string;
  const children: ChildProcess[] = [];
  const transports: ClientTransport[] = [];
  const servers: Server[] = [];
  const dealers: Dealer[] = [];

  beforeEach(() => {
    tmp = privateDir();
    address = `ipc://${tmp.dir}/server.sock`;
  });

  afterEach(async () => {
    for (const d of dealers.splice(0)) d.close();
    for (const t of transports.splice(0)) await t.close();
    for (const s of servers.splice(0)) await s.close();
    for (const c of children.splice(0)) await killAndWait(c);
    tmp.remove();
  });

  function connect(heartbeatIntervalMs = 1000): ClientTransport {
    const t = createZmqTransport({ address, heartbeatIntervalMs });
    transports.push(t);
    return t;
  }

  /** Starts an in-process TestService server that counts handler runs. */
  async function startServer(heartbeatIntervalMs = 1000) {
    const runs: string[] = [];
    const server = createServer(createZmqServerTransport({ bind: address, heartbeatIntervalMs }));
    server.register(TestService, {
      echo: (req) => {
        runs.push(req.value);
        return { value: req.value };
      },
      async work(req, ctx) {
        for (let i = 1; i <= req.value; i++) await ctx.progress({ value: i });
        await new Promise((r) => setTimeout(r, req.value));
        return { value: "done" };
      },
    });
    await server.listen();
    servers.push(server);
    return runs;
  }

  /** A raw DEALER speaking envelopes by hand, to send what a well-behaved client never would. */
  function rawDealer(): Dealer {
    const d = new Dealer({ linger: 0 });
    d.connect(address);
    dealers.push(d);
    return d;
  }

  async function rawRequest(d: Dealer, frame: Uint8Array) {
    await d.send(frame);
    const [reply] = await d.receive();
    return decodeEnvelope(reply!);
  }

  it("fails a pending progress call with Unavailable within 3 heartbeat intervals when the server process is killed", async () => {
    const heartbeatIntervalMs = 300;
    const child = await spawnReady(serverScript, [
      "--bind",
      address,
      "--heartbeat-ms",
      String(heartbeatIntervalMs),
    ]);
    children.push(child);
    const client = createClient(TestService, connect(heartbeatIntervalMs));
    const call = client.work({ value: 0 }, { timeoutMs: 60_000 });
    const it = call.progress[Symbol.asyncIterator]();
    expect((await it.next()).value?.value).toBe(1); // the handler is running
    await killAndWait(child);
    const killedAt = Date.now();
    const err = await rejection(call.result);
    const detectedAfterMs = Date.now() - killedAt;
    expect(err.code).toBe(Code.Unavailable);
    expect(detectedAfterMs).toBeLessThan(3 * heartbeatIntervalMs);
  });

  it("keeps a slow call alive through heartbeats", async () => {
    await startServer(100);
    const client = createClient(TestService, connect(100));
    // The handler sleeps 800 ms (8 heartbeat intervals) after its updates.
    expect((await client.work({ value: 800 }, { timeoutMs: 10_000 }).result).value).toBe("done");
  });

  it("answers Unimplemented for a service the server does not have", async () => {
    await startServer();
    const pixels = createClient(PixelService, connect());
    const err = await rejection(pixels.ping({}));
    expect(err.code).toBe(Code.Unimplemented);
    expect(err.rawMessage).toBe("method /pixels.v1.PixelService/Ping is not implemented");
  });

  it("answers a garbage frame with InvalidArgument and goes on serving other clients", async () => {
    await startServer();
    const d = rawDealer();
    const reply = await rawRequest(d, new Uint8Array([0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
    expect(reply.kind).toBe(FrameKind.ERROR);
    expect(reply.error?.code).toBe(Code.InvalidArgument);
    expect(reply.error?.message).toMatch(/^malformed envelope/);
    const client = createClient(TestService, connect());
    expect((await client.echo({ value: "still serving" })).value).toBe("still serving");
  });

  it("answers an oversized frame with ResourceExhausted naming the request, and goes on serving", async () => {
    await startServer();
    const d = rawDealer();
    const big = encodeEnvelope({
      requestId: 42,
      kind: FrameKind.REQUEST,
      method: "/protoipc.test.TestService/Echo",
      deadlineUnixMs: Date.now() + 10_000,
      payload: new Uint8Array(4 * 1024 * 1024 + 1),
    });
    const reply = await rawRequest(d, big);
    expect(reply.kind).toBe(FrameKind.ERROR);
    expect(reply.requestId).toBe(42);
    expect(reply.error?.code).toBe(Code.ResourceExhausted);
    expect(reply.error?.message).toMatch(/exceeds maxFrameBytes 4194304/);
    const client = createClient(TestService, connect());
    expect((await client.echo({ value: "after" })).value).toBe("after");
  });

  it("does not execute a request whose deadline passed before it arrived", async () => {
    const runs = await startServer();
    const d = rawDealer();
    const reply = await rawRequest(
      d,
      encodeEnvelope({
        requestId: 7,
        kind: FrameKind.REQUEST,
        method: "/protoipc.test.TestService/Echo",
        deadlineUnixMs: Date.now() - 1_000,
        payload: toBinary(StringValueSchema, create(StringValueSchema, { value: "stale" })),
      }),
    );
    expect(reply.requestId).toBe(7);
    expect(reply.error?.code).toBe(Code.DeadlineExceeded);
    expect(reply.error?.message).toMatch(/not executed/);
    const client = createClient(TestService, connect());
    await client.echo({ value: "fresh" });
    expect(runs).toEqual(["fresh"]);
  });

  it("reconnects by itself after the server restarts on the same address", async () => {
    const child = await spawnReady(serverScript, ["--bind", address, "--heartbeat-ms", "200"]);
    children.push(child);
    const client = createClient(TestService, connect(200));
    expect((await client.echo({ value: "before" })).value).toBe("before");
    await killAndWait(child, "SIGTERM");
    const again = await spawnReady(serverScript, ["--bind", address, "--heartbeat-ms", "200"]);
    children.push(again);
    expect((await client.echo({ value: "after" }, { timeoutMs: 10_000 })).value).toBe("after");
  });
});
