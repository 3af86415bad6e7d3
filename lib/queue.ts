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
}

export class SerialQueue {
  // Insertion-ordered, so FIFO; deleting an aborted entry is O(1).
  readonly #waiting = new Set<Waiting>();
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
      const onAbort = (): void => {
        if (this.#waiting.delete(entry)) reject(abortError(signal!));
      };
      const entry: Waiting = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          let promise: Promise<T>;
          try {
            promise = task();
          } catch (err) {
            promise = Promise.reject(err);
          }
          promise.then(resolve, reject).finally(() => this.#next());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.add(entry);
      if (!this.#running) this.#next();
    });
  }

  #next(): void {
    const first = this.#waiting.values().next();
    if (first.done) {
      this.#running = false;
      return;
    }
    this.#running = true;
    this.#waiting.delete(first.value);
    first.value.start();
  }
}
