/**
 * Deadlines of many calls on one timer. A `setTimeout` and an `AbortController` per call cost more
 * than the rest of a small unary call (measured: bench/README.md), so every call's deadline lives in
 * one binary min-heap and a single timer is armed for the earliest. Adding and removing an entry
 * is O(log n) in the calls in flight; the timer is re-armed only when a new entry is due before
 * the armed one, so a steady stream of calls with the same timeout arms it once per timeout.
 */

/** An entry of the scheduler: a call's deadline and what to do when it passes. */
export abstract class Deadline {
  /** Absolute deadline, milliseconds since the Unix epoch. */
  deadline = 0;
  /** Position in the heap; -1 when not scheduled. */
  heapIndex = -1;
  /** Called once when the deadline passes while scheduled. */
  abstract onDeadline(): void;
}

class DeadlineScheduler {
  private readonly heap: Deadline[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  /** Schedules `entry` for `entry.deadline`. */
  add(entry: Deadline): void {
    const heap = this.heap;
    entry.heapIndex = heap.length;
    heap.push(entry);
    this.up(entry.heapIndex);
    if (entry.deadline < this.armedFor) this.arm(entry.deadline);
    else if (heap.length === 1) this.timer?.ref();
  }

  /** Unschedules `entry`; a no-op when it is not scheduled. The timer is left armed (it re-arms when it fires). */
  remove(entry: Deadline): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.heapIndex = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (i < heap.length) {
      heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
    // The timer stays armed (it re-arms when it fires); with nothing scheduled it must not keep
    // the process alive, so it is unref'd until the next entry arrives.
    if (heap.length === 0) this.timer?.unref();
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      const entry = heap[0]!;
      this.remove(entry);
      try {
        entry.onDeadline();
      } catch (e) {
        // One failing callback must not keep the other deadlines from firing.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    if (heap.length > 0) this.arm(heap[0]!.deadline);
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.deadline <= entry.deadline) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.deadline < heap[child]!.deadline) child++;
      const c = heap[child]!;
      if (entry.deadline <= c.deadline) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }
}

/** The process-wide scheduler shared by every client and server of this runtime. */
export const deadlines = new DeadlineScheduler();
