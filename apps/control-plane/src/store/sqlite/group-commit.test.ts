import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, test } from "vitest";
import { GroupCommit } from "./group-commit.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A writer connection with its group commit, and a second connection that sees only what is committed. */
function databases(lazyCommitMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), "group-commit-"));
  dirs.push(dir);
  const file = join(dir, "db.sqlite");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(`CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE items (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)`);
  const other = new Database(file, { readonly: true });
  const count = (conn: Database.Database) => (conn.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n;
  return { writes: new GroupCommit(db, lazyCommitMs), db, other, count };
}

describe("GroupCommit", () => {
  test("apply settles before the commit, visible to this connection only; committed() settles once it is durable", async () => {
    const { writes, db, other, count } = databases();
    const value = await writes.apply(() => db.prepare("INSERT INTO items (id) VALUES (1)").run().changes);
    expect(value).toBe(1);
    expect(count(db)).toBe(1);
    expect(count(other)).toBe(0);
    await writes.committed();
    expect(count(other)).toBe(1);
  });

  test("run settles only after the commit, and writes of one turn share it", async () => {
    const { writes, db, other, count } = databases();
    const seenByOther: number[] = [];
    await Promise.all(
      [1, 2, 3].map((id) =>
        writes.run(() => db.prepare("INSERT INTO items (id) VALUES (?)").run(id)).then(() => seenByOther.push(count(other))),
      ),
    );
    expect(seenByOther).toEqual([3, 3, 3]);
  });

  test("an applied write alone is committed within the lazy window, without anyone asking", async () => {
    const { writes, db, other, count } = databases(20);
    await writes.apply(() => db.prepare("INSERT INTO items (id) VALUES (1)").run());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(db.inTransaction).toBe(false);
    expect(count(other)).toBe(1);
  });

  test("a run in a later turn joins the batch an applied write left open, and commits both at once", async () => {
    const { writes, db, other, count } = databases(60_000);
    await writes.apply(() => db.prepare("INSERT INTO items (id) VALUES (1)").run());
    await new Promise((resolve) => setImmediate(resolve));
    expect(db.inTransaction).toBe(true); // still open for a later write to join
    expect(count(other)).toBe(0);
    await writes.run(() => db.prepare("INSERT INTO items (id) VALUES (2)").run());
    expect(count(other)).toBe(2);
    expect(db.inTransaction).toBe(false);
  });

  test("lazy windows do not follow one another: the batch after one that waited out its window commits on the next turn", async () => {
    const { writes, db, other, count } = databases(200);
    await writes.apply(() => db.prepare("INSERT INTO items (id) VALUES (1)").run());
    await new Promise((resolve) => setTimeout(resolve, 250)); // the window ran out: committed
    expect(count(other)).toBe(1);
    await writes.apply(() => db.prepare("INSERT INTO items (id) VALUES (2)").run());
    await new Promise((resolve) => setImmediate(resolve));
    expect(db.inTransaction).toBe(false); // the write lock is free again for other processes
    expect(count(other)).toBe(2);
  });

  test("a failed commit rejects committed() and run(), and the applied write is gone", async () => {
    const { writes, db, count } = databases();
    // The deferred foreign key is only checked at COMMIT, which therefore fails.
    await writes.apply(() => db.prepare("INSERT INTO items (id, parent) VALUES (1, 99)").run());
    const ran = writes.run(() => db.prepare("INSERT INTO items (id) VALUES (2)").run());
    await expect(writes.committed()).rejects.toThrow(/FOREIGN KEY/);
    await expect(ran).rejects.toThrow(/FOREIGN KEY/);
    expect(count(db)).toBe(0);
    await expect(writes.committed()).resolves.toBeUndefined(); // nothing pending any more
  });

  test("a write that throws fails alone; the rest of its turn commits", async () => {
    const { writes, db, other, count } = databases();
    const bad = writes.run(() => db.prepare("INSERT INTO nowhere (id) VALUES (1)").run());
    const good = writes.run(() => db.prepare("INSERT INTO items (id) VALUES (1)").run());
    await expect(bad).rejects.toThrow(/no such table/);
    await good;
    expect(count(other)).toBe(1);
  });
});

describe("GroupCommit when SQLite rolls back the whole transaction (disk full)", () => {
  test("the batch's earlier writes are reported lost, and later writes commit in a transaction of their own", async () => {
    const { writes, db, other, count } = databases();
    db.exec("CREATE TABLE blobs (data BLOB)");
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 20}`); // room for rows, not for a megabyte

    const before = writes.run(() => db.prepare("INSERT INTO items (id) VALUES (1)").run().changes);
    const full = writes.run(() => db.prepare("INSERT INTO blobs (data) VALUES (?)").run(Buffer.alloc(1024 * 1024)).changes);
    const after = writes.run(() => db.prepare("INSERT INTO items (id) VALUES (2)").run().changes);

    // A writer that asks whether its write is durable, after the failure and a write in a new batch, hears it is lost.
    await expect(writes.committed()).rejects.toMatchObject({ code: "SQLITE_FULL" });
    await expect(full).rejects.toMatchObject({ code: "SQLITE_FULL" });
    await expect(before).rejects.toMatchObject({ code: "SQLITE_FULL" });
    await expect(after).resolves.toBe(1);
    expect(count(other)).toBe(1);
    expect(other.prepare("SELECT id FROM items").all()).toEqual([{ id: 2 }]);
    await expect(writes.committed()).resolves.toBeUndefined(); // once a later batch is durable, all is well again
  });
});
