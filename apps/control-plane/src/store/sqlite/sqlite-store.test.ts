import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, test } from "vitest";
import { describeStoreConformance } from "../conformance.testkit.js";
import { migrate } from "./migrations.js";
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

  test("upgrading keeps every audit entry and its id, new ids continue after them, and the log stays append-only", async () => {
    const file = join(dir, "upgrade.db");
    const old = new Database(file);
    migrate(old, 2);
    old.prepare("INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'Acme', 1)").run();
    const insert = old.prepare("INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, created_at) VALUES ('t1', 'system', ?, 'tenant', 't1', 1)");
    for (const action of ["tenant.created", "api_key.created", "pairing.created"]) insert.run(action);
    old.close();

    const store = new SqliteStore(file);
    await store.createPairing({ tenant_id: "t1", code_hash: "h", expires_at: Date.now() + 60_000, created_by: "api_key:bmx_1" });
    const entries = await store.listAudit({ tenant_id: "t1", limit: 10 });
    expect(entries.map((entry) => [entry.id, entry.action])).toEqual([
      [1, "tenant.created"],
      [2, "api_key.created"],
      [3, "pairing.created"],
      [4, "pairing.created"],
    ]);
    await store.close();
    const db = new Database(file);
    expect(() => db.prepare("DELETE FROM audit_log").run()).toThrow(/append-only/);
    db.close();
  });
});
