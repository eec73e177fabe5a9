import { createHash, randomUUID } from "node:crypto";
import type { SupabaseClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostgres, type Postgres } from "../support/postgres.js";
import { startPostgrest, supabaseClient, type Postgrest } from "../support/postgrest.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

let pg: Postgres;
let rest: Postgrest;
let service: SupabaseClient;
const tenantA = randomUUID();
const tenantB = randomUUID();
const memberOfB = randomUUID();
let agentA = "";
let agentB = "";

/** Unwraps a supabase-js answer, failing with PostgREST's error. */
function ok<T>(answer: { data: T | null; error: unknown }): T {
  expect(answer.error).toBeNull();
  return answer.data as T;
}

async function pairAgent(tenantId: string, hostname: string): Promise<string> {
  const code = `BMX-${randomUUID().slice(0, 9)}`;
  ok(await service.from("pairings").insert({ tenant_id: tenantId, code_hash: sha256(code), expires_at: iso(60_000), created_by: "test" }));
  const rows = ok(await service.rpc("register_agent", { p_code_hash: sha256(code), p_public_key: "A".repeat(43) + "=", p_hostname: hostname, p_now: iso() }));
  return (rows as Array<{ agent_id: string }>)[0]!.agent_id;
}

function command(agentId: string, tenantId: string, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), tenant_id: tenantId, agent_id: agentId, name: "agent.ping", params: { n: 1 }, actor: "api_key:test", timeout_ms: 5_000, expires_at: iso(300_000), ...extra };
}

/** A signed-in dashboard user, as Supabase Auth would issue the JWT. */
function member(claims: { sub: string; tenant_id?: string }): SupabaseClient {
  const jwt = rest.signJwt({ sub: claims.sub, role: "authenticated", aud: "authenticated", ...(claims.tenant_id ? { app_metadata: { tenant_id: claims.tenant_id } } : {}) });
  return supabaseClient(rest.url, rest.anonKey, jwt);
}

beforeAll(async () => {
  pg = await startPostgres();
  rest = await startPostgrest(pg);
  service = supabaseClient(rest.url, rest.serviceRoleKey);
  ok(await service.from("tenants").insert([{ id: tenantA, name: "A" }, { id: tenantB, name: "B" }]));
  agentA = await pairAgent(tenantA, "host-a");
  agentB = await pairAgent(tenantB, "host-b");
  ok(await service.rpc("enqueue_command", { p_command: command(agentA, tenantA), p_now: iso() }));
  ok(await service.rpc("enqueue_command", { p_command: command(agentB, tenantB), p_now: iso() }));
  // Membership through tenant_members (no tenant claim): auth.users is Supabase Auth's, written here directly.
  await pg.psql(`insert into auth.users (id, email) values ('${memberOfB}', 'b@example.test');
                 insert into public.tenant_members (tenant_id, user_id, role) values ('${tenantB}', '${memberOfB}', 'viewer');`);
});

afterAll(async () => {
  await rest?.stop();
  await pg?.stop();
});

