/**
 * Baseline: vscode-jsonrpc (the JSON-RPC library of VS Code's language servers) over a Unix
 * socket with its own Content-Length framing. The request is `{payload: <base64>}` under the
 * same method name protoipc's jsonrpc2 binding uses, so both put the same JSON on the wire.
 */
import { connect, createServer, type Socket } from "node:net";
import {
  createMessageConnection,
  type MessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";

/** The JSON-RPC method of the echo: protoipc's name for `bench.v1.EchoService/Echo`. */
export const ECHO_METHOD = "bench.v1.EchoService/Echo";

/** Serves the echo with vscode-jsonrpc on `path`; resolves once listening. */
export async function serveVscodeJsonRpcEcho(path: string): Promise<{ close(): Promise<void> }> {
  const connections = new Set<MessageConnection>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const c = createMessageConnection(
      new SocketMessageReader(socket),
      new SocketMessageWriter(socket),
    );
    connections.add(c);
    c.onRequest(ECHO_METHOD, (params: { payload?: string }) => ({ payload: params.payload ?? "" }));
    socket.on("close", () => {
      c.dispose();
      connections.delete(c);
      sockets.delete(socket);
    });
    c.listen();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A vscode-jsonrpc echo client; `echo` resolves with the echoed payload. */
export async function createVscodeJsonRpcEchoClient(path: string): Promise<{
  echo(payload: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const c = createMessageConnection(
    new SocketMessageReader(socket),
    new SocketMessageWriter(socket),
  );
  c.listen();
  return {
    async echo(payload) {
      const res = (await c.sendRequest(ECHO_METHOD, {
        payload: Buffer.from(payload).toString("base64"),
      })) as { payload: string };
      return new Uint8Array(Buffer.from(res.payload, "base64"));
    },
    close: async () => {
      c.dispose();
      socket.destroy();
    },
  };
}
