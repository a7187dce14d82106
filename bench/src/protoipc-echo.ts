/**
 * The candidate: the echo service through protoipc's public API (generated `EchoService`,
 * `createClient` / `createServer`, the native binding over the ZeroMQ transport).
 */

import { createRouterClientTransport, createRouterServerTransport } from "@protoipc/router";
import {
  type ClientTransport,
  createClient,
  createServer,
  type ServerTransport,
} from "@protoipc/runtime";
import { createZmqServerTransport, createZmqTransport } from "@protoipc/zeromq";
import { EchoService } from "./gen/bench/v1/echo_ipc.js";

/** Deadline of one flood call, in milliseconds: generous, a slow flood is measured, not failed. */
const FLOOD_TIMEOUT_MS = 120_000;

/** The protoipc client of the benchmark. */
export interface ProtoipcEchoClient {
  /** Calls Echo with `payload`; resolves with the echoed bytes. */
  echo(payload: Uint8Array): Promise<Uint8Array>;
  /**
   * Calls Flood for `count` updates; `onUpdate` sees each update's sequence number in arrival
   * order. Resolves with the result's `sent`; rejects with the call's `IpcError`.
   */
  flood(count: number, onUpdate: (sequence: bigint) => void): Promise<number>;
  /** Closes the transport (fails calls still pending). */
  close(): Promise<void>;
}

/** Connects a protoipc client of the echo service to `address` (a ZeroMQ endpoint). The caller closes it. */
export function createProtoipcEchoClient(address: string): ProtoipcEchoClient {
  return echoClient(createZmqTransport({ address }));
}

function echoClient(transport: ClientTransport): ProtoipcEchoClient {
  const client = createClient(EchoService, transport);
  return {
    async echo(payload) {
      return (await client.echo({ payload })).payload;
    },
    async flood(count, onUpdate) {
      const call = client.flood({ count }, { timeoutMs: FLOOD_TIMEOUT_MS });
      for await (const update of call.progress) onUpdate(update.sequence);
      return (await call.result).sent;
    },
    close: () => transport.close(),
  };
}

/** A running protoipc echo server; see {@link serveProtoipcEcho}. */
export interface ProtoipcEchoServer {
  /** Closes the server and its transport. */
  close(): Promise<void>;
}

/**
 * Serves the echo service on `address` (a ZeroMQ endpoint to bind); resolves once bound. Echo
 * returns the request's payload; Flood sends updates 1..count, awaiting each (backpressure).
 */
export async function serveProtoipcEcho(address: string): Promise<ProtoipcEchoServer> {
  return serveEcho(createZmqServerTransport({ bind: address }));
}

/** Serves the echo service through the protoipc router at `address`; resolves once registered. */
export async function serveProtoipcEchoViaRouter(address: string): Promise<ProtoipcEchoServer> {
  return serveEcho(createRouterServerTransport({ address }));
}

/** Connects a protoipc echo client through the router at `address`. The caller closes it. */
export function createProtoipcEchoClientViaRouter(address: string): ProtoipcEchoClient {
  return echoClient(createRouterClientTransport({ address }));
}

async function serveEcho(transport: ServerTransport): Promise<ProtoipcEchoServer> {
  const server = createServer(transport);
  server.register(EchoService, {
    echo: (request) => ({ payload: request.payload }),
    async flood(request, context) {
      for (let i = 1; i <= request.count; i++) await context.progress({ sequence: BigInt(i) });
      return { sent: request.count };
    },
  });
  await server.listen();
  return { close: () => server.close() };
}
