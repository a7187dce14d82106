import { describe, expect, it } from "vitest";
import { Code, IpcError } from "./error.js";
import { UpdateQueue } from "./update-queue.js";

async function drain<T>(q: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of q) out.push(x);
  return out;
}

describe("UpdateQueue", () => {
  it("yields buffered items in order, then ends", async () => {
    const q = new UpdateQueue<number>(10);
    for (let i = 0; i < 5; i++) q.push(i);
    q.end();
    expect(await drain(q)).toEqual([0, 1, 2, 3, 4]);
  });

  it("hands items straight to a waiting reader", async () => {
    const q = new UpdateQueue<number>(1);
    const it = q[Symbol.asyncIterator]();
    const first = it.next();
    expect(q.push(42)).toBe(true);
    expect(await first).toEqual({ value: 42, done: false });
  });

  it("refuses an item past its limit instead of dropping one", () => {
    const q = new UpdateQueue<number>(2);
    expect(q.push(1)).toBe(true);
    expect(q.push(2)).toBe(true);
    expect(q.push(3)).toBe(false);
  });

  it("delivers buffered items before the failure", async () => {
    const q = new UpdateQueue<number>(10);
    q.push(1);
    q.fail(new IpcError("gone", Code.Unavailable));
    const it = q[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 1, done: false });
    await expect(it.next()).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("can be iterated only once", () => {
    const q = new UpdateQueue<number>(1);
    q[Symbol.asyncIterator]();
    expect(() => q[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it("compacts while a long stream is read", async () => {
    const q = new UpdateQueue<number>(100_000);
    for (let i = 0; i < 50_000; i++) q.push(i);
    q.end();
    const got = await drain(q);
    expect(got).toHaveLength(50_000);
    expect(got[49_999]).toBe(49_999);
  });
});
