/**
 * The candidates: the echo service through protoipc's public API over `@protoipc/unix`: the
 * native binding (length-prefixed envelopes) and the jsonrpc2 binding (Content-Length JSON-RPC).
 */
import { createClient, createServer } from "@protoipc/runtime";
import {
  createStreamServerTransport,
  createStreamTransport,
  type StreamBinding,
} from "@protoipc/unix";
import { EchoService } from "../gen/bench/v1/echo_ipc.js";

/** Serves Echo on the Unix socket `path` with `binding`; resolves once listening. */
export async function serveProtoipcUnixEcho(
  path: string,
  binding: StreamBinding,
): Promise<{ close(): Promise<void> }> {
  const server = createServer(createStreamServerTransport({ endpoint: { path }, binding }));
  server.register(EchoService, { echo: (request) => ({ payload: request.payload }) });
  await server.listen();
  return { close: () => server.close() };
}

/** A protoipc echo client over the Unix socket `path` with `binding`. */
export function createProtoipcUnixEchoClient(
  path: string,
  binding: StreamBinding,
): { echo(payload: Uint8Array): Promise<Uint8Array>; close(): Promise<void> } {
  const transport = createStreamTransport({ endpoint: { path }, binding });
  const client = createClient(EchoService, transport);
  return {
    // No async wrapper: one promise per call, as the raw baseline's `echo`.
    echo: (payload) => client.echo({ payload }).then((r) => r.payload),
    close: () => transport.close(),
  };
}
