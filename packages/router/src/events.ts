/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/**
 * A minimal typed event emitter: `on` returns the unsubscribe function; a throwing listener is
 * reported as a process warning and does not stop the others (or the router).
 */
export class TypedEvents<E> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    // A Set iterates entries added or removed during the loop correctly; no copy per event.
    for (const l of set) {
      try {
        (l as Listener<E[K]>)(value);
      } catch (e) {
        process.emitWarning(`protoipc: ${String(event)} listener failed: ${(e as Error).message}`);
      }
    }
  }
}
