import { Code, IpcError } from "@protoipc/runtime";
import { describe, expect, it } from "vitest";
import { WriteQueue } from "./write-queue.js";

const frame = (n: number) => new Uint8Array([n]);

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("WriteQueue", () => {
  it("accepts up to capacity at once, then makes callers wait in call order", async () => {
    const q = new WriteQueue<string>(2);
    const accepted: number[] = [];
    const offers = [0, 1, 2, 3].map((n) => q.offer(`t${n}`, frame(n)).then(() => accepted.push(n)));
    await settle();
    expect(accepted).toEqual([0, 1]);
    expect(q.length).toBe(2);
    expect(q.waiting).toBe(2);

    expect(q.peekTarget()).toBe("t0");
    expect(q.peekFrame()).toEqual(frame(0));
    q.shift();
    await settle();
    expect(accepted).toEqual([0, 1, 2]);
    q.shift();
    q.shift();
    await Promise.all(offers);
    expect(accepted).toEqual([0, 1, 2, 3]);
    expect(q.peekTarget()).toBe("t3");
    q.shift();
    expect(q.length).toBe(0);
  });

  it("keeps FIFO order across wrap-around and never lets a new caller overtake a waiting one", async () => {
    const q = new WriteQueue<undefined>(3);
    const out: number[] = [];
    const offers: Promise<void>[] = [];
    for (let n = 0; n < 10; n++) offers.push(q.offer(undefined, frame(n)));
    while (out.length < 10) {
      out.push(q.peekFrame()[0]!);
      q.shift();
      // A caller arriving while others wait queues behind them, even when a slot is free.
      if (out.length === 2) offers.push(q.offer(undefined, frame(10)));
    }
    out.push(q.peekFrame()[0]!);
    q.shift();
    await Promise.all(offers);
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("rejects waiting and later callers with the close error and drops queued frames", async () => {
    const q = new WriteQueue<undefined>(1);
    await q.offer(undefined, frame(0));
    const waiting = q.offer(undefined, frame(1));
    const error = new IpcError("closed", Code.Unavailable);
    q.close(error);
    q.close(new IpcError("again", Code.Internal));
    await expect(waiting).rejects.toBe(error);
    await expect(q.offer(undefined, frame(2))).rejects.toBe(error);
    expect(q.length).toBe(0);
  });
});
