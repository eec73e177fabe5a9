import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { CommandOutcome } from "@botmox/protocol";
import { sqliteOptions } from "../native/native-addons.js";

type Row = { id: string; status: string; result: string | null; error: string | null; started_at: number | null; finished_at: number | null };

/** The outcome of a command cancelled before it ran, with the control plane's reason when it gave one. */
export function cancelledBeforeStart(reason?: string): { code: string; message: string } {
  return { code: "COMMAND_CANCELLED", message: `Cancelled before it started${reason ? `: ${reason}` : ""}` };
}

export type BeginResult = { kind: "new" } | { kind: "running" } | { kind: "done"; outcome: CommandOutcome };

/**
 * The agent's command journal: every command id is recorded before the agent runs it or says it
 * accepted it, and its outcome before the result is sent. A redelivered id is answered
 * from here instead of running again, and results stay here until the control plane acks them.
 * WAL with synchronous=NORMAL: survives a killed process; an OS crash may lose the last instants.
 *
 * Writes are grouped: all writes made before the current batch of microtasks ends share one
 * transaction (the dispatches of one socket read, the outcomes of commands that finish
 * together), and `durable()` settles once it is committed. Reads see pending writes at once.
 */
export class Journal {
  private readonly db: Database.Database;
  private readonly stmt;
  private pending: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file, sqliteOptions() as Database.Options);
    try {
      this.db.pragma("journal_mode = WAL");
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code !== "SQLITE_NOTADB") throw err;
      throw new Error(`The journal ${file} is not a database (damaged?): move it aside to start a fresh one; the results it held that the control plane has not acknowledged are lost with it`, { cause: err });
    }
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS commands (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
        result TEXT,
        error TEXT,
        received_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        acked_at INTEGER,
        executions INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS commands_unacked ON commands(finished_at) WHERE acked_at IS NULL AND status != 'running';
      -- Pruning reads only the expired entries, not the whole journal (months of results).
      CREATE INDEX IF NOT EXISTS commands_prunable ON commands(finished_at) WHERE acked_at IS NOT NULL;
      -- Earlier versions kept the inventory here; it lives in inventory.db now and is collected again at start.
      DROP TABLE IF EXISTS inventory;
    `);
    this.stmt = {
      insert: this.db.prepare("INSERT OR IGNORE INTO commands (id, name, status, received_at, started_at, executions) VALUES (?, ?, 'running', ?, ?, 1)"),
      get: this.db.prepare("SELECT id, status, result, error, started_at, finished_at FROM commands WHERE id = ?"),
      known: this.db.prepare("SELECT 1 FROM commands WHERE id = ?"),
      finish: this.db.prepare("UPDATE commands SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'"),
      // Only an outcome can be acknowledged: an ack for a command still running here (its "not run" answer
      // when the journal failed, say) must not keep its real outcome from being sent.
      ack: this.db.prepare("UPDATE commands SET acked_at = ? WHERE id = ? AND acked_at IS NULL AND status != 'running'"),
      insertFinal: this.db.prepare(
        "INSERT OR IGNORE INTO commands (id, name, status, error, received_at, finished_at) VALUES (@id, @name, @status, @error, @now, @now)",
      ),
      unacked: this.db.prepare("SELECT id, status, result, error, started_at, finished_at FROM commands WHERE acked_at IS NULL AND status != 'running' ORDER BY finished_at"),
      begin: this.db.prepare("BEGIN IMMEDIATE"),
      commit: this.db.prepare("COMMIT"),
    };
  }

  /** Settles when every write made so far is committed; rejects if that commit failed (the writes are gone). */
  durable(): Promise<void> {
    return this.pending?.promise ?? Promise.resolve();
  }

  private write<T>(statement: () => T): T {
    if (!this.pending) {
      this.stmt.begin.run();
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      // Nobody may be waiting; a failed commit is reported to those who are, and logged by them.
      promise.catch(() => {});
      this.pending = { promise, resolve, reject };
      queueMicrotask(() => this.commit());
    }
    try {
      return statement();
    } catch (err) {
      // SQLITE_FULL or an I/O error rolls back the whole transaction: the writes before this one
      // are gone too. Say so to whoever waits, and let the next write open a new transaction.
      const pending = this.pending;
      if (pending && !this.db.inTransaction) {
        this.pending = undefined;
        pending.reject(err);
      }
      throw err;
    }
  }

  private commit(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    try {
      this.stmt.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      pending.reject(err);
      return;
    }
    pending.resolve();
  }

  /** Records the id as running unless already known; tells the caller what it knows. Nothing may run before durable() settles. */
  begin(id: string, name: string, now = Date.now()): BeginResult {
    if (this.write(() => this.stmt.insert.run(id, name, now, now)).changes === 1) return { kind: "new" };
    const row = this.stmt.get.get(id) as Row;
    return row.status === "running" ? { kind: "running" } : { kind: "done", outcome: outcomeFromRow(row) };
  }

  /** Records the outcome; it may be sent once durable() settles. */
  finish(outcome: CommandOutcome): void {
    const result = outcome.result === undefined ? null : JSON.stringify(outcome.result);
    const error = outcome.error ? JSON.stringify(outcome.error) : null;
    this.write(() => this.stmt.finish.run(outcome.status, result, error, outcome.finished_at, outcome.id));
  }

  /** A cancel for a command never seen: remember it so a late dispatch is answered "cancelled" without running. */
  recordCancelledBeforeStart(id: string, now = Date.now()): void {
    this.recordNotRun({ id, name: "(unknown)", status: "cancelled", error: cancelledBeforeStart() }, now);
  }

  /** An outcome for a command that will not run here (unless already known): a later dispatch is answered with it. */
  recordNotRun(input: { id: string; name: string; status: "cancelled" | "failed"; error: { code: string; message: string } }, now = Date.now()): void {
    this.write(() => this.stmt.insertFinal.run({ id: input.id, name: input.name, status: input.status, error: JSON.stringify(input.error), now }));
  }

  /** Whether this journal has ever recorded the id (and not pruned it since). */
  knows(id: string): boolean {
    return this.stmt.known.get(id) !== undefined;
  }

  markAcked(ids: readonly string[], now = Date.now()): void {
    this.write(() => {
      for (const id of ids) this.stmt.ack.run(now, id);
    });
  }

  unacked(): CommandOutcome[] {
    return (this.stmt.unacked.all() as Row[]).map(outcomeFromRow);
  }

  /** After a crash, commands left running may have had effects: they fail instead of running twice. */
  recoverInterrupted(now = Date.now()): number {
    const error = JSON.stringify({ code: "COMMAND_INTERRUPTED", message: "The agent stopped while this command ran; it was not re-run because it may have had effects" });
    return this.write(() => this.db.prepare("UPDATE commands SET status = 'failed', error = ?, finished_at = ? WHERE status = 'running'").run(error, now).changes);
  }

  /** Drops acknowledged entries older than the retention period. */
  prune(olderThan: number): number {
    return this.write(() => this.db.prepare("DELETE FROM commands WHERE acked_at IS NOT NULL AND finished_at < ?").run(olderThan).changes);
  }

  /** The stored outcome of a finished command, or null (unknown, running, or pruned). */
  outcome(id: string): CommandOutcome | null {
    const row = this.stmt.get.get(id) as Row | undefined;
    return row && row.status !== "running" ? outcomeFromRow(row) : null;
  }

  counts(): Record<string, number> {
    const rows = this.db.prepare("SELECT status, acked_at IS NULL AS unacked, COUNT(*) AS n FROM commands GROUP BY 1, 2").all() as Array<{ status: string; unacked: number; n: number }>;
    const counts: Record<string, number> = { total: 0, running: 0, unacked_results: 0 };
    for (const row of rows) {
      counts.total! += row.n;
      counts[row.status] = (counts[row.status] ?? 0) + row.n;
      if (row.unacked && row.status !== "running") counts.unacked_results! += row.n;
    }
    return counts;
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}

/** The journal's counts for a report (status, doctor): opened, read and closed again. */
export function readJournalCounts(file: string): Record<string, number> {
  const journal = new Journal(file);
  try {
    return journal.counts();
  } finally {
    journal.close();
  }
}

function outcomeFromRow(row: Row): CommandOutcome {
  const outcome: CommandOutcome = { id: row.id, status: row.status as CommandOutcome["status"], finished_at: row.finished_at ?? Date.now() };
  if (row.result !== null) outcome.result = JSON.parse(row.result);
  if (row.error !== null) outcome.error = JSON.parse(row.error);
  if (row.started_at !== null) outcome.started_at = row.started_at;
  return outcome;
}
