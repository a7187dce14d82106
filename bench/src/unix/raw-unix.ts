/**
 * Baseline: a hand-written length-prefixed echo over a Node Unix socket, no protoipc. Frame:
 * `[u32 big-endian length N][N bytes]`, the first 8 bytes of a request being its correlation
 * id; the server writes every frame back unchanged. The client keeps a `Map` of pending calls;
 * both sides parse with one reusable header buffer and batch writes per tick (cork/uncork).
 */
import { connect, createServer, type Socket } from "node:net";

/** Cuts `[u32 length][payload]` frames from a byte stream; calls `onFrame` with each. */
function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let at = 0;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32BE(at);
      if (buf.length - at - 4 < n) break;
      onFrame(buf.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    if (at < buf.length) pending = buf.subarray(at);
    buf = Buffer.alloc(0);
  };
}

function writeFrame(socket: Socket, payload: Uint8Array, corked: { v: boolean }): void {
  if (!corked.v) {
    corked.v = true;
    socket.cork();
    process.nextTick(() => {
      corked.v = false;
      socket.uncork();
    });
  }
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(payload.byteLength, 0);
  socket.write(header);
  socket.write(payload);
}

/** Serves the raw echo on `path`; resolves once listening. */
export async function serveRawUnixEcho(path: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const corked = { v: false };
    socket.on(
      "data",
      frameReader((frame) => writeFrame(socket, frame, corked)),
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

/** A raw echo client; `echo` resolves with the echoed payload. */
export async function createRawUnixEchoClient(path: string): Promise<{
  echo(payload: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const pending = new Map<bigint, (payload: Uint8Array) => void>();
  let nextId = 1n;
  const corked = { v: false };
  socket.on(
    "data",
    frameReader((frame) => {
      const id = frame.readBigUInt64BE(0);
      const resolve = pending.get(id);
      if (resolve === undefined) return;
      pending.delete(id);
      resolve(frame.subarray(8));
    }),
  );
  return {
    echo(payload) {
      const id = nextId++;
      const frame = Buffer.allocUnsafe(8 + payload.byteLength);
      frame.writeBigUInt64BE(id, 0);
      frame.set(payload, 8);
      return new Promise((resolve) => {
        pending.set(id, resolve);
        writeFrame(socket, frame, corked);
      });
    },
    close: async () => {
      socket.destroy();
    },
  };
}
