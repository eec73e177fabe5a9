import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
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

  test("a data directory of the first release opens and works: the schema comes level with a new one, its commands keep going", async () => {
    const file = join(dir, "first-release.db");
    const old = new Database(file);
    old.exec(readFileSync(new URL("./fixtures/v1-first-release.sql", import.meta.url), "utf8"));
    old.pragma("user_version = 1");
    old.exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'Acme', 1);
      INSERT INTO agents (id, tenant_id, public_key, created_at) VALUES ('a1', 't1', 'k', 1);
      INSERT INTO commands (id, tenant_id, agent_id, name, params, status, actor, timeout_ms, created_at, dispatched_at, expires_at, attempts)
      VALUES ('c1', 't1', 'a1', 'agent.ping', '{}', 'dispatched', 'api_key:bmx_1', 1000, 1, 1, 9999999999999, 1);`);
    old.close();

    const store = new SqliteStore(file);
    const finished = await store.transitionCommand({ id: "c1", agent_id: "a1", from: ["dispatched"], to: "succeeded", patch: { result: { pong: true }, finished_at: 2 }, actor: "agent:a1" });
    expect(finished).toMatchObject({ status: "succeeded", result: { pong: true } });
    const audit = await store.listAudit({ tenant_id: "t1", limit: 10 });
    expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
      ["command.running", "agent:a1"],
      ["command.succeeded", "agent:a1"],
    ]);
    await store.close();

    const schema = (path: string) => {
      const db = new Database(path, { readonly: true });
      const names = db.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger', 'table') AND name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
      const columns = db.prepare("SELECT name FROM pragma_table_info('commands') ORDER BY name").all();
      db.close();
      return { names, columns };
    };
    const fresh = join(dir, "fresh.db");
    await new SqliteStore(fresh).close();
    expect(schema(file)).toEqual(schema(fresh));
  });

  test("a local tenant's commands that ended before the envelope rule keep no params after the upgrade", async () => {
    const file = join(dir, "local-params.db");
    const old = new Database(file);
    migrate(old, 5);
    old.exec(`INSERT INTO tenants (id, name, created_at) VALUES ('local', 'L', 1), ('cloud', 'C', 1);
      INSERT INTO storage_policies (tenant_id, operational, updated_at) VALUES ('local', 'local', 1), ('cloud', 'cloud', 1);
      INSERT INTO agents (id, tenant_id, public_key, created_at) VALUES ('al', 'local', 'k', 1), ('ac', 'cloud', 'k', 1);
      INSERT INTO commands (id, tenant_id, agent_id, name, params, status, actor, timeout_ms, created_at, expires_at) VALUES
        ('c1', 'local', 'al', 'agent.echo', '{"data":"MARKER"}', 'cancelled', 'x', 1000, 1, 2),
        ('c2', 'local', 'al', 'agent.echo', '{"data":"MARKER"}', 'queued', 'x', 1000, 1, 9999999999999),
        ('c3', 'cloud', 'ac', 'agent.echo', '{"data":"MARKER"}', 'expired', 'x', 1000, 1, 2);`);
    old.close();
    const store = new SqliteStore(file);
    expect(await Promise.all(["c1", "c2", "c3"].map(async (id) => (await store.getCommand(id))?.params ?? null))).toEqual([null, { data: "MARKER" }, { data: "MARKER" }]);
    await store.close();
  });

  test("a database an earlier version left readable by everyone is made the owner's alone when opened", async () => {
    const file = join(dir, "readable.db");
    await new SqliteStore(file).close();
    const files = [file, `${file}-wal`, `${file}-shm`];
    const old = new Database(file);
    old.pragma("journal_mode = WAL");
    for (const path of files) chmodSync(path, 0o644);
    const store = new SqliteStore(file);
    await store.createTenant("t");
    expect(files.map((path) => (statSync(path).mode & 0o777).toString(8))).toEqual(["600", "600", "600"]);
    await store.close();
    old.close();
  });
});
