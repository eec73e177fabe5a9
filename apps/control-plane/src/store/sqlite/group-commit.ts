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
/**
 * How long a batch holding only writes nobody waits on (apply) stays open for later writes to
 * join. An agent's result is applied, answered and committed after: the next command's insert,
 * a moment later, then commits both in one transaction instead of waiting behind the first.
 */
const LAZY_COMMIT_MS = 2;

const isBusy = (err: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? "");

/** Another process holding the database's write lock past busy_timeout is a passing outage, not a bug. */
function storeError(err: unknown): unknown {
  if (!isBusy(err)) return err;
  return new ApiError("STORE_UNAVAILABLE", `The database is locked by another process (${(err as { code: string }).code}); try again shortly`, null, { "retry-after": String(RETRY_AFTER_S) });
}

/**
 * Group commit: every write of one event-loop turn shares one SQLite transaction, committed
 * in setImmediate (see below for writes nobody waits on). A single SQL statement is atomic on its own, so a failing write rolls back
 * alone; a write of several statements wraps them in db.transaction() (a SAVEPOINT inside the
 * open transaction). Under load this turns thousands of tiny commits per second into a few
 * hundred, which is where the command throughput comes from; with one writer it costs a single tick.
 *
 * `run` settles after the COMMIT. `apply` settles as soon as the write is made: this process's
 * reads (one connection) see it at once, and `committed()` tells when it is durable. A batch of
 * applied writes alone stays open for LAZY_COMMIT_MS (not twice in a row); a `run` joining it
 * commits it on the next turn, and shares its fate: a COMMIT that fails fails both.
 */
export class GroupCommit {
  private batch: Batch | undefined;
  /** When a batch last committed at the end of its lazy window (see write()). */
  private lazyCommittedAt = -Infinity;
  /** Until then the lock was last seen held by another process: waits are short, so a queue of writes does not freeze the loop a second each. */
  private outageUntil = 0;
  /** The last batch SQLite rolled back whole, until a later one commits (see committed()). */
  private lost: Promise<void> | undefined;
  private readonly beginStatement: Database.Statement;
  private readonly commitStatement: Database.Statement;

  /** `lazyCommitMs`: how long a batch of applied writes alone waits for others to join (LAZY_COMMIT_MS). */
  constructor(
    private readonly db: Database.Database,
    private readonly lazyCommitMs = LAZY_COMMIT_MS,
  ) {
    // Prepared once: exec() would parse the SQL again on every transaction.
    this.beginStatement = db.prepare("BEGIN IMMEDIATE");
    this.commitStatement = db.prepare("COMMIT");
  }

  /** Settles with the write's value once it is committed. */
  run<T>(write: () => T): Promise<T> {
    let value: T;
    try {
      value = this.write(write, true);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.batch!.promise.then(() => value);
  }

  /** Settles with the write's value as soon as it is made, before it is durable (see committed()). */
  apply<T>(write: () => T): Promise<T> {
    try {
      return Promise.resolve(this.write(write, false));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Settles once every write made so far is committed; rejects if their commit failed (they are gone). */
  committed(): Promise<void> {
    const open = this.batch?.promise;
    if (!this.lost) return open ?? Promise.resolve();
    return open ? Promise.all([this.lost, open]).then(() => undefined) : this.lost;
  }

  /** Makes the write in the open transaction, opening one if needed; `awaited`: its commit is due on the next turn. */
  private write<T>(write: () => T, awaited: boolean): T {
    if (!this.batch) {
      try {
        this.begin();
      } catch (err) {
        throw storeError(err);
      }
      // Lazy windows back to back would hold the write lock nearly all the time (outcomes
      // streaming in, no new commands): the admin CLI would wait out its busy timeout.
      const lazy = !awaited && Date.now() - this.lazyCommittedAt >= this.lazyCommitMs;
      this.batch = new Batch((lazily) => this.commit(lazily), lazy ? this.lazyCommitMs : undefined);
    } else if (awaited) this.batch.commitOnNextTurn();
    try {
      return write();
    } catch (err) {
      this.abandonIfRolledBack(err);
      throw err;
    }
  }

  /**
   * Some errors (SQLITE_FULL, SQLITE_IOERR) make SQLite roll back the whole transaction, not just
   * the statement: every write of the batch so far is gone. Its waiters hear so now, and the next
   * write opens a new transaction instead of running outside one and being reported failed.
   */
  private abandonIfRolledBack(err: unknown): void {
    const batch = this.batch;
    if (!batch || this.db.inTransaction) return;
    this.batch = undefined;
    batch.cancelSchedule();
    batch.reject(storeError(err));
    // Whoever wrote before the failure asks committed() after it, in this same turn (a result is
    // acknowledged only once durable): the loss must reach them, not a batch opened since.
    this.lost = batch.promise;
  }

  private begin(): void {
    const inOutage = Date.now() < this.outageUntil;
    if (inOutage) this.db.pragma(`busy_timeout = ${OUTAGE_PROBE_MS}`);
    try {
      this.beginStatement.run();
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
    if (this.batch) this.commit();
  }

  /** `lazily`: the batch's lazy window ran out. */
  private commit(lazily = false): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    batch.cancelSchedule();
    if (lazily) this.lazyCommittedAt = Date.now();
    try {
      this.commitStatement.run();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      batch.reject(storeError(err));
      return;
    }
    batch.resolve();
    this.lost = undefined; // a later batch is durable: what was lost has been reported by now
  }
}

/** One open transaction: who waits for its commit, and when the commit is due. */
class Batch {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  /**
   * Commits after `lazyCommitMs`, or on the next turn when it is undefined. `commit(lazily)`:
   * lazily when the window ran out, not when a waiter asked for the next turn.
   */
  constructor(
    private readonly commit: (lazily: boolean) => void,
    lazyCommitMs: number | undefined,
  ) {
    this.promise = new Promise<void>((res, rej) => ((this.resolve = res), (this.reject = rej)));
    this.promise.catch(() => {}); // reported to whoever waits for it
    if (lazyCommitMs === undefined) this.commitOnNextTurn();
    else this.timer = setTimeout(() => this.commit(true), lazyCommitMs);
  }

  commitOnNextTurn(): void {
    if (this.immediate) return;
    clearTimeout(this.timer);
    this.immediate = setImmediate(() => this.commit(false));
  }

  cancelSchedule(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
  }
}
