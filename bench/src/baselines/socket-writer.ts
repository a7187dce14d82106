/**
 * The writer of a zeromq.js socket, as a careful user writes it: zeromq.js allows one pending
 * `send()` per socket, so every message goes into one FIFO queue that a single drain loop
 * writes in order. `send()` on a socket that can queue resolves at once, so the loop rarely waits.
 *
 * A `send()` that fails with EAGAIN (the socket's `sendTimeout` passed while the peer's queue was
 * full) is retried with the same message, so nothing is dropped. With a short `sendTimeout` this
 * also recovers from a lost wake-up seen with zeromq.js 6.8.0: on a ROUTER_MANDATORY socket with
 * a `receive()` pending, a `send()` waiting for room at the high-water mark can stay pending
 * although the socket became writable (`socket.writable` is true), so without a timeout it would
 * wait forever.
 */
import type { MessageLike, Writable } from "zeromq";

/** A message as zeromq.js sends it: one frame, or the frames of a multipart message. */
export type OutgoingMessage = MessageLike | MessageLike[];

/** Default number of queued messages past which {@link SocketWriter.write} asks callers to wait. */
export const DEFAULT_WRITER_HIGH_WATER_MARK = 1024;

/**
 * Queues messages for one socket and writes them in order with one pending `send()` at a time.
 * Like a Node.js stream, `write()` returns false once `highWaterMark` messages are queued, and a
 * producer that can wait awaits `drained()` before writing more (backpressure).
 */
export class SocketWriter {
  readonly #socket: Writable & { readonly closed: boolean };
  readonly #onError: (error: unknown) => void;
  readonly #highWaterMark: number;
  #queue: OutgoingMessage[] = [];
  #head = 0;
  #draining = false;
  #drainWaiters: (() => void)[] = [];
  #timeoutRetries = 0;

  /**
   * @param socket the socket to write; the caller owns it and closes it.
   * @param onError called once per failed `send()` (e.g. the socket was closed); the message is dropped.
   * @param highWaterMark queued messages past which `write()` returns false; default 1024.
   */
  constructor(
    socket: Writable & { readonly closed: boolean },
    onError: (error: unknown) => void,
    highWaterMark = DEFAULT_WRITER_HIGH_WATER_MARK,
  ) {
    this.#socket = socket;
    this.#onError = onError;
    this.#highWaterMark = highWaterMark;
  }

  /**
   * Queues one message; it is written after every message queued before it. Returns false when
   * the queue holds `highWaterMark` messages or more: the caller should await `drained()`.
   */
  write(message: OutgoingMessage): boolean {
    this.#queue.push(message);
    if (!this.#draining) void this.#drain();
    return this.#queue.length - this.#head < this.#highWaterMark;
  }

  /** Number of sends retried after EAGAIN (send timeout) since creation. */
  get timeoutRetries(): number {
    return this.#timeoutRetries;
  }

  /** Resolves once every queued message was handed to the socket. */
  drained(): Promise<void> {
    if (!this.#draining) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#head < this.#queue.length) {
        const message = this.#queue[this.#head]!;
        try {
          await this.#socket.send(message);
        } catch (error) {
          if (isTimeout(error) && !this.#socket.closed) {
            this.#timeoutRetries++;
            continue; // the same message again
          }
          this.#onError(error);
        }
        this.#queue[this.#head++] = null; // let the sent message be collected
      }
      // The queue is empty: drop the consumed slots instead of shifting on every write.
      this.#queue = [];
      this.#head = 0;
    } finally {
      this.#draining = false;
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** Whether `error` is zeromq.js's EAGAIN: the send timed out. */
function isTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "EAGAIN";
}
