/**
 * Waits in `queue` until handed a turn. A waiter whose signal aborts leaves the queue at once
 * and rejects with the signal's reason, so a command past its timeout or cancelled does not
 * sit behind a long task holding its slot.
 */
function waitForTurn(queue: Array<() => void>, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      queue.splice(queue.indexOf(turn), 1);
      reject(signal!.reason);
    };
    const turn = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    queue.push(turn);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** At most `limit` holders at once; the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // A released slot passes straight to the next waiter, so `active` counts it all along.
    if (this.active >= this.limit) await waitForTurn(this.waiting, signal);
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** One holder per key: operations on the same VM run one at a time. */
export class KeyedMutex {
  /** A key is held while present; its array holds the waiters. */
  private readonly held = new Map<string, Array<() => void>>();

  async run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const waiting = this.held.get(key);
    if (waiting) await waitForTurn(waiting, signal);
    else this.held.set(key, []);
    try {
      return await work();
    } finally {
      const next = this.held.get(key)!.shift();
      if (next) next();
      else this.held.delete(key);
    }
  }
}
