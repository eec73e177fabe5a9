import type Database from "better-sqlite3";

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

  constructor(private readonly db: Database.Database) {}

  run<T>(write: () => T): Promise<T> {
    if (!this.open) {
      this.db.exec("BEGIN IMMEDIATE");
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
      for (const waiter of waiters) waiter.reject(err);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
