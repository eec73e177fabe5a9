import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, test } from "vitest";
import { Journal } from "./journal.js";

const dirs: string[] = [];
function journalFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "journal-"));
  dirs.push(dir);
  return join(dir, "journal.db");
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const id = "0190a0b4-6f00-7000-8000-000000000001";

describe("journal", () => {
  test("a command id is new once, then running, then answered from its outcome", () => {
    const journal = new Journal(journalFile());
    expect(journal.begin(id, "agent.echo")).toEqual({ kind: "new" });
    expect(journal.begin(id, "agent.echo")).toEqual({ kind: "running" });
    journal.finish({ id, status: "succeeded", result: { data: 1 }, finished_at: 5 });
    expect(journal.begin(id, "agent.echo")).toMatchObject({ kind: "done", outcome: { id, status: "succeeded", result: { data: 1 } } });
    journal.close();
  });

  test("outcomes stay until acknowledged, across a reopen", () => {
    const file = journalFile();
    const first = new Journal(file);
    first.begin(id, "agent.ping");
    first.finish({ id, status: "succeeded", result: { pong: true }, finished_at: 1 });
    first.close();
    const reopened = new Journal(file);
    expect(reopened.unacked().map((outcome) => outcome.id)).toEqual([id]);
    reopened.markAcked([id]);
    expect(reopened.unacked()).toEqual([]);
    reopened.close();
  });

  test("a command running when the process died is reported failed, not run again", () => {
    const file = journalFile();
    const crashed = new Journal(file);
    crashed.begin(id, "agent.echo");
    crashed.close();
    const restarted = new Journal(file);
    expect(restarted.recoverInterrupted()).toBe(1);
    expect(restarted.begin(id, "agent.echo")).toMatchObject({ kind: "done", outcome: { status: "failed", error: { code: "COMMAND_INTERRUPTED" } } });
    restarted.close();
  });

  test("a cancel for a command never seen answers its later dispatch as cancelled", () => {
    const journal = new Journal(journalFile());
    journal.recordCancelledBeforeStart(id);
    expect(journal.begin(id, "agent.echo")).toMatchObject({ kind: "done", outcome: { status: "cancelled" } });
    journal.close();
  });

  test("prune drops only acknowledged entries older than the retention", () => {
    const journal = new Journal(journalFile());
    const other = "0190a0b4-6f00-7000-8000-000000000002";
    for (const commandId of [id, other]) {
      journal.begin(commandId, "agent.ping");
      journal.finish({ id: commandId, status: "succeeded", finished_at: 1_000 });
    }
    journal.markAcked([id]);
    expect(journal.prune(2_000)).toBe(1);
    expect(journal.counts()).toMatchObject({ total: 1, unacked_results: 1 });
    journal.close();
  });

  test("writes of one turn commit together, and durable() settles only once another process could see them", async () => {
    const file = journalFile();
    const journal = new Journal(file);
    const other = "0190a0b4-6f00-7000-8000-000000000002";
    const reader = new Database(file, { readonly: true });
    const visible = () => (reader.prepare("SELECT COUNT(*) AS n FROM commands").get() as { n: number }).n;
    journal.begin(id, "agent.echo");
    journal.begin(other, "agent.echo");
    expect(journal.begin(id, "agent.echo")).toEqual({ kind: "running" });
    expect(visible()).toBe(0);
    await journal.durable();
    expect(visible()).toBe(2);
    reader.close();
    journal.close();
  });

  test("a disk-full error loses the writes before it, says so, and the next command is journaled in a transaction of its own", async () => {
    const file = journalFile();
    const journal = new Journal(file);
    // Fault injection: the journal's own connection may grow by a few pages, not by a megabyte.
    const db = (journal as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${(db.pragma("page_count", { simple: true }) as number) + 20}`);
    const later = "0190a0b4-6f00-7000-8000-000000000003";

    journal.begin(id, "agent.echo");
    const lost = journal.durable();
    expect(() => journal.finish({ id, status: "succeeded", result: { data: "x".repeat(1024 * 1024) }, finished_at: 1 })).toThrow(/full/);
    await expect(lost).rejects.toMatchObject({ code: "SQLITE_FULL" });
    expect(journal.begin(later, "agent.echo")).toEqual({ kind: "new" });
    await expect(journal.durable()).resolves.toBeUndefined();
    journal.close();

    const reader = new Database(file, { readonly: true });
    expect(reader.prepare("SELECT id FROM commands ORDER BY id").all()).toEqual([{ id: later }]);
    reader.close();
  });

  test("an ack for a command still running is ignored: its outcome is sent when it comes", () => {
    const journal = new Journal(journalFile());
    journal.begin(id, "agent.echo");
    journal.markAcked([id]);
    journal.finish({ id, status: "succeeded", result: { data: 1 }, finished_at: 2 });
    expect(journal.unacked().map((outcome) => outcome.id)).toEqual([id]);
    journal.close();
  });

  test("a damaged journal file is named, with what to do", () => {
    const file = journalFile();
    writeFileSync(file, "this is not a database, it is a text file long enough to have a header".repeat(10));
    expect(() => new Journal(file)).toThrow(`The journal ${file} is not a database (damaged?): move it aside`);
  });
});
