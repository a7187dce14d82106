import { randomBytes } from "node:crypto";
import { BytesValueSchema, UInt32ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createServer, IpcError, routerSchema } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { createRouter, type PeerLeftEvent, type RouterHandle } from "./router.js";
import {
  decodeRouterFrame,
  encodeRouterFrame,
  HEARTBEAT_FRAME,
  type RouterFrame,
} from "./router-frames.js";
import { createRouterPeer, type RouterPeer, type RouterPeerEvents } from "./router-peer.js";
import { createRouterClientTransport, createRouterServerTransport } from "./router-transport.js";

/** Things to close after each test, last first. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startRouter(
  options: Partial<Parameters<typeof createRouter>[0]> = {},
): Promise<RouterHandle> {
  const router = createRouter({ bind: "tcp://127.0.0.1:*", ...options });
  cleanups.push(() => router.close());
  await router.start();
  return router;
}

function once<K extends keyof RouterPeerEvents>(
  peer: RouterPeer,
  event: K,
  filter: (e: RouterPeerEvents[K]) => boolean = () => true,
): Promise<RouterPeerEvents[K]> {
  return new Promise((resolve) => {
    const off = peer.on(event, (e) => {
      if (!filter(e)) return;
      off();
      resolve(e);
    });
  });
}

function routerEvent<K extends "peerJoined" | "peerLeft">(
  router: RouterHandle,
  event: K,
  filter: (e: PeerLeftEvent) => boolean = () => true,
): Promise<PeerLeftEvent> {
  return new Promise((resolve) => {
    const off = router.on(event, (e) => {
      const ev = { reason: "", ...e } as PeerLeftEvent;
      if (!filter(ev)) return;
      off();
      resolve(ev);
    });
  });
}

/** A raw DEALER speaking router frames by hand, for what a well-behaved peer never does. */
async function rawPeer(address: string) {
  const socket = new Dealer({ linger: 0, routingId: `raw-${randomBytes(4).toString("hex")}` });
  socket.connect(address);
  cleanups.push(() => socket.close());
  return {
    socket,
    async send(frame: Uint8Array) {
      await socket.send(frame);
    },
    async next(): Promise<RouterFrame> {
      const [part] = await socket.receive();
      return decodeRouterFrame(part as Buffer);
    },
  };
}

function registerFrame(role: routerSchema.PeerRole, services: string[] = []): Uint8Array {
  return encodeRouterFrame({
    frame: { case: "register", value: { role, services, protocolVersion: 1 } },
  });
}

function serveEcho(address: string, name: string, seen?: string[]) {
  const transport = createRouterServerTransport({ address, name });
  const server = createServer(transport);
  server.register(TestService, {
    echo(req) {
      seen?.push(name);
      return { value: `${name}:${req.value}` };
    },
  });
  cleanups.push(() => server.close());
  return server;
}

