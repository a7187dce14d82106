/**
 * The raw zeromq.js baseline: what a careful user writes by hand with a DEALER client and a
 * ROUTER server and no framework. One frame per message, carrying a hand-rolled 8-byte
 * correlation id so many calls can be in flight; one reader loop and one writer queue per socket.
 *
 * Wire format (all integers little-endian):
 * - echo request and reply: `[id u64][payload]`, the server returns the frame unchanged;
 * - flood request: `[id u64][count u32]`; each update `[id u64][1 u8][sequence u64]`, sequences
 *   1..count; then the result `[id u64][2 u8][sent u32]`.
 */
import { Dealer, Router } from "zeromq";
import { SocketWriter } from "./socket-writer.js";

const ID_BYTES = 8;
const FLOOD_UPDATE = 1;
const FLOOD_RESULT = 2;
const TWO_POW_32 = 2 ** 32;
/**
 * Send timeout of the server's ROUTER sockets, in milliseconds: a send waiting this long for room
 * at the high-water mark fails with EAGAIN and the writer retries it (see SocketWriter).
 */
const SERVER_SEND_TIMEOUT_MS = 20;

/** Writes the correlation id `id` (an integer below 2^53) at the start of `frame`. */
function writeId(frame: Buffer, id: number): void {
  frame.writeUInt32LE(id >>> 0, 0);
  frame.writeUInt32LE(Math.floor(id / TWO_POW_32), 4);
}

/** Reads the correlation id at the start of `frame`. */
function readId(frame: Buffer): number {
  return frame.readUInt32LE(0) + frame.readUInt32LE(4) * TWO_POW_32;
}

/** A call waiting for frames with its id. */
interface PendingCall {
  /** One frame addressed to this call. */
  onFrame(frame: Buffer): void;
  /** The client closed before the call ended. */
  onClose(error: Error): void;
}

/** The client side of the raw baseline: one DEALER socket per server socket. */
export interface RawZmqClient {
  /** Sends `payload` and resolves with the echoed bytes. */
  echo(payload: Uint8Array): Promise<Buffer>;
  /**
   * Asks the flood socket's server for `count` updates; `onUpdate` sees each sequence number in
   * arrival order. Resolves with the server's count of sent updates.
   */
  flood(count: number, onUpdate: (sequence: bigint) => void): Promise<number>;
  /** Closes both sockets and rejects the calls still pending. */
  close(): Promise<void>;
}

/** Addresses of the raw baseline's server sockets. */
export interface RawZmqAddresses {
  /** The echo ROUTER, e.g. `ipc:///tmp/protoipc-bench-x/raw-echo.sock`. */
  readonly echo: string;
  /** The flood ROUTER. */
  readonly flood: string;
}

/**
 * One DEALER socket with a correlation-id table, a reader loop and a writer queue. The client
 * uses one per server socket, so echo replies and flood updates never share a reader.
 */
class CorrelatedDealer {
  readonly #socket: Dealer;
  readonly #writer: SocketWriter;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #closed = false;

  constructor(address: string) {
    // linger 0: closing discards unsent messages instead of keeping the process alive.
    this.#socket = new Dealer({ linger: 0 });
    this.#socket.connect(address);
    this.#writer = new SocketWriter(this.#socket, (error) => this.#fail(error));
    void this.#read();
  }

  /** Registers `call` under a new id, returns the id. */
  add(call: PendingCall): number {
    const id = this.#nextId++;
    this.#pending.set(id, call);
    return id;
  }

  /** Forgets the call with `id`. */
  delete(id: number): void {
    this.#pending.delete(id);
  }

  /** Queues one frame for the server. */
  write(frame: Buffer): void {
    if (this.#closed) throw new Error("raw zeromq client is closed");
    this.#writer.write(frame);
  }

  async #read(): Promise<void> {
    try {
      for await (const [frame] of this.#socket) {
        if (frame === undefined || frame.length < ID_BYTES) continue;
        this.#pending.get(readId(frame))?.onFrame(frame);
      }
    } catch (error) {
      if (!this.#closed) this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    const reason = error instanceof Error ? error : new Error(String(error));
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) call.onClose(reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    this.#fail(new Error("raw zeromq client closed"));
  }
}

/** The echo half of the raw baseline's client: one DEALER socket to a ROUTER that echoes frames. */
export interface RawZmqEchoClient {
  /** Sends `payload` and resolves with the echoed bytes. */
  echo(payload: Uint8Array): Promise<Buffer>;
  /** Closes the socket and rejects the calls still pending. */
  close(): Promise<void>;
}

/** Sends `payload` as `[id][payload]` through `dealer` and resolves with the echoed payload. */
function echoThrough(dealer: CorrelatedDealer, payload: Uint8Array): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const id = dealer.add({
      onFrame(frame) {
        dealer.delete(id);
        resolve(frame.subarray(ID_BYTES));
      },
      onClose: reject,
    });
    const frame = Buffer.allocUnsafe(ID_BYTES + payload.length);
    writeId(frame, id);
    frame.set(payload, ID_BYTES);
    dealer.write(frame);
  });
}

