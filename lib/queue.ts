/**
 * A first-in, first-out queue that runs one task at a time. Each model has one: a
 * native call occupies one libuv pool thread while it runs, so calls waiting here cost
 * nothing, and fs, dns, crypto and zlib work of the whole process keeps the other pool
 * threads (the engine's own thread pool does the parallel work of a call).
 */

/** The error of an aborted call, as Node's own APIs raise it. */
export function abortError(signal: AbortSignal): Error {
  const err = new DOMException("The operation was aborted", "AbortError");
  Object.defineProperty(err, "cause", { value: signal.reason, enumerable: false, configurable: true, writable: true });
  return err;
}

interface Waiting {
  start(): void;
  abort(signal: AbortSignal): void;
  signal: AbortSignal | undefined;
}

export class SerialQueue {
  // Insertion-ordered, so FIFO; deleting an aborted entry is O(1).
  readonly #waiting = new Set<Waiting>();
  // One abort listener per signal however many calls share it (Node warns past ten).
  readonly #bySignal = new Map<AbortSignal, { entries: Set<Waiting>; listener: () => void }>();
  #running = false;

  /** Calls still waiting (not counting the one running). */
  get pending(): number {
    return this.#waiting.size;
  }

  /**
   * Runs task when every earlier task has settled. An abort of signal while the task
   * still waits drops it and rejects with an AbortError; a running task finishes.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        signal,
        start: () => {
          let promise: Promise<T>;
          try {
            promise = task();
          } catch (err) {
            promise = Promise.reject(err);
          }
          promise.then(resolve, reject).finally(() => this.#next());
        },
        abort: (s) => reject(abortError(s)),
      };
      this.#waiting.add(entry);
      if (signal) this.#watch(signal, entry);
      if (!this.#running) this.#next();
    });
  }

  #watch(signal: AbortSignal, entry: Waiting): void {
    let watched = this.#bySignal.get(signal);
    if (!watched) {
      const entries = new Set<Waiting>();
      const listener = (): void => {
        this.#bySignal.delete(signal);
        for (const e of entries) if (this.#waiting.delete(e)) e.abort(signal);
      };
      watched = { entries, listener };
      this.#bySignal.set(signal, watched);
      signal.addEventListener("abort", listener, { once: true });
    }
    watched.entries.add(entry);
  }

  #unwatch(entry: Waiting): void {
    const signal = entry.signal;
    const watched = signal && this.#bySignal.get(signal);
    if (!watched) return;
    watched.entries.delete(entry);
    if (watched.entries.size === 0) {
      signal.removeEventListener("abort", watched.listener);
      this.#bySignal.delete(signal);
    }
  }

  #next(): void {
    const first = this.#waiting.values().next();
    if (first.done) {
      this.#running = false;
      return;
    }
    this.#running = true;
    this.#waiting.delete(first.value);
    this.#unwatch(first.value);
    first.value.start();
  }
}
