/**
 * The DEALER and ROUTER frame channels over real libzmq, each scenario over ipc:// and tcp://.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, type FramePeer, IpcError } from "@protoipc/runtime";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dealer, Router } from "zeromq";
import { createZmqDealerChannel, type ZmqDealerChannel } from "./dealer-channel.js";
import type { ZmqDealerChannelOptions, ZmqRouterChannelOptions } from "./options.js";
import { createZmqRouterChannel, type ZmqRouterChannel } from "./router-channel.js";

/** Collects deliveries and lets a test await the n-th one, without polling. */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once `count` items arrived in total. */
  async until(count: number): Promise<T[]> {
    if (this.items.length < count) {
      await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    }
    return this.items;
  }
}

const text = (frame: Uint8Array) => Buffer.from(frame).toString();
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
/** Lets every settled promise and pending I/O callback run once. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Polls `predicate` until it holds, for state that has no event of its own (a counter libzmq
 * moves asynchronously). Bounded: fails after `timeoutMs`.
 */
async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejection(p: Promise<unknown>): Promise<IpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return e as IpcError;
  }
  throw new Error("expected a rejection");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject()));
    });
  });
}

describe.each(["ipc", "tcp"] as const)("zeromq frame channels over %s://", (kind) => {
  let dir: string;
  const cleanups: (() => unknown)[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "protoipc-zmq-"));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An endpoint for a router to bind; tcp binds a free port (read it from `address`). */
  const bindEndpoint = () => (kind === "ipc" ? `ipc://${dir}/server.sock` : "tcp://127.0.0.1:*");

  /** An endpoint nobody listens on (yet). */
  const unusedEndpoint = async () =>
    kind === "ipc" ? `ipc://${dir}/later.sock` : `tcp://127.0.0.1:${await freePort()}`;

  function router(options: Partial<ZmqRouterChannelOptions> = {}): ZmqRouterChannel {
    const ch = createZmqRouterChannel({ bind: bindEndpoint(), ...options });
    cleanups.push(() => ch.close());
    return ch;
  }

  function dealer(
    address: string,
    options: Partial<ZmqDealerChannelOptions> = {},
  ): ZmqDealerChannel {
    const ch = createZmqDealerChannel({ address, ...options });
    cleanups.push(() => ch.close());
    return ch;
  }

  function raw<S extends Dealer | Router>(socket: S): S {
    cleanups.push(() => socket.close());
    return socket;
  }

  /** A started router that echoes every frame to its sender. */
  async function echoRouter(options: Partial<ZmqRouterChannelOptions> = {}) {
    const ch = router(options);
    const peers = new Inbox<FramePeer>();
    await ch.start({
      onFrame(peer, frame) {
        peers.push(peer);
        ch.send(peer, frame).catch(() => undefined);
      },
    });
    return { ch, address: ch.address!, peers };
  }

  /** A started dealer whose frames and frame errors land in inboxes. */
  function inboxDealer(address: string, options: Partial<ZmqDealerChannelOptions> = {}) {
    const ch = dealer(address, options);
    const frames = new Inbox<Buffer>();
    const errors = new Inbox<IpcError>();
    ch.start({ onFrame: (f) => frames.push(f as Buffer), onFrameError: errors.push });
    return { ch, frames, errors };
  }

  it("echoes 10 000 frames in order with many in flight", async () => {
    const { address } = await echoRouter();
    if (kind === "tcp") expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const { ch, frames } = inboxDealer(address);
    const count = 10_000;
    // Views into one shared Uint8Array (not Buffers), both under and over zeromq.js's 128-byte
    // zero-copy threshold: the channel must send exactly the viewed bytes.
    const backing = new Uint8Array(count * 8 + 400);
    const view = new DataView(backing.buffer);
    for (let i = 0; i < count; i++) {
      view.setUint32(i * 8, i);
      const length = i % 100 === 0 ? 300 : 4;
      await ch.send(backing.subarray(i * 8, i * 8 + length));
    }
    const received = await frames.until(count);
    expect(received.length).toBe(count);
    received.forEach((frame, i) => {
      expect(frame.readUInt32BE(0)).toBe(i);
      expect(frame.byteLength).toBe(i % 100 === 0 ? 300 : 4);
    });
  });

  it("addresses many peers independently, one FramePeer per routing id", async () => {
    const ch = router();
    const inbox = new Inbox<[FramePeer, string]>();
    await ch.start({ onFrame: (peer, frame) => inbox.push([peer, text(frame)]) });
    const clients = Array.from({ length: 8 }, () => inboxDealer(ch.address!));
    for (const [i, c] of clients.entries()) {
      await c.ch.send(bytes(`hello ${i}`));
      await c.ch.send(bytes(`again ${i}`));
    }
    const got = await inbox.until(16);
    const peerOf = new Map<string, FramePeer>();
    for (const [peer, msg] of got) {
      const client = msg.split(" ")[1]!;
      const known = peerOf.get(client);
      if (known === undefined) peerOf.set(client, peer);
      else expect(peer).toBe(known); // the cached object, not a new one per frame
    }
    const keys = [...peerOf.values()].map((p) => p.key);
    expect(new Set(keys).size).toBe(8);
    for (const key of keys) expect(key).toMatch(/^([0-9a-f]{2})+$/);

    for (const [client, peer] of peerOf) await ch.send(peer, bytes(`for ${client}`));
    for (const [i, c] of clients.entries()) {
      const [frame] = await c.frames.until(1);
      expect(text(frame!)).toBe(`for ${i}`);
    }
    await Promise.all(
      clients.map((c) => turn().then(() => expect(c.frames.items).toHaveLength(1))),
    );
  });

  it("forgets a peer on request and keeps reading when a handler throws", async () => {
    const srv = router();
    const seen = new Inbox<FramePeer>();
    const errors = new Inbox<IpcError>();
    await srv.start({
      onFrame(peer, frame) {
        seen.push(peer);
        if (text(frame) === "throw") throw new Error("handler bug");
      },
      onFrameError: (_peer, error) => errors.push(error),
    });
    const c = inboxDealer(srv.address!);
    await c.ch.send(bytes("one"));
    await c.ch.send(bytes("throw"));
    await c.ch.send(bytes("two"));
    const [first, second, third] = await seen.until(3);
    expect(second).toBe(first);
    expect(third).toBe(first);
    const [error] = await errors.until(1);
    expect(error!.code).toBe(Code.Internal);
    expect(error!.rawMessage).toBe("handler bug");

    expect(srv.forgetPeer(first!.key)).toBe(true);
    expect(srv.forgetPeer(first!.key)).toBe(false);
    await c.ch.send(bytes("three"));
    const fourth = (await seen.until(4))[3]!;
    expect(fourth).not.toBe(first);
    expect(fourth.key).toBe(first!.key);
    await srv.send(first!, bytes("old object still reaches it"));
    expect(text((await c.frames.until(1))[0]!)).toBe("old object still reaches it");
  });

  it("rejects a frame over maxFrameBytes in send, before writing anything", async () => {
    const srv = router({ maxFrameBytes: 1024 });
    const inbox = new Inbox<[FramePeer, Buffer]>();
    await srv.start({ onFrame: (peer, frame) => inbox.push([peer, frame as Buffer]) });
    const client = dealer(srv.address!, { maxFrameBytes: 1024 });
    const replies = new Inbox<Buffer>();
    client.start({ onFrame: (f) => replies.push(f as Buffer) });

    const err = await rejection(client.send(new Uint8Array(1025)));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("frame of 1025 bytes exceeds maxFrameBytes 1024");
    await client.send(new Uint8Array(1024).fill(7));
    const [[peer, frame]] = (await inbox.until(1)) as [[FramePeer, Buffer]];
    expect(frame.byteLength).toBe(1024); // the oversized frame never went out

    const srvErr = await rejection(srv.send(peer, new Uint8Array(2000)));
    expect(srvErr.code).toBe(Code.ResourceExhausted);
    expect(srvErr.rawMessage).toBe("frame of 2000 bytes exceeds maxFrameBytes 1024");
    await srv.send(peer, bytes("small"));
    expect(text((await replies.until(1))[0]!)).toBe("small");
    expect(srv.droppedFrames).toBe(0);
  });

  it("reports an oversized received frame via onFrameError and delivers each part of a batch (router)", async () => {
    const srv = router({ maxFrameBytes: 1024 });
    const frames = new Inbox<string>();
    const errors = new Inbox<[FramePeer, IpcError, Uint8Array]>();
    await srv.start({
      onFrame: (_peer, frame) => frames.push(text(frame)),
      onFrameError: (peer, error, head) => errors.push([peer, error, head]),
    });
    const peer = raw(new Dealer({ linger: 0 }));
    peer.connect(srv.address!);
    const big = new Uint8Array(5000).map((_, i) => i % 251);
    await peer.send(bytes("before"));
    await peer.send(big);
    await peer.send([bytes("two"), bytes("parts")]);
    await peer.send(bytes("after"));

    expect(await frames.until(4)).toEqual(["before", "two", "parts", "after"]);
    const [[, oversized, head]] = (await errors.until(1)) as [[FramePeer, IpcError, Uint8Array]];
    expect(oversized.code).toBe(Code.ResourceExhausted);
    expect(oversized.rawMessage).toBe("frame of 5000 bytes exceeds maxFrameBytes 1024");
    expect(head).toEqual(big.subarray(0, 64));
    expect(head.buffer.byteLength).toBe(64); // a copy, not a view pinning the whole frame
  });

  it("reports an oversized received frame via onFrameError and delivers each part of a batch (dealer)", async () => {
    const srv = raw(new Router({ linger: 0 }));
    await srv.bind(bindEndpoint());
    const { ch, frames, errors } = inboxDealer(srv.lastEndpoint!, { maxFrameBytes: 1024 });
    await ch.send(bytes("hi"));
    const [id] = await srv.receive();
    await srv.send([id!, new Uint8Array(1025)]);
    await srv.send([id!, bytes("two"), bytes("parts")]);
    await srv.send([id!, bytes("after")]);

    expect((await frames.until(3)).map(text)).toEqual(["two", "parts", "after"]);
    const [oversized] = (await errors.until(1)) as [IpcError];
    expect(oversized.code).toBe(Code.ResourceExhausted);
    expect(oversized.rawMessage).toBe("frame of 1025 bytes exceeds maxFrameBytes 1024");
  });

  it("holds send pending while nobody reads, and resolves every send in order once drained", async () => {
    const address = await unusedEndpoint();
    const client = dealer(address, { writeQueueFrames: 4, sendHighWaterMark: 2 });
    client.start({ onFrame: () => undefined });
    const total = 40;
    let accepted = 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      sends.push(client.send(bytes(`frame ${i}`)).then(() => void accepted++));
    }
    // Nothing can drain: libzmq's queue (2) and the writer queue (4) are full, the rest waits.
    for (let i = 0; i < 20; i++) await turn();
    const acceptedWhileBlocked = accepted;
    expect(acceptedWhileBlocked).toBeGreaterThanOrEqual(4);
    expect(acceptedWhileBlocked).toBeLessThan(total);
    for (let i = 0; i < 20; i++) await turn();
    expect(accepted).toBe(acceptedWhileBlocked);

    const srv = createZmqRouterChannel({ bind: address });
    cleanups.push(() => srv.close());
    const inbox = new Inbox<string>();
    await srv.start({ onFrame: (_peer, frame) => inbox.push(text(frame)) });
    await Promise.all(sends);
    expect(await inbox.until(total)).toEqual(Array.from({ length: total }, (_, i) => `frame ${i}`));
  });

  it("reconnects to a router bound again on the same address", async () => {
    const first = await echoRouter();
    const address = first.address;
    const { ch, frames } = inboxDealer(address, { reconnectIntervalMs: 20 });
    await ch.send(bytes("one"));
    expect(text((await frames.until(1))[0]!)).toBe("one");

    await first.ch.close();
    const again = createZmqRouterChannel({ bind: address });
    cleanups.push(() => again.close());
    await again.start({ onFrame: (peer, frame) => void again.send(peer, frame) });

    // The dealer notices the lost connection asynchronously; a frame written to the dead
    // connection before that is lost, so probe until one comes back (bounded).
    for (let attempt = 0; frames.items.length < 2; attempt++) {
      expect(attempt).toBeLessThan(50);
      await ch.send(bytes(`probe ${attempt}`));
      await Promise.race([frames.until(2), new Promise((r) => setTimeout(r, 200))]);
    }
    await ch.send(bytes("later"));
    const all = (await frames.until(3)).map(text);
    expect(all[0]).toBe("one");
    expect(all[1]).toMatch(/^probe \d+$/);
    expect(all.at(-1)).toBe("later");
  });

  it("drops frames for a disconnected or unknown peer and keeps serving the others", async () => {
    const { ch: srv, address, peers } = await echoRouter();
    const a = inboxDealer(address);
    await a.ch.send(bytes("a"));
    const [peerA] = await peers.until(1);
    const b = inboxDealer(address);
    await b.ch.send(bytes("b"));
    const peerB = (await peers.until(2))[1]!;
    await b.frames.until(1);

    await a.ch.close();
    // The router learns about the disconnect asynchronously; until then libzmq accepts frames
    // for A. Keep sending to both until a frame for A is refused, checking B after each round.
    for (let i = 0; srv.droppedFrames === 0; i++) {
      expect(i).toBeLessThan(500);
      await srv.send(peerA!, bytes("for a"));
      await srv.send(peerB, bytes(`for b ${i}`));
      expect(text((await b.frames.until(i + 2))[i + 1]!)).toBe(`for b ${i}`);
    }
    const dropped = srv.droppedFrames;
    await srv.send({ key: "00deadbeef" }, bytes("nobody"));
    await srv.send(peerB, bytes("still"));
    const last = await b.frames.until(b.frames.items.length + 1);
    expect(text(last.at(-1)!)).toBe("still");
    expect(srv.droppedFrames).toBe(dropped + 1);

    const badKey = await rejection(srv.send({ key: "not hex" }, bytes("x")));
    expect(badKey.code).toBe(Code.InvalidArgument);
  });

  it("does not wedge the writer on a send to an unknown peer while no peer is connected", async () => {
    const srv = router({ peerStallTimeoutMs: 50 });
    await srv.start({ onFrame: (peer, frame) => void srv.send(peer, frame) });
    await srv.send({ key: "00deadbeef" }, bytes("nobody"));
    const { ch, frames } = inboxDealer(srv.address!);
    await ch.send(bytes("echo"));
    expect(text((await frames.until(1))[0]!)).toBe("echo");
    expect(srv.droppedFrames).toBe(1);
  });

  it("drops frames for a peer that stopped reading after peerStallTimeoutMs, serving others", async () => {
    const {
      ch: srv,
      address,
      peers,
    } = await echoRouter({
      peerStallTimeoutMs: 100,
      sendHighWaterMark: 1,
    });
    const stalled = raw(new Dealer({ linger: 0, receiveHighWaterMark: 1 }));
    stalled.connect(address);
    await stalled.send(bytes("hi"));
    const [peerStalled] = await peers.until(1);
    const b = inboxDealer(address);
    await b.ch.send(bytes("b"));
    const peerB = (await peers.until(2))[1]!;
    await b.frames.until(1);

    // The stalled peer never reads: its queues and the kernel's socket buffers fill up.
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; srv.droppedFrames === 0; i++) {
      expect(i).toBeLessThan(2000);
      await srv.send(peerStalled!, chunk);
    }
    await srv.send(peerB, bytes("b still served"));
    await eventually(() => b.frames.items.some((f) => text(f) === "b still served"), 10_000);
  });

  it("closes idempotently, without hanging, and fails sends with Unavailable", async () => {
    const address = await unusedEndpoint();
    const client = dealer(address, { writeQueueFrames: 1, sendHighWaterMark: 1 });
    client.start({ onFrame: () => undefined });
    const sends = Array.from({ length: 8 }, (_, i) => client.send(bytes(`f${i}`)));
    await Promise.all([client.close(), client.close()]);
    await client.close();
    const failures = await Promise.allSettled(sends);
    const rejected = failures.filter((s) => s.status === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r.reason as IpcError).code).toBe(Code.Unavailable);
    expect((await rejection(client.send(bytes("late")))).code).toBe(Code.Unavailable);
    expect(() => client.start({ onFrame: () => undefined })).toThrow(IpcError);

    const srv = router();
    await srv.start({ onFrame: () => undefined });
    await Promise.all([srv.close(), srv.close()]);
    await srv.close();
    expect((await rejection(srv.send({ key: "00deadbeef" }, bytes("late")))).code).toBe(
      Code.Unavailable,
    );
    expect((await rejection(srv.start({ onFrame: () => undefined }))).code).toBe(Code.Unavailable);

    const never = createZmqRouterChannel({ bind: bindEndpoint() });
    await never.close(); // never started
    const neverDealer = createZmqDealerChannel({ address });
    await neverDealer.close();
  });

  it("releases the endpoint on close so it can be bound again at once", async () => {
    let endpoint = bindEndpoint();
    for (let round = 0; round < 5; round++) {
      const srv = createZmqRouterChannel({ bind: endpoint });
      await srv.start({ onFrame: () => undefined });
      endpoint = srv.address!;
      const path = kind === "ipc" ? endpoint.slice("ipc://".length) : undefined;
      if (path !== undefined) expect(statSync(path).mode & 0o777).toBe(0o600);
      await srv.close();
      if (path !== undefined) expect(existsSync(path)).toBe(false);
    }
  });

  it("rejects start with Unavailable when the endpoint cannot be bound", async () => {
    const first = router();
    await first.start({ onFrame: () => undefined });
    // ipc: a missing directory; tcp: the port the first router holds.
    const endpoint = kind === "ipc" ? `ipc://${dir}/missing/server.sock` : first.address!;
    const second = createZmqRouterChannel({ bind: endpoint });
    const err = await rejection(second.start({ onFrame: () => undefined }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(
      new RegExp(`^cannot bind ${endpoint.replace(/[.*]/g, "\\$&")}: `),
    );
    expect((await rejection(second.send({ key: "00deadbeef" }, bytes("x")))).code).toBe(
      Code.Unavailable,
    );
    await second.close();
  });

  it("refuses bad options with InvalidArgument", () => {
    expect(() => createZmqDealerChannel({ address: "inproc://x" })).toThrow(
      'address of "inproc://x" is not an ipc:// or tcp:// endpoint',
    );
    expect(() => createZmqRouterChannel({ bind: bindEndpoint(), writeQueueFrames: 0 })).toThrow(
      "writeQueueFrames of 0 is not an integer from 1 to 2147483647",
    );
    try {
      createZmqDealerChannel({ address: bindEndpoint(), maxFrameBytes: 1.5 });
    } catch (e) {
      expect((e as IpcError).code).toBe(Code.InvalidArgument);
    }
  });
});
