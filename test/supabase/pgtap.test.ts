import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import { startPostgres } from "../support/postgres.js";

describe("supabase/ on a real PostgreSQL 15", () => {
  test("the migrations apply to an empty database and every pgTAP test passes", async () => {
    await using pg = await startPostgres();
    const tests = readdirSync(join(REPO_ROOT, "supabase/tests")).filter((file) => file.endsWith(".sql")).map((file) => join(REPO_ROOT, "supabase/tests", file));
    expect(tests.length).toBeGreaterThan(0);
    const prove = spawnSync("pg_prove", ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres", "-d", "postgres", ...tests], { encoding: "utf8" });
    expect(prove.status, prove.stdout + prove.stderr).toBe(0);
    expect(prove.stdout).toContain("All tests successful.");
  });

  test("the seed applies on top of the migrations", async () => {
    await using pg = await startPostgres();
    pg.psql({ file: join(REPO_ROOT, "supabase/seed.sql") });
    expect(pg.psql({ sql: "select name from public.tenants" })).toContain("Demo");
  });
});
