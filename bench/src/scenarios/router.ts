/**
 * The router scenarios (issue 5), in the same run as the others:
 *
 * - `router_unary_echo_64B_throughput_64_in_flight`: the protoipc echo through the router (router
 *   and echo server each in a child process, client here) against the same echo direct over one
 *   DEALER/ROUTER connection; target `ratio_vs_direct >= 0.6`. `ratio_vs_raw_zeromq` for scale.
 * - `router_broadcast_fanout_100_clients`: one publisher and 100 clients (all here) through the
 *   router child; broadcasts published in windows of 50, each window awaited until every client
 *   has it; `deliveries_per_s` = broadcasts × clients delivered over elapsed time; `missed` sums
 *   the gaps the clients saw.
 * - `router_memory_per_peer_1000_peers`: 1000 DEALERs register with the router child; its heap
 *   (after a full GC) and RSS before and after, divided by 1000.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  createRouterClientTransport,
  createRouterServerTransport,
  decodeRouterFrame,
  encodeRouterFrame,
  type RouterClientTransport,
} from "@protoipc/router";
import { createServer } from "@protoipc/runtime";
import { Dealer } from "zeromq";
import { EchoRequestSchema } from "../gen/bench/v1/echo_pb.js";
import { type Call, measureThroughput, median, nowMs, warmUp } from "../measure.js";
import { emitLine, formatTarget, log, meets, ratio, round, type Target } from "../report.js";
import { type ServerProcess, startServerProcess } from "../server-process.js";
import type { EchoImplementation, UnaryEchoOptions } from "./unary-echo.js";

const THROUGHPUT_VS_DIRECT: Target = { op: ">=", value: 0.6 };
const FANOUT_CLIENTS = 100;
const FANOUT_WINDOW = 50;
const MEMORY_PEERS = 1000;

/** What the router scenarios need from the benchmark's main. */
export interface RouterScenarioContext {
  /** The private socket directory. */
  readonly dir: string;
  /** Server children; main stops them. */
  readonly servers: ServerProcess[];
  /** Client closers; main runs them. */
  readonly closers: (() => Promise<void>)[];
  readonly echoOptions: UnaryEchoOptions;
  /** The protoipc echo direct over DEALER/ROUTER, when it runs. */
  readonly direct: EchoImplementation | undefined;
  /** The raw zeromq.js echo. */
  readonly raw: EchoImplementation;
  /** `"throughput"`: run the throughput scenario only (router-only.ts); default all three. */
  readonly only?: "throughput" | undefined;
}

/** Runs the three router scenarios and prints their lines. */
export async function runRouterScenarios(ctx: RouterScenarioContext): Promise<void> {
  const address = `ipc://${ctx.dir}/router.sock`;
  const routerChild = await startRouterChild(address);
  ctx.servers.push(routerChild.process);
  ctx.servers.push(await startServerProcess("router-echo", [address]));
  const { createProtoipcEchoClientViaRouter } = await import("../protoipc-echo.js");
  const client = createProtoipcEchoClientViaRouter(address);
  ctx.closers.push(() => client.close());
  emitLine(await throughput(ctx, { name: "router", echo: client.echo }));
  if (ctx.only === "throughput") return;
  emitLine(await fanout(address, ctx.echoOptions.durationMs));
  emitLine(await memory(address, routerChild));
}

async function throughput(
  ctx: RouterScenarioContext,
  router: { name: string; echo: EchoImplementation["echo"] },
): Promise<Record<string, unknown>> {
  const o = ctx.echoOptions;
  const payload = new Uint8Array(o.payloadBytes).fill(7);
  const impls = [router, ...(ctx.direct ? [ctx.direct] : []), ctx.raw];
  const calls = new Map<string, Call>(impls.map((i) => [i.name, () => i.echo(payload)]));
  const runs = new Map<string, number[]>(impls.map((i) => [i.name, []]));
  for (const [name, call] of calls) {
    log(`router throughput: warming up ${name}`);
    await warmUp(call, o.concurrency, o.warmupMs);
  }
  for (let r = 0; r < o.repetitions; r++) {
    // Interleaved, the order rotating every round, as the other scenarios do.
    const order = [...calls.keys()];
    for (let k = 0; k < r % order.length; k++) order.push(order.shift() as string);
    for (const name of order) {
      const result = await measureThroughput(calls.get(name) as Call, o.concurrency, o.durationMs);
      runs.get(name)?.push(Math.round(result.callsPerSecond));
      log(`router throughput: ${name} ${Math.round(result.callsPerSecond)} calls/s`);
    }
  }
  const value = (name: string) => {
    const r = runs.get(name);
    return r === undefined || r.length === 0 ? null : median(r);
  };
  const viaRouter = value("router");
  const direct = ctx.direct ? value(ctx.direct.name) : null;
  const vsDirect = ratio(viaRouter, direct);
  return {
    scenario: `router_unary_echo_${o.payloadBytes}B_throughput_${o.concurrency}_in_flight`,
    unit: "calls/s",
    in_flight: o.concurrency,
    protoipc_via_router: viaRouter,
    protoipc_direct: direct,
    raw_zeromq: value(ctx.raw.name),
    ratio_vs_direct: round(vsDirect, 3),
    ratio_vs_raw_zeromq: round(ratio(viaRouter, value(ctx.raw.name)), 3),
    target: formatTarget(THROUGHPUT_VS_DIRECT),
    met: meets(vsDirect, THROUGHPUT_VS_DIRECT),
    runs: Object.fromEntries(runs),
  };
}

