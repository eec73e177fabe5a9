import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, test } from "vitest";
import { describeStoreConformance } from "../conformance.testkit.js";
import { SqliteStore } from "./sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "sqlite-store-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreConformance("sqlite", async () => new SqliteStore(join(dir, `store-${n++}.db`)));

describe("sqlite store specifics", () => {
  test("the audit log refuses UPDATE and DELETE even through a direct connection", async () => {
    const file = join(dir, "audit.db");
    const store = new SqliteStore(file);
    await store.createTenant("t");
    await store.close();
    const db = new Database(file);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'forged'").run()).toThrow(/append-only/);
    expect(() => db.prepare("DELETE FROM audit_log").run()).toThrow(/append-only/);
    db.close();
  });

  test("a database from a newer build is refused instead of being misread", () => {
    const file = join(dir, "future.db");
    const db = new Database(file);
    db.pragma("user_version = 999");
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer than this build/);
  });
});
