import { Code, IpcError } from "./error.js";

/** Default of `CallOptions.maxBufferedUpdates`. */
export const DEFAULT_MAX_BUFFERED_UPDATES = 65_536;

/**
 * A bounded single-consumer queue of a call's progress updates or stream items, read as an
 * AsyncIterable. Producers push; the one consumer iterates. When more than `limit` items wait
 * unread, `push` returns false and the caller fails the call with `Code.ResourceExhausted`:
 * updates are never dropped silently.
 */
export class UpdateQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private done = false;
  private failure: IpcError | undefined;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private waiterReject: ((e: unknown) => void) | undefined;
  private iterated = false;

  constructor(private readonly limit: number) {}

  /** Adds one item; false when `limit` items are already waiting. */
  push(item: T): boolean {
    if (this.done) return true;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      this.waiterReject = undefined;
      w({ value: item, done: false });
      return true;
    }
    if (this.items.length - this.head >= this.limit) return false;
    this.items.push(item);
    return true;
  }

  /** Ends the queue normally: the consumer sees the buffered items, then the end. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.settleWaiter();
  }

  /** Ends the queue with an error: the consumer sees the buffered items, then the error. */
  fail(error: IpcError): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    this.settleWaiter();
  }

  private settleWaiter(): void {
    const w = this.waiter;
    const rej = this.waiterReject;
    this.waiter = undefined;
    this.waiterReject = undefined;
    if (w === undefined) return;
    if (this.failure !== undefined) rej?.(this.failure);
    else w({ value: undefined, done: true });
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.failure !== undefined) return Promise.reject(this.failure);
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.waiterReject = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) {
      throw new IpcError(
        "the updates of a call can be iterated only once",
        Code.FailedPrecondition,
      );
    }
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        // The consumer stopped reading; drop what it will never see.
        this.items = [];
        this.head = 0;
        this.done = true;
        this.failure = undefined;
        this.settleWaiter();
        return { value: undefined, done: true };
      },
    };
  }
}
