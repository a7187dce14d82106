/**
 * The command-frame echo (issue 4, PoppoBuilder's wire): the client sends the payload, base64, as
 * `project.add { path }` and the server answers `result.added` with the same string.
 *
 * - `protoipc`: the generated poppo client and a protoipc server on the command-frame binding
 *   (`@protoipc/unix`), authenticated with the default mutual HMAC.
 * - `raw`: what PoppoBuilder's own daemon and client do, hand-written on `node:net`: `POPPO` +
 *   u32 length + `JSON.stringify` of the message, a `Map` of pending ids, a static token.
 */
import { randomUUID } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { DaemonService } from "@protoipc/poppo-sdk";
import { createClient, createServer as createIpcServer } from "@protoipc/runtime";
import { createCommandFrameServerTransport, createCommandFrameTransport } from "@protoipc/unix";

const SECRET = "bench-secret";

/** Serves the protoipc command-frame echo on `path`; resolves once listening. */
export async function serveProtoipcCommandFrameEcho(
  path: string,
): Promise<{ close(): Promise<void> }> {
  const server = createIpcServer(
    createCommandFrameServerTransport({
      endpoint: { path },
      services: [DaemonService],
      secret: SECRET,
    }),
  );
  server.register(DaemonService, { projectAdd: (req) => ({ result: { added: req.path } }) });
  await server.listen();
  return { close: () => server.close() };
}

/** A connected protoipc command-frame echo client. */
export function createProtoipcCommandFrameEchoClient(path: string) {
  const transport = createCommandFrameTransport({ endpoint: { path }, secret: SECRET });
  const poppo = createClient(DaemonService, transport);
  return {
    async echo(payload: Uint8Array): Promise<Uint8Array> {
      const r = await poppo.projectAdd({ path: Buffer.from(payload).toString("base64") });
      return Buffer.from(String(r.result?.added), "base64");
    },
    close: () => transport.close(),
  };
}

function frame(message: object): Buffer {
  const body = Buffer.from(
    JSON.stringify({ ...message, version: "1.0.0", timestamp: Date.now() }),
    "utf8",
  );
  const header = Buffer.allocUnsafe(9);
  header.write("POPPO", 0, "ascii");
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** Cuts POPPO frames from a stream and parses their JSON, as the daemon's protocol.js does. */
function reader(onMessage: (m: Record<string, unknown>) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 9) {
      const n = buf.readUInt32BE(5);
      if (buf.length < 9 + n) break;
      onMessage(JSON.parse(buf.toString("utf8", 9, 9 + n)));
      buf = buf.subarray(9 + n);
    }
  };
}

/** Serves the raw PoppoBuilder-style echo on `path`; resolves once listening. */
export async function serveRawCommandFrameEcho(path: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let authed = false;
    socket.write(frame({ type: "welcome", authRequired: true }));
    socket.on(
      "data",
      reader((m) => {
        if (m.type === "auth") {
          authed = m.token === SECRET;
          socket.write(
            frame(authed ? { type: "auth-success", id: m.id } : { type: "error", id: m.id }),
          );
        } else if (authed && m.type === "command") {
          const args = m.payload as { path: string };
          socket.write(
            frame({ type: "response", id: m.id, success: true, result: { added: args.path } }),
          );
        }
      }),
    );
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

/** A connected, authenticated raw PoppoBuilder-style echo client. */
export async function createRawCommandFrameEchoClient(path: string) {
  const socket = connect(path);
  const pending = new Map<string, (m: Record<string, unknown>) => void>();
  let authed!: () => void;
  const ready = new Promise<void>((resolve) => {
    authed = resolve;
  });
  socket.on(
    "data",
    reader((m) => {
      if (m.type === "welcome") socket.write(frame({ type: "auth", id: "auth", token: SECRET }));
      else if (m.type === "auth-success") authed();
      else {
        pending.get(String(m.id))?.(m);
        pending.delete(String(m.id));
      }
    }),
  );
  await ready;
  return {
    echo(payload: Uint8Array): Promise<Uint8Array> {
      return new Promise((resolve) => {
        const id = randomUUID();
        pending.set(id, (m) =>
          resolve(Buffer.from(String((m.result as { added: string }).added), "base64")),
        );
        const args = { path: Buffer.from(payload).toString("base64") };
        socket.write(frame({ type: "command", id, command: "project.add", args, payload: args }));
      });
    },
    close: async () => {
      socket.destroy();
    },
  };
}
