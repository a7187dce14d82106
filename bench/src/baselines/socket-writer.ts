/**
 * The writer of a zeromq.js socket, as a careful user writes it: zeromq.js allows one pending
 * `send()` per socket, so every message goes into one FIFO queue that a single drain loop
 * writes in order. `send()` on a socket that can queue resolves at once, so the loop rarely waits.
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
  readonly #socket: Writable;
  readonly #onError: (error: unknown) => void;
  readonly #highWaterMark: number;
  #queue: OutgoingMessage[] = [];
  #head = 0;
  #draining = false;
  #drainWaiters: (() => void)[] = [];

  /**
   * @param socket the socket to write; the caller owns it and closes it.
   * @param onError called once per failed `send()` (e.g. the socket was closed); the message is dropped.
   * @param highWaterMark queued messages past which `write()` returns false; default 1024.
   */
  constructor(
    socket: Writable,
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
        this.#queue[this.#head++] = null; // let the sent message be collected
        try {
          await this.#socket.send(message);
        } catch (error) {
          this.#onError(error);
        }
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
