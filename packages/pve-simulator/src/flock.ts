import { PveError } from "./errors.js";

interface FileState {
  shared: number;
  exclusive: boolean;
  waiters: Array<{ shared: boolean; grant: () => void }>;
}

/**
 * flock(2) as PVE uses it on `/var/lock/qemu-server/lock-<vmid>.conf` (lock_file_full): shared
 * and exclusive holders, a caller waits up to its timeout and then fails with PVE's
 * "can't lock file '<file>' - got timeout". Like Linux flock, waiting writers get no preference.
 * Lock files are per node (/var/lock is local), so keys carry the node.
 */
export class FileLocks {
  /** Every acquisition that gave up on a timeout, for tests to prove contention happened. */
  timeouts = 0;
  private readonly files = new Map<string, FileState>();

  static qemuConf(vmid: number): string {
    return `/var/lock/qemu-server/lock-${vmid}.conf`;
  }

  /** Resolves with a release function once held; rejects with PVE's timeout error. */
  acquire(node: string, file: string, options: { shared?: boolean; timeoutMs: number }): Promise<() => void> {
    const key = `${node}:${file}`;
    const state = this.files.get(key) ?? { shared: 0, exclusive: false, waiters: [] };
    this.files.set(key, state);
    const shared = options.shared ?? false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (shared) state.shared--;
      else state.exclusive = false;
      this.wake(key, state);
    };
    if (this.grantable(state, shared)) {
      this.take(state, shared);
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        shared,
        grant: () => {
          clearTimeout(timer);
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        state.waiters.splice(state.waiters.indexOf(waiter), 1);
        this.timeouts++;
        reject(new PveError(500, `can't lock file '${file}' - got timeout\n`));
      }, options.timeoutMs);
      state.waiters.push(waiter);
    });
  }

  /** Runs `work` holding the lock. */
  async with<T>(node: string, file: string, options: { shared?: boolean; timeoutMs: number }, work: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire(node, file, options);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private grantable(state: FileState, shared: boolean): boolean {
    return shared ? !state.exclusive : !state.exclusive && state.shared === 0;
  }

  private take(state: FileState, shared: boolean): void {
    if (shared) state.shared++;
    else state.exclusive = true;
  }

  private wake(key: string, state: FileState): void {
    for (const waiter of [...state.waiters]) {
      if (!this.grantable(state, waiter.shared)) continue;
      state.waiters.splice(state.waiters.indexOf(waiter), 1);
      this.take(state, waiter.shared);
      waiter.grant();
    }
    if (!state.exclusive && state.shared === 0 && state.waiters.length === 0) this.files.delete(key);
  }
}