describe("the Supabase schema through the real PostgREST with supabase-js", () => {
  test("the service role calls every RPC, with the same semantics as in SQL", async () => {
    const code = "BMX-ONCE-ONLY";
    ok(await service.from("pairings").insert([
      { tenant_id: tenantA, code_hash: sha256(code), expires_at: iso(60_000), created_by: "test" },
      { tenant_id: tenantA, code_hash: sha256("BMX-TOO-LATE"), expires_at: iso(-1), created_by: "test" },
    ]));
    const [registered] = ok(await service.rpc("register_agent", { p_code_hash: sha256(code), p_public_key: "B".repeat(43) + "=", p_hostname: "pve-1", p_now: iso() })) as Array<{ agent_id: string; tenant_id: string }>;
    expect(registered).toEqual({ agent_id: expect.any(String), tenant_id: tenantA });
    const again = await service.rpc("register_agent", { p_code_hash: sha256(code), p_public_key: "x", p_hostname: "pve-2", p_now: iso() });
    expect(again.error).toMatchObject({ code: "BMX01", message: "Pairing code is unknown or was already used" });
    const late = await service.rpc("register_agent", { p_code_hash: sha256("BMX-TOO-LATE"), p_public_key: "x", p_hostname: "pve-3", p_now: iso() });
    expect(late.error).toMatchObject({ code: "BMX02", message: expect.stringMatching(/^Pairing code expired at /) });

    const agent = registered!.agent_id;
    const body = command(agent, tenantA, { idempotency_key: "job-1", request_hash: "h1", expires_at: iso(60_000) });
    const [first] = ok(await service.rpc("enqueue_command", { p_command: body, p_now: iso() })) as Array<{ command: Record<string, unknown>; created: boolean }>;
    expect(first).toMatchObject({ created: true, command: { id: body.id, status: "queued", attempts: 0, params: { n: 1 } } });
    const [replay] = ok(await service.rpc("enqueue_command", { p_command: { ...body, id: randomUUID(), request_hash: "h2" }, p_now: iso() })) as Array<{ command: Record<string, unknown>; created: boolean }>;
    expect(replay).toMatchObject({ created: false, command: { id: body.id, request_hash: "h1" } });

    const claimed = ok(await service.rpc("claim_commands", { p_agent_id: agent, p_limit: 10, p_now: iso() })) as Array<Record<string, unknown>>;
    expect(claimed).toEqual([expect.objectContaining({ id: body.id, status: "dispatched", attempts: 1 })]);
    const wrongState = await service.rpc("transition_command", { p_id: body.id, p_from: ["queued"], p_to: "running", p_patch: {}, p_actor: `agent:${agent}` });
    expect(ok(wrongState)).toBeNull();
    const done = ok(await service.rpc("transition_command", { p_id: body.id, p_from: ["dispatched", "running"], p_to: "succeeded", p_patch: { result: { pong: true }, finished_at: iso() }, p_actor: `agent:${agent}` }));
    expect(done).toMatchObject({ id: body.id, status: "succeeded", result: { pong: true } });

    const stale = command(agent, tenantA, { expires_at: iso(-1_000) });
    ok(await service.rpc("enqueue_command", { p_command: stale, p_now: iso(-2_000) }));
    const expired = ok(await service.rpc("expire_commands", { p_now: iso() })) as Array<Record<string, unknown>>;
    expect(expired).toEqual([expect.objectContaining({ id: stale.id, status: "expired", error: expect.objectContaining({ code: "COMMAND_EXPIRED" }) })]);

    const nonce = { p_agent_id: agent, p_nonce: randomUUID(), p_expires_at: iso(60_000), p_now: iso() };
    expect(ok(await service.rpc("record_agent_nonce", nonce))).toBe(true);
    expect(ok(await service.rpc("record_agent_nonce", nonce))).toBe(false);

    ok(await service.from("inventory").insert({ tenant_id: tenantA, agent_id: agent, kind: "proxmox.vm", target: "pve", key: "100", data: { name: "vm" } }));
    const counts = ok(await service.rpc("purge_operational", { p_tenant_id: tenantA, p_actor: "api_key:admin" }));
    expect(counts).toEqual({ inventory: 1, events: 0, telemetry: 0, command_results: 1, command_params: 2, command_errors: 1 });

    const audit = ok(await service.from("audit_log").select("action").eq("target_id", body.id).order("id")) as Array<{ action: string }>;
    expect(audit.map((row) => row.action)).toEqual(["command.queued", "command.dispatched", "command.running", "command.succeeded"]);

    const items = [{ kind: "proxmox.vm", target: "pve", key: "100", data: { name: "vm-100" } }];
    expect(ok(await service.rpc("replace_inventory", { p_tenant_id: tenantA, p_agent_id: agent, p_items: items, p_updated_at: iso() }))).toBe(1);
    const policy = ok(await service.rpc("put_storage_policy", { p_tenant_id: tenantA, p_operational: "local", p_sync_enabled: false, p_actor: "api_key:admin", p_now: iso() }));
    expect(policy).toMatchObject({ previous: { operational: "cloud" }, current: { operational: "local", sync_enabled: false, updated_by: "api_key:admin" } });
    expect(ok(await service.rpc("purge_operational", { p_tenant_id: tenantA, p_actor: "api_key:admin" }))).toMatchObject({ inventory: 1 });
    expect(ok(await service.rpc("replace_inventory", { p_tenant_id: tenantA, p_agent_id: agent, p_items: items, p_updated_at: iso() }))).toBe(0);
    ok(await service.rpc("put_storage_policy", { p_tenant_id: tenantA, p_operational: "cloud", p_sync_enabled: false, p_actor: "api_key:admin", p_now: iso() }));

    const revoked = ok(await service.rpc("revoke_agent", { p_tenant_id: tenantA, p_agent_id: agent, p_actor: "api_key:admin", p_now: iso() }));
    expect(revoked).toMatchObject({ id: agent, status: "revoked" });
    expect(ok(await service.rpc("revoke_agent", { p_tenant_id: tenantB, p_agent_id: agentA, p_actor: "api_key:admin", p_now: iso() }))).toBeNull();
  });

  test("concurrent claims through PostgREST take every command exactly once", async () => {
    const agent = await pairAgent(tenantA, "busy");
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const body = command(agent, tenantA);
      ids.push(body.id);
      ok(await service.rpc("enqueue_command", { p_command: body, p_now: iso() }));
    }
    const batches = await Promise.all(Array.from({ length: 6 }, () => service.rpc("claim_commands", { p_agent_id: agent, p_limit: 8, p_now: iso() })));
    const claimed = batches.flatMap((batch) => ok(batch) as Array<{ id: string }>).map((row) => row.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(40);
    expect(claimed.sort()).toEqual([...ids].sort());
  });

  test("racing registrations with one code: exactly one agent", async () => {
    const code = sha256("BMX-RACE-CODE");
    const tenant = randomUUID();
    ok(await service.from("tenants").insert({ id: tenant, name: "race" }));
    ok(await service.from("pairings").insert({ tenant_id: tenant, code_hash: code, expires_at: iso(60_000), created_by: "test" }));
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => service.rpc("register_agent", { p_code_hash: code, p_public_key: "k", p_hostname: `racer-${i}`, p_now: iso() })));
    expect(answers.filter((answer) => answer.error === null)).toHaveLength(1);
    expect(answers.filter((answer) => answer.error?.code === "BMX01")).toHaveLength(5);
    expect(ok(await service.from("agents").select("hostname").eq("tenant_id", tenant))).toHaveLength(1);
  });

  test("a member of tenant A (JWT app_metadata.tenant_id) reads only A's agents and commands", async () => {
    const client = member({ sub: randomUUID(), tenant_id: tenantA });
    const agents = ok(await client.from("agents").select("id, tenant_id, status, hostname")) as Array<{ tenant_id: string }>;
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.every((agent) => agent.tenant_id === tenantA)).toBe(true);
    expect(agents.map((agent) => (agent as unknown as { id: string }).id)).toContain(agentA);
    const commands = ok(await client.from("commands").select("*")) as Array<{ tenant_id: string; agent_id: string }>;
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.every((row) => row.tenant_id === tenantA)).toBe(true);
    expect(ok(await client.from("commands").select("id").eq("agent_id", agentB))).toEqual([]);
    expect(ok(await client.from("tenants").select("name"))).toEqual([{ name: "A" }]);
  });

  test("a member of tenant B through tenant_members reads only B's rows", async () => {
    const client = member({ sub: memberOfB });
    expect(ok(await client.from("agents").select("id"))).toEqual([{ id: agentB }]);
    const commands = ok(await client.from("commands").select("agent_id")) as Array<{ agent_id: string }>;
    expect(commands).toEqual([{ agent_id: agentB }]);
  });

  test("members never see secrets and cannot write", async () => {
    const client = member({ sub: randomUUID(), tenant_id: tenantA });
    expect((await client.from("agents").select("public_key")).error).toMatchObject({ code: "42501" });
    expect((await client.from("api_keys").select("key_hash")).error).toMatchObject({ code: "42501" });
    expect((await client.from("pairings").select("code_hash")).error).toMatchObject({ code: "42501" });
    expect((await client.from("agent_nonces").select("nonce")).error).toMatchObject({ code: "42501" });
    const forged = await client.from("commands").insert(command(agentA, tenantA));
    expect(forged.error).toMatchObject({ code: "42501" });
    const promoted = await client.from("agents").update({ status: "revoked" }).eq("id", agentA);
    expect(promoted.error).toMatchObject({ code: "42501" });
    expect((await client.from("audit_log").delete().gt("id", 0)).error).toMatchObject({ code: "42501" });
  });

  test("anon gets nothing", async () => {
    const anon = supabaseClient(rest.url, rest.anonKey);
    for (const table of ["tenants", "agents", "commands", "audit_log", "inventory", "storage_policies"]) {
      const answer = await anon.from(table).select("*");
      expect(answer.data, table).toBeNull();
      expect(answer.error, table).toMatchObject({ code: "42501" });
      expect(answer.status, table).toBe(401);
    }
  });

  test("neither members nor anon can call the RPCs", async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ["register_agent", { p_code_hash: "x", p_public_key: "x", p_hostname: "x", p_now: iso() }],
      ["enqueue_command", { p_command: command(agentA, tenantA), p_now: iso() }],
      ["transition_command", { p_id: randomUUID(), p_from: ["queued"], p_to: "cancelled", p_patch: {}, p_actor: "x" }],
      ["claim_commands", { p_agent_id: agentA, p_limit: 1, p_now: iso() }],
      ["expire_commands", { p_now: iso() }],
      ["record_agent_nonce", { p_agent_id: agentA, p_nonce: "n", p_expires_at: iso(60_000), p_now: iso() }],
      ["purge_operational", { p_tenant_id: tenantA }],
      ["put_storage_policy", { p_tenant_id: tenantA, p_operational: "local", p_sync_enabled: false, p_actor: "x" }],
      ["revoke_agent", { p_tenant_id: tenantA, p_agent_id: agentA, p_actor: "x" }],
      ["replace_inventory", { p_tenant_id: tenantA, p_agent_id: agentA, p_items: [] }],
    ];
    for (const client of [member({ sub: randomUUID(), tenant_id: tenantA }), supabaseClient(rest.url, rest.anonKey)]) {
      for (const [name, args] of calls) {
        const answer = await client.rpc(name, args);
        expect(answer.error, name).toMatchObject({ code: "42501" });
      }
    }
    // Nothing slipped through: A's command from setup is still queued, its agent online-able, the policy cloud.
    expect(ok(await service.from("commands").select("status").eq("agent_id", agentA))).toEqual([{ status: "queued" }]);
    expect(ok(await service.from("agents").select("status").eq("id", agentA))).toEqual([{ status: "offline" }]);
    expect(ok(await service.from("storage_policies").select("operational").eq("tenant_id", tenantA))).toEqual([{ operational: "cloud" }]);
  });
});