describe("the native router", () => {
  it("acknowledges a registration with the negotiated heartbeat and reports the peer", async () => {
    const router = await startRouter({ heartbeatIntervalMs: 200 });
    const joined = routerEvent(router, "peerJoined");
    const fast = createRouterPeer({
      address: router.address as string,
      role: "client",
      name: "tui-1",
    });
    cleanups.push(() => fast.close());
    const acked = once(fast, "registered");
    fast.start();
    // Asking for nothing gets the router's interval.
    expect((await acked).heartbeatIntervalMs).toBe(200);
    expect(fast.registered).toBe(true);
    expect(await joined).toMatchObject({ id: fast.id, role: "client", name: "tui-1" });
    // A peer may ask for slower heartbeats, never faster ones.
    const slow = createRouterPeer({
      address: router.address as string,
      role: "server",
      services: ["a.v1.A"],
      heartbeatIntervalMs: 700,
    });
    cleanups.push(() => slow.close());
    slow.start();
    await slow.ready(5_000);
    expect(slow.heartbeatIntervalMs).toBe(700);
    expect(
      router
        .peers()
        .map((p) => [p.role, p.heartbeatIntervalMs])
        .sort(),
    ).toEqual([
      ["client", 200],
      ["server", 700],
    ]);
    // Goodbye is reported as left at once.
    const left = routerEvent(router, "peerLeft");
    await slow.close();
    expect(await left).toMatchObject({ role: "server", services: ["a.v1.A"], reason: "goodbye" });
  });

  it("refuses a registration without a role, and tells an unregistered peer to register", async () => {
    const router = await startRouter();
    const raw = await rawPeer(router.address as string);
    await raw.send(registerFrame(routerSchema.PeerRole.UNSPECIFIED));
    const refused = await raw.next();
    expect(refused.frame.case).toBe("disconnect");
    expect(refused.frame.value).toMatchObject({ reason: expect.stringContaining("role 0") });
    await raw.send(HEARTBEAT_FRAME);
    expect((await raw.next()).frame).toMatchObject({
      case: "disconnect",
      value: { reason: "peer is not registered" },
    });
    expect(router.counters.unregisteredFrames).toBe(1);
    expect(router.peers()).toEqual([]);
  });

  it("load-balances requests over the servers of a service and returns each reply to its caller", async () => {
    const router = await startRouter();
    const address = router.address as string;
    const seen: string[] = [];
    await serveEcho(address, "s1", seen).listen();
    await serveEcho(address, "s2", seen).listen();
    const clients = [0, 1].map(() => {
      const t = createRouterClientTransport({ address });
      cleanups.push(() => t.close());
      return createClient(TestService, t);
    });
    const calls = [];
    for (let i = 0; i < 20; i++) {
      const client = clients[i % 2] as (typeof clients)[number];
      calls.push(client.echo({ value: `req-${i}` }));
    }
    const replies = await Promise.all(calls);
    // Replies are matched by request id: every caller gets the answer to its own request.
    for (const [i, r] of replies.entries()) expect(r.value).toMatch(new RegExp(`^s[12]:req-${i}$`));
    expect(seen.filter((s) => s === "s1")).toHaveLength(10);
    expect(seen.filter((s) => s === "s2")).toHaveLength(10);
    expect(router.counters.routedRequests).toBe(20);
  });

  it("fails a call for a service nobody serves with Unavailable", async () => {
    const router = await startRouter();
    const t = createRouterClientTransport({ address: router.address as string });
    cleanups.push(() => t.close());
    const err = await createClient(TestService, t)
      .echo({ value: "x" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe(Code.Unavailable);
    expect((err as IpcError).message).toContain(
      "no server registered for service protoipc.test.TestService",
    );
  });

  it("expires a server after 3 missed heartbeats and fails its pending calls with Unavailable", async () => {
    const router = await startRouter({ heartbeatIntervalMs: 100 });
    const address = router.address as string;
    // A server that registers, takes the request, and then goes silent (a crashed process).
    const raw = await rawPeer(address);
    await raw.send(registerFrame(routerSchema.PeerRole.SERVER, [TestService.typeName]));
    expect((await raw.next()).frame.case).toBe("registerAck");
    const t = createRouterClientTransport({ address });
    cleanups.push(() => t.close());
    const left = routerEvent(router, "peerLeft");
    const call = createClient(TestService, t).echo({ value: "x" }, { timeoutMs: 10_000 });
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((await left).reason).toMatch(/^heartbeat expired after \d+ ms$/);
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe(Code.Unavailable);
    expect((err as IpcError).message).toMatch(/left the router \(heartbeat expired/);
    expect(router.counters.expiredPeers).toBe(1);
    expect(router.counters.failedCalls).toBe(1);
  });

  it("cancels the server's handler when its caller leaves", async () => {
    const router = await startRouter({ heartbeatIntervalMs: 100 });
    const address = router.address as string;
    let abortedWith: unknown;
    const aborted = new Promise<void>((resolve) => {
      const server = createServer(createRouterServerTransport({ address }));
      server.register(TestService, {
        async echo(_req, ctx) {
          await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));
          abortedWith = ctx.signal.reason;
          resolve();
          return { value: "late" };
        },
      });
      cleanups.push(() => server.close());
      void server.listen();
    });
    await new Promise<void>((resolve) => {
      const off = router.on("peerJoined", (p) => {
        if (p.role === "server") {
          off();
          resolve();
        }
      });
    });
    const raw = await rawPeer(address);
    await raw.send(registerFrame(routerSchema.PeerRole.CLIENT));
    expect((await raw.next()).frame.case).toBe("registerAck");
    const { encodeEnvelope, FrameKind } = await import("@protoipc/runtime");
    const { encodeCallFrame } = await import("./router-frames.js");
    await raw.send(
      encodeCallFrame(
        encodeEnvelope({
          requestId: 1,
          kind: FrameKind.REQUEST,
          method: "/protoipc.test.TestService/Echo",
          deadlineUnixMs: Date.now() + 60_000,
        }),
      ),
    );
    // The caller goes silent: after 3 intervals the router expires it and cancels its call.
    await aborted;
    expect(abortedWith).toBeInstanceOf(IpcError);
    expect(router.counters.routedRequests).toBe(1);
  });

  it("lets a peer register again after the router restarts on the same endpoint", async () => {
    const first = createRouter({ bind: "tcp://127.0.0.1:*", heartbeatIntervalMs: 100 });
    await first.start();
    const address = first.address as string;
    let second: RouterHandle | undefined;
    cleanups.push(async () => {
      await first.close();
      await second?.close();
    });
    const server = serveEcho(address, "s1");
    const t = createRouterClientTransport({ address });
    cleanups.push(() => t.close());
    await server.listen();
    await t.ready(5_000);
    const client = createClient(TestService, t);
    expect((await client.echo({ value: "before" })).value).toBe("s1:before");

    const lost = once(t.peer, "routerLost");
    await first.close();
    await lost;
    const back = once(t.peer, "registered");
    second = createRouter({ bind: address, heartbeatIntervalMs: 100 });
    await second.start();
    await back;
    // The server registered again too: calls flow through the new router.
    await new Promise<void>((resolve) => {
      const check = () => {
        if (second?.peers().some((p) => p.role === "server")) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    expect((await client.echo({ value: "after" })).value).toBe("s1:after");
    expect(t.peer.counters.registrations).toBe(2);
  });

  it("fans broadcasts out in order with per-topic sequences; a slow client loses only its own and sees the gap", async () => {
    // Room for one paced burst of 101 broadcasts, far less than the slow client falls behind.
    const router = await startRouter({ maxQueuedFramesPerPeer: 300, sendHighWaterMark: 2 });
    const address = router.address as string;
    const serverT = createRouterServerTransport({ address });
    const server = createServer(serverT);
    server.register(TestService, { echo: (r) => r });
    cleanups.push(() => server.close());
    await server.listen();

    const fast = createRouterClientTransport({ address, name: "fast" });
    cleanups.push(() => fast.close());
    await fast.ready(5_000);
    const got: number[] = [];
    let missedFast = 0;
    let waiter: (() => void) | undefined;
    fast.subscribe(BytesValueSchema, (m, d) => {
      expect(m.value.byteLength).toBe(payload.byteLength);
      got.push(d.sequence);
      missedFast += d.missed;
      waiter?.();
    });
    const otherTopic: number[] = [];
    fast.subscribe(UInt32ValueSchema, (m, d) => {
      expect(m.value).toBe(d.sequence);
      otherTopic.push(d.sequence);
    });

    // The slow client registers and then does not read (receive high-water mark 10).
    const slow = new Dealer({ linger: 0, routingId: "slow-client", receiveHighWaterMark: 10 });
    slow.connect(address);
    cleanups.push(() => slow.close());
    await slow.send(registerFrame(routerSchema.PeerRole.CLIENT));
    const [ackBytes] = await slow.receive();
    expect(decodeRouterFrame(ackBytes as Buffer).frame.case).toBe("registerAck");

    // 8 KiB each: more than libzmq's queue (2 messages of up to 64 frames), the router's queue
    // (300 frames) and the kernel's socket buffers hold for the slow client.
    const total = 1500;
    const payload = new Uint8Array(8192);
    for (let n = 1; n <= total; n++) {
      serverT.publish(BytesValueSchema, { value: payload });
      if (n % 100 === 0) {
        serverT.publish(UInt32ValueSchema, { value: n / 100 });
        // Pace the publisher by the fast client, never by the slow one.
        await new Promise<void>((resolve) => {
          waiter = () => {
            if (got.length >= n) resolve();
          };
          waiter();
        });
      }
    }
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(missedFast).toBe(0);
    expect(otherTopic).toEqual(Array.from({ length: total / 100 }, (_, i) => i + 1));
    const slowKey = Buffer.from("slow-client").toString("hex");
    expect(router.queueOf(slowKey).dropped).toBeGreaterThan(0);
    expect(router.counters.droppedQueueFull).toBe(router.queueOf(slowKey).dropped);

    // The slow client reads at last: sequences still rise, and the gap is visible. Once the
    // router's queue for it has room again, one more broadcast marks the end.
    const sequences: number[] = [];
    let missed = 0;
    let sentinelSent = false;
    while (sequences.at(-1) !== total + 1) {
      const parts = await slow.receive();
      if (!sentinelSent && router.queueOf(slowKey).queued === 0) {
        sentinelSent = true;
        serverT.publish(BytesValueSchema, { value: payload });
      }
      for (const part of parts) {
        const f = decodeRouterFrame(part);
        if (f.frame.case !== "broadcast" || f.frame.value.topic !== BytesValueSchema.typeName)
          continue;
        const seq = Number(f.frame.value.sequence);
        const last = sequences.at(-1);
        if (last !== undefined) {
          expect(seq).toBeGreaterThan(last);
          missed += seq - last - 1;
        }
        sequences.push(seq);
      }
    }
    expect(missed).toBeGreaterThan(0);
  });

  it("ends a call whose frames overflow its client's queue with ResourceExhausted, and cancels the handler", async () => {
    const router = await startRouter({ maxQueuedFramesPerPeer: 20, sendHighWaterMark: 1 });
    const address = router.address as string;
    let handlerAborted: unknown;
    const serverJoined = routerEvent(router, "peerJoined");
    const aborted = new Promise<void>((resolve) => {
      const server = createServer(createRouterServerTransport({ address }));
      server.register(TestService, {
        async work(req, ctx) {
          try {
            for (let i = 1; i <= req.value; i++) await ctx.progress({ value: i });
          } finally {
            if (ctx.signal.aborted) {
              handlerAborted = ctx.signal.reason;
              resolve();
            }
          }
          return { value: "done" };
        },
      });
      cleanups.push(() => server.close());
      void server.listen();
    });
    await serverJoined;
    // A client that asks for a flood of 200 000 updates and does not read (receive HWM 1).
    const slow = new Dealer({ linger: 0, routingId: "flooded-client", receiveHighWaterMark: 1 });
    slow.connect(address);
    cleanups.push(() => slow.close());
    await slow.send(registerFrame(routerSchema.PeerRole.CLIENT));
    expect(decodeRouterFrame((await slow.receive())[0] as Buffer).frame.case).toBe("registerAck");
    const { encodeEnvelope, decodeEnvelope, FrameKind } = await import("@protoipc/runtime");
    const { encodeCallFrame } = await import("./router-frames.js");
    const { toBinary, create } = await import("@bufbuild/protobuf");
    await slow.send(
      encodeCallFrame(
        encodeEnvelope({
          requestId: 9,
          kind: FrameKind.REQUEST,
          method: "/protoipc.test.TestService/Work",
          deadlineUnixMs: Date.now() + 60_000,
          payload: toBinary(UInt32ValueSchema, create(UInt32ValueSchema, { value: 200_000 })),
        }),
      ),
    );
    await aborted;
    expect(handlerAborted).toBeInstanceOf(IpcError);
    // Reading at last: updates in order up to the cut, then the router's error, not a hang.
    let last = 0;
    let error: ReturnType<typeof decodeEnvelope> | undefined;
    while (error === undefined) {
      for (const part of await slow.receive()) {
        const f = decodeRouterFrame(part).frame;
        if (f.case !== "call") continue;
        const env = decodeEnvelope(f.value.envelope);
        if (env.kind !== FrameKind.PROGRESS) {
          error = env;
          break;
        }
        expect(env.sequence).toBe(last + 1);
        last = env.sequence;
      }
    }
    expect(error.kind).toBe(FrameKind.ERROR);
    expect(error.requestId).toBe(9);
    expect(error.error?.code).toBe(Code.ResourceExhausted);
    expect(error.error?.message).toMatch(
      /router queue of client .* is full \(maxQueuedFramesPerPeer 20\); call dropped/,
    );
    expect(last).toBeGreaterThan(0);
    expect(router.counters.failedCalls).toBe(1);
  });
});
