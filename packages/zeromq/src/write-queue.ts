import type { IpcError } from "@protoipc/runtime";

/**
 * Most frames a writer puts into one ZeroMQ message when several are queued: each frame is one
 * part, so libzmq and zeromq.js pay their per-message cost once per batch.
 */
export const MAX_BATCH_FRAMES = 32;

/** A batch stops growing once it holds this many bytes, so one batch never hogs the socket. */
export const MAX_BATCH_BYTES = 256 * 1024;

/** One shared settled promise, so the common `send` (queue has room) allocates nothing. */
const RESOLVED: Promise<void> = Promise.resolve();

interface Waiter<T> {
  readonly target: T;
  readonly frame: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: IpcError) => void;
}

/**
 * The bounded FIFO between `send` callers and a channel's single writer loop: a ring buffer of
 * `capacity` (target, frame) entries plus the callers waiting for room.
 *
 * Policy when full: `offer` waits, in call order, until the writer `shift`s an entry out; a
 * caller never overtakes an earlier waiting caller, so frames keep the order of `send` calls.
 * Not thread-safe (nothing in Node needs it to be); the writer owns the head.
 */
export class WriteQueue<T> {
  /** Entries the ring holds; callers past it wait. */
  readonly capacity: number;
  private readonly targets: (T | undefined)[];
  private readonly frames: (Uint8Array | undefined)[];
  private head = 0;
  private size = 0;
  private waiters: (Waiter<T> | undefined)[] = [];
  private waitersHead = 0;
  private closedError: IpcError | undefined;

  /** @param capacity entries held before `offer` waits; at least 1 */
  constructor(capacity: number) {
    this.capacity = capacity;
    this.targets = new Array<T | undefined>(capacity).fill(undefined);
    this.frames = new Array<Uint8Array | undefined>(capacity).fill(undefined);
  }

  /** Entries ready for the writer. */
  get length(): number {
    return this.size;
  }

  /** Callers waiting for room. */
  get waiting(): number {
    return this.waiters.length - this.waitersHead;
  }

  /**
   * Appends one entry. Resolves at once when there is room and nobody waits; otherwise once the
   * writer made room for it.
   *
   * @throws IpcError (rejects with) the error given to `close`, once closed
   */
  offer(target: T, frame: Uint8Array): Promise<void> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    if (this.size < this.capacity && this.waitersHead === this.waiters.length) {
      this.push(target, frame);
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, frame, resolve, reject });
    });
  }

  /** Target of the oldest entry; only valid while `length > 0`. */
  peekTarget(): T {
    return this.targets[this.head] as T;
  }

  /** Frame of the oldest entry; only valid while `length > 0`. */
  peekFrame(): Uint8Array {
    return this.frames[this.head] as Uint8Array;
  }

  /** Target of the entry `i` places behind the oldest; only valid while `i < length`. */
  peekTargetAt(i: number): T {
    return this.targets[(this.head + i) % this.capacity] as T;
  }

  /** Frame of the entry `i` places behind the oldest; only valid while `i < length`. */
  peekFrameAt(i: number): Uint8Array {
    return this.frames[(this.head + i) % this.capacity] as Uint8Array;
  }

  /** Removes the oldest entry and lets the longest-waiting caller in. */
  shift(): void {
    if (this.size === 0) return;
    this.targets[this.head] = undefined;
    this.frames[this.head] = undefined;
    if (++this.head === this.capacity) this.head = 0;
    this.size--;
    if (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead]!;
      this.waiters[this.waitersHead++] = undefined;
      if (this.waitersHead === this.waiters.length) {
        this.waiters = [];
        this.waitersHead = 0;
      }
      this.push(waiter.target, waiter.frame);
      waiter.resolve();
    }
  }

  /** Drops every entry and rejects every waiting caller and every later `offer` with `error`. Idempotent. */
  close(error: IpcError): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    this.targets.fill(undefined);
    this.frames.fill(undefined);
    this.size = 0;
    const waiters = this.waiters;
    const from = this.waitersHead;
    this.waiters = [];
    this.waitersHead = 0;
    for (let i = from; i < waiters.length; i++) waiters[i]!.reject(error);
  }

  private push(target: T, frame: Uint8Array): void {
    let tail = this.head + this.size;
    if (tail >= this.capacity) tail -= this.capacity;
    this.targets[tail] = target;
    this.frames[tail] = frame;
    this.size++;
  }
}
