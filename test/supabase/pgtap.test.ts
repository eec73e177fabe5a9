import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { applyMigrations, MIGRATIONS_DIR, pgBinDir, psqlAt, startPostgres, SUPABASE_DIR, type Postgres } from "../support/postgres.js";

const TESTS_DIR = join(SUPABASE_DIR, "tests");

/** pg_prove (Debian: libtap-parser-sourcehandler-pgtap-perl) is a Perl script on PATH, not a server binary. */
function pgProveBin(): string {
  const beside = join(pgBinDir(), "pg_prove");
  return existsSync(beside) ? beside : "pg_prove";
}

/** Runs pg_prove as `postgres` over every supabase/tests/*.sql file. */
function pgProve(pg: Postgres): Promise<{ code: number | null; output: string }> {
  const { username, password } = new URL(pg.databaseUrl);
  const files = readdirSync(TESTS_DIR).filter((file) => file.endsWith(".sql")).sort().map((file) => join(TESTS_DIR, file));
  const args = ["--verbose", "--psql-bin", join(pgBinDir(), "psql"), "--ext", ".sql", "-h", pg.host, "-p", String(pg.port), "-U", username, "-d", "postgres", ...files];
  return new Promise((resolve, reject) => {
    const child = spawn(pgProveBin(), args, { env: { PATH: process.env.PATH, LANG: "C.UTF-8", PGPASSWORD: decodeURIComponent(password) } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * The tests that need a second session (claims SKIP LOCKED) reach the same database through
 * dblink: a foreign server `botmox_loopback` with a user mapping for `postgres`. Test-only:
 * Supabase does not have it, so it is set up here rather than in the bootstrap.
 */
async function addLoopback(pg: Postgres): Promise<void> {
  const password = decodeURIComponent(new URL(pg.databaseUrl).password);
  await pg.psql(
    `create extension if not exists dblink with schema extensions;
     create server botmox_loopback foreign data wrapper dblink_fdw options (host '${pg.host}', port '${pg.port}', dbname 'postgres');
     grant usage on foreign server botmox_loopback to postgres;`,
    { superuser: true },
  );
  await pg.psql(`create user mapping for postgres server botmox_loopback options (user 'postgres', password '${password}')`);
}

describe("supabase/ on a real PostgreSQL 15", () => {
  test("every pgTAP test in supabase/tests passes (pg_prove)", async () => {
    await using pg = await startPostgres();
    await addLoopback(pg);
    const { code, output } = await pgProve(pg);
    expect(code, output).toBe(0);
    expect(output, output).toMatch(/^All tests successful\./m);
    expect(output).toMatch(/^Files=\d+, Tests=\d+/m);
    expect(output, "the two-session tests ran (loopback set up)").not.toMatch(/# SKIP/);
  });

  test("without the loopback server (as under `supabase test db`) the two-session tests skip, the rest pass", async () => {
    await using pg = await startPostgres();
    const { code, output } = await pgProve(pg);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^ok 1 # skip no second session/im);
  });

  test("the migrations apply in order to an empty database; a second run is refused, not half-applied", async () => {
    await using pg = await startPostgres({ migrate: false });
    const versions = readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith(".sql")).map((file) => file.slice(0, 14)).sort();
    expect(await applyMigrations(pg.databaseUrl)).toEqual(versions);
    // The runner (like the Supabase CLI) skips what it recorded ...
    expect(await applyMigrations(pg.databaseUrl)).toEqual([]);
    // ... and each migration either refuses a second run by hand, or says it changes nothing then.
    for (const file of readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith(".sql"))) {
      const again = psqlAt(pg.databaseUrl, { files: [join(MIGRATIONS_DIR, file)], singleTransaction: true });
      if (readFileSync(join(MIGRATIONS_DIR, file), "utf8").includes("Running it again changes nothing")) await expect(again, file).resolves.toBeDefined();
      else await expect(again, file).rejects.toThrow(/already exists/);
    }
    expect(await pg.psql("select count(*) from public.tenants")).toBe("0");
  });

  test("a project set up by the first releases upgrades: no helper function missing, and local tenants' old params go", async () => {
    await using pg = await startPostgres({ migrate: false });
    const early = mkdtempSync(join(tmpdir(), "botmox-early-migrations-"));
    try {
      for (const file of readdirSync(MIGRATIONS_DIR).filter((name) => name < "20261123130000")) copyFileSync(join(MIGRATIONS_DIR, file), join(early, file));
      await applyMigrations(pg.databaseUrl, early);
    } finally {
      rmSync(early, { recursive: true, force: true });
    }
    // The first releases' migrations did not define the helper later ones grant with.
    await pg.psql("drop function private.grant_to_service_role_only(text[])");
    const local = "aaaaaaaa-0000-4000-8000-00000000000a";
    const cloud = "aaaaaaaa-0000-4000-8000-00000000000b";
    const params = (tenant: string) =>
      `select params is null from public.commands where tenant_id = '${tenant}' order by id`;
    await pg.psql(`
      insert into public.tenants (id, name) values ('${local}', 'L'), ('${cloud}', 'C');
      insert into public.storage_policies (tenant_id, operational, updated_at) values ('${local}', 'local', now()), ('${cloud}', 'cloud', now())
        on conflict (tenant_id) do update set operational = excluded.operational;
      insert into public.agents (id, tenant_id, public_key) values ('a0000000-0000-4000-8000-00000000000a', '${local}', 'K1'), ('a0000000-0000-4000-8000-00000000000b', '${cloud}', 'K2');
      insert into public.commands (id, tenant_id, agent_id, name, params, status, actor, timeout_ms, expires_at) values
        ('c0000000-0000-4000-8000-000000000001', '${local}', 'a0000000-0000-4000-8000-00000000000a', 'agent.echo', '{"data": "MARKER"}', 'cancelled', 'test', 1000, now()),
        ('c0000000-0000-4000-8000-000000000002', '${local}', 'a0000000-0000-4000-8000-00000000000a', 'agent.echo', '{"data": "MARKER"}', 'running', 'test', 1000, now()),
        ('c0000000-0000-4000-8000-000000000003', '${cloud}', 'a0000000-0000-4000-8000-00000000000b', 'agent.echo', '{"data": "MARKER"}', 'cancelled', 'test', 1000, now());
    `);
    expect((await applyMigrations(pg.databaseUrl)).length).toBeGreaterThan(0);
    expect(await pg.psql(params(local))).toBe("t\nf"); // final: gone; running: the agent may need it again
    expect(await pg.psql(params(cloud))).toBe("f");
  });

  test("the seed applies on top of the migrations: one demo tenant", async () => {
    await using pg = await startPostgres({ seed: true });
    expect(await pg.psql("select name || ':' || operational from public.tenants join public.storage_policies on tenant_id = id")).toBe("Demo:cloud");
  });

  test("a new command is announced on botmox_commands at commit, for the instance that holds the agent's socket", async () => {
    await using pg = await startPostgres();
    const tenant = "aaaaaaaa-0000-4000-8000-000000000001";
    const agent = "a0000000-0000-4000-8000-000000000001";
    const output = await pg.psql(`
      insert into public.tenants (id, name) values ('${tenant}', 'A');
      insert into public.agents (id, tenant_id, public_key) values ('${agent}', '${tenant}', 'KEY');
      listen botmox_commands;
      select created from public.enqueue_command('{"id": "c0000000-0000-4000-8000-000000000001", "tenant_id": "${tenant}", "agent_id": "${agent}",
        "name": "agent.ping", "actor": "test", "timeout_ms": 1000, "expires_at": "2100-01-01T00:00:00Z"}');
    `);
    const notice = /Asynchronous notification "botmox_commands" with payload "(.*)" received/.exec(output);
    expect(notice, output).not.toBeNull();
    expect(JSON.parse(notice![1]!)).toEqual({ id: "c0000000-0000-4000-8000-000000000001", tenant_id: tenant, agent_id: agent, status: "queued", cancel_requested: false });
  });
});
