import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type Postgres } from "../../../../../test/support/postgres.js";
import { startPostgrest, type Postgrest } from "../../../../../test/support/postgrest.js";
import { until } from "../../../../../test/support/until.js";
import { describeStoreConformance } from "../conformance.testkit.js";
import { SupabaseStore } from "./supabase-store.js";

let pg: Postgres;
let rest: Postgrest;

beforeAll(async () => {
  pg = await startPostgres();
  rest = await startPostgrest(pg);
}, 60_000);

afterAll(async () => {
  await rest?.stop();
  await pg?.stop();
});

// One database for the file: every conformance test works in tenants of its own.
describeStoreConformance("supabase", () => SupabaseStore.connect({ url: rest.url, serviceRoleKey: rest.serviceRoleKey }));

describe("supabase store specifics", () => {
  test("a key Supabase refuses stops startup with what to do", async () => {
    const forged = rest.signJwt({ role: "service_role" }).replace(/\.[^.]+$/, ".forged-signature");
    await expect(SupabaseStore.connect({ url: rest.url, serviceRoleKey: forged })).rejects.toThrow(/refused SUPABASE_SERVICE_ROLE_KEY/);
  });

  test("a database without the migrations stops startup with what to do", async () => {
    await pg.psql("alter table public.commands rename to commands_moved; notify pgrst, 'reload schema';");
    try {
      // PostgREST reloads its schema cache asynchronously after the NOTIFY.
      const refusal = await until("startup refused", () => SupabaseStore.connect({ url: rest.url, serviceRoleKey: rest.serviceRoleKey }).then(() => undefined, (err: Error) => err), 10_000, 100);
      expect(refusal.message).toMatch(/no Bot-Mox tables .*apply supabase\/migrations/);
    } finally {
      await pg.psql("alter table public.commands_moved rename to commands; notify pgrst, 'reload schema';");
    }
  });

  test("text PostgreSQL cannot keep is a clear bad request, not an internal error", async () => {
    const store = await SupabaseStore.connect({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
    const tenant = await store.createTenant("nul");
    await store.createPairing({ tenant_id: tenant.id, code_hash: `nul-${tenant.id}`, expires_at: Date.now() + 60_000, created_by: "t" });
    const { agent_id } = await store.registerAgent({ code_hash: `nul-${tenant.id}`, public_key: "k", hostname: null, now: Date.now() });
    const now = Date.now();
    const command = { id: crypto.randomUUID(), tenant_id: tenant.id, agent_id, name: "agent.echo", params: { data: "a\u0000b" }, actor: "t", idempotency_key: null, request_hash: null, timeout_ms: 1000, created_at: now, expires_at: now + 60_000 };
    await expect(store.enqueueCommand(command)).rejects.toMatchObject({ code: "BAD_REQUEST", status: 400 });
  });

  test("Supabase unreachable: calls fail fast as STORE_UNAVAILABLE with Retry-After, health says so", async () => {
    const down = await SupabaseStore.connect({ url: "http://127.0.0.1:9", serviceRoleKey: rest.serviceRoleKey });
    const started = Date.now();
    await expect(down.getStoragePolicy(crypto.randomUUID())).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", status: 503, headers: { "retry-after": "5" } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await down.health()).toMatchObject({ ok: false, message: expect.stringContaining("cannot be reached") });
  });
});
