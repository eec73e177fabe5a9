import type Database from "better-sqlite3";
import { ApiError } from "../../errors/api-error.js";

const RETRY_AFTER_S = 5;
/**
 * How long a write waits for another process's write lock. The wait blocks the event loop (every
 * request and tunnel): the admin CLI is done within milliseconds, a longer holder is an outage.
 */
export const BUSY_TIMEOUT_MS = 1_000;
/** After a write found the lock held that long, the next ones only glance at it for a while. */
const OUTAGE_PROBE_MS = 50;
const OUTAGE_WINDOW_MS = RETRY_AFTER_S * 1_000;

const isBusy = (err: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? "");

/** Another process holding the database's write lock past busy_timeout is a passing outage, not a bug. */
function storeError(err: unknown): unknown {
  if (!isBusy(err)) return err;
  return new ApiError("STORE_UNAVAILABLE", `The database is locked by another process (${(err as { code: string }).code}); try again shortly`, null, { "retry-after": String(RETRY_AFTER_S) });
}

/**
 * Group commit: every write of one event-loop turn shares one SQLite transaction, committed
 * in setImmediate, and each caller's promise settles only after that COMMIT. A single SQL
 * statement is atomic on its own, so a failing write rolls back alone; a write of several
 * statements wraps them in db.transaction() (a SAVEPOINT inside the open transaction). Under load this turns
 * thousands of tiny commits per second into a few hundred, which is where the command
 * throughput comes from; with one writer it costs a single tick.
 */
export class GroupCommit {
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private open = false;
  /** Until then the lock was last seen held by another process: waits are short, so a queue of writes does not freeze the loop a second each. */
  private outageUntil = 0;

  constructor(private readonly db: Database.Database) {}

  run<T>(write: () => T): Promise<T> {
    if (!this.open) {
      try {
        this.begin();
      } catch (err) {
        return Promise.reject(storeError(err));
      }
      this.open = true;
      setImmediate(() => this.commit());
    }
    let value: T;
    try {
      value = write();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ resolve: () => resolve(value), reject });
    });
  }

  private begin(): void {
    const inOutage = Date.now() < this.outageUntil;
    if (inOutage) this.db.pragma(`busy_timeout = ${OUTAGE_PROBE_MS}`);
    try {
      this.db.exec("BEGIN IMMEDIATE");
      this.outageUntil = 0;
    } catch (err) {
      if (isBusy(err)) this.outageUntil = Date.now() + OUTAGE_WINDOW_MS;
      throw err;
    } finally {
      if (inOutage) this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** Commits now (used on close). */
  flush(): void {
    if (this.open) this.commit();
  }

  private commit(): void {
    const waiters = this.waiters;
    this.waiters = [];
    this.open = false;
    try {
      this.db.exec("COMMIT");
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      for (const waiter of waiters) waiter.reject(storeError(err));
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