async function fanout(address: string, durationMs: number): Promise<Record<string, unknown>> {
  const publisherTransport = createRouterServerTransport({ address, services: [] });
  const publisher = createServer(publisherTransport);
  await publisher.listen();
  const clients: RouterClientTransport[] = [];
  let delivered = 0;
  let missed = 0;
  let waiting: { target: number; resolve: () => void } | undefined;
  try {
    for (let i = 0; i < FANOUT_CLIENTS; i++) {
      const t = createRouterClientTransport({ address });
      clients.push(t);
      t.peer.on("broadcast", (b) => {
        delivered++;
        missed += b.missed;
        if (waiting && delivered >= waiting.target) waiting.resolve();
      });
    }
    await Promise.all(clients.map((c) => c.ready(30_000)));
    const message = create(EchoRequestSchema, { payload: new Uint8Array(64).fill(1) });
    const payload = toBinary(EchoRequestSchema, message);
    const peer = publisherTransport.peer;
    if (peer === undefined) throw new Error("publisher is not registered");
    let published = 0;
    const start = nowMs();
    while (nowMs() - start < durationMs) {
      for (let i = 0; i < FANOUT_WINDOW; i++) peer.publish(EchoRequestSchema.typeName, payload);
      published += FANOUT_WINDOW;
      const target = published * FANOUT_CLIENTS - missed;
      if (delivered < target) {
        await new Promise<void>((resolve) => {
          waiting = { target, resolve };
        });
      }
    }
    const elapsedMs = nowMs() - start;
    log(
      `router fan-out: ${published} broadcasts to ${FANOUT_CLIENTS} clients in ${Math.round(elapsedMs)} ms`,
    );
    return {
      scenario: `router_broadcast_fanout_${FANOUT_CLIENTS}_clients`,
      unit: "deliveries/s",
      clients: FANOUT_CLIENTS,
      payload_bytes: payload.byteLength,
      broadcasts: published,
      deliveries: delivered,
      deliveries_per_s: Math.round((delivered * 1000) / elapsedMs),
      broadcasts_per_s: Math.round((published * 1000) / elapsedMs),
      missed,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await publisher.close();
  }
}

interface MemoryReading {
  heapUsedBytes: number;
  rssBytes: number;
  peers: number;
}

interface RouterChild {
  readonly process: ServerProcess;
  memory(): Promise<MemoryReading>;
}

async function startRouterChild(address: string): Promise<RouterChild> {
  const proc = await startServerProcess("router", [address]);
  const child = proc.child;
  return {
    process: proc,
    memory() {
      if (child === undefined) return Promise.reject(new Error("router child has no IPC channel"));
      return new Promise((resolve) => {
        const onMessage = (m: { type?: string } & MemoryReading) => {
          if (m.type !== "memory") return;
          child.off("message", onMessage);
          resolve(m);
        };
        child.on("message", onMessage);
        child.send({ type: "memory" });
      });
    },
  };
}

async function memory(address: string, router: RouterChild): Promise<Record<string, unknown>> {
  const before = await router.memory();
  const sockets: Dealer[] = [];
  const register = encodeRouterFrame({
    frame: { case: "register", value: { role: 1, protocolVersion: 1, name: "bench" } },
  });
  try {
    for (let i = 0; i < MEMORY_PEERS; i++) {
      const s = new Dealer({ linger: 0, routingId: `bench-peer-${i}` });
      s.connect(address);
      sockets.push(s);
    }
    await Promise.all(
      sockets.map(async (s) => {
        await s.send(register);
        const [ack] = await s.receive();
        if (decodeRouterFrame(ack as Buffer).frame.case !== "registerAck")
          throw new Error("no ack");
      }),
    );
    const after = await router.memory();
    const peers = MEMORY_PEERS;
    log(`router memory: ${peers} peers registered (${after.peers} in all)`);
    return {
      scenario: `router_memory_per_peer_${MEMORY_PEERS}_peers`,
      unit: "bytes/peer",
      peers,
      heap_bytes_per_peer: Math.round((after.heapUsedBytes - before.heapUsedBytes) / peers),
      rss_bytes_per_peer: Math.round((after.rssBytes - before.rssBytes) / peers),
      heap_used_mb: round(after.heapUsedBytes / 1048576, 1),
      rss_mb: round(after.rssBytes / 1048576, 1),
    };
  } finally {
    for (const s of sockets) s.close();
  }
}