/**
 * Connects the raw baseline's echo client to `address`, a ROUTER that returns every
 * `[routing id, frame]` unchanged: the zeromq.js ROUTER of {@link serveRawZmq} or the raw pyzmq
 * ROUTER of bench/python/raw_pyzmq_echo_server.py. The caller closes it.
 */
export function createRawZmqEchoClient(address: string): RawZmqEchoClient {
  const dealer = new CorrelatedDealer(address);
  return {
    echo: (payload) => echoThrough(dealer, payload),
    async close() {
      dealer.close();
    },
  };
}

/** Connects the raw baseline's client to `addresses`. The caller closes it. */
export function createRawZmqClient(addresses: RawZmqAddresses): RawZmqClient {
  const echoDealer = new CorrelatedDealer(addresses.echo);
  const floodDealer = new CorrelatedDealer(addresses.flood);
  return {
    echo: (payload) => echoThrough(echoDealer, payload),
    flood(count, onUpdate) {
      return new Promise<number>((resolve, reject) => {
        const id = floodDealer.add({
          onFrame(frame) {
            if (frame[ID_BYTES] === FLOOD_UPDATE) {
              onUpdate(frame.readBigUInt64LE(ID_BYTES + 1));
            } else if (frame[ID_BYTES] === FLOOD_RESULT) {
              floodDealer.delete(id);
              resolve(frame.readUInt32LE(ID_BYTES + 1));
            }
          },
          onClose: reject,
        });
        const frame = Buffer.allocUnsafe(ID_BYTES + 4);
        writeId(frame, id);
        frame.writeUInt32LE(count, ID_BYTES);
        floodDealer.write(frame);
      });
    },
    async close() {
      echoDealer.close();
      floodDealer.close();
    },
  };
}

/** A running raw baseline server; see {@link serveRawZmq}. */
export interface RawZmqServer {
  /** Closes both sockets; the reader loops end. */
  close(): Promise<void>;
}

/**
 * Binds the raw baseline's two ROUTER sockets: the echo socket returns every frame unchanged, the
 * flood socket answers each flood request with its updates and result, waiting on the writer's
 * backpressure so nothing is dropped.
 *
 * Both routers set `mandatory`: a careful user's choice, since a ROUTER otherwise drops messages
 * silently when a peer's high-water mark is reached. With it, a send to a full peer waits; a short
 * `sendTimeout` plus the writer's retry keeps such a wait from hanging on a lost wake-up.
 */
export async function serveRawZmq(addresses: RawZmqAddresses): Promise<RawZmqServer> {
  const options = { linger: 0, mandatory: true, sendTimeout: SERVER_SEND_TIMEOUT_MS };
  const echo = new Router(options);
  const flood = new Router(options);
  await echo.bind(addresses.echo);
  await flood.bind(addresses.flood);
  const report = (error: unknown) => console.error("raw zeromq server: send failed:", error);
  const echoWriter = new SocketWriter(echo, report);
  const floodWriter = new SocketWriter(flood, report);
  let closed = false;

  const serveEcho = async () => {
    for await (const [peer, frame] of echo) {
      if (peer !== undefined && frame !== undefined) echoWriter.write([peer, frame]);
    }
  };
  const sendFlood = async (peer: Buffer, request: Buffer) => {
    const count = request.readUInt32LE(ID_BYTES);
    for (let sequence = 1; sequence <= count && !closed; sequence++) {
      const update = Buffer.allocUnsafe(ID_BYTES + 9);
      request.copy(update, 0, 0, ID_BYTES);
      update[ID_BYTES] = FLOOD_UPDATE;
      update.writeBigUInt64LE(BigInt(sequence), ID_BYTES + 1);
      if (!floodWriter.write([peer, update])) await floodWriter.drained();
    }
    const result = Buffer.allocUnsafe(ID_BYTES + 5);
    request.copy(result, 0, 0, ID_BYTES);
    result[ID_BYTES] = FLOOD_RESULT;
    result.writeUInt32LE(count, ID_BYTES + 1);
    floodWriter.write([peer, result]);
  };
  const serveFlood = async () => {
    for await (const [peer, request] of flood) {
      if (peer !== undefined && request !== undefined && request.length >= ID_BYTES + 4) {
        void sendFlood(peer, request);
      }
    }
  };
  const loops = Promise.allSettled([serveEcho(), serveFlood()]);

  return {
    async close() {
      if (closed) return;
      closed = true;
      echo.close();
      flood.close();
      await loops;
      const retries = echoWriter.timeoutRetries + floodWriter.timeoutRetries;
      if (retries > 0) console.error(`raw zeromq server: ${retries} sends retried after a timeout`);
    },
  };
}
