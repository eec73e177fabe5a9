import { describe, expect, test } from "vitest";
import { uuidv7 } from "@botmox/protocol";
import type { NewCommand, Store } from "./types.js";

/**
 * The behaviour every Store must have. Run against each implementation (sqlite, supabase) from
 * its own test file with a factory that gives a fresh, empty store.
 */
export function describeStoreConformance(name: string, open: () => Promise<Store>): void {
  async function withAgent() {
    const store = await open();
    const tenant = await store.createTenant("acme");
    await store.createPairing({ tenant_id: tenant.id, code_hash: `hash-${tenant.id}`, expires_at: Date.now() + 60_000, created_by: "test" });
    const { agent_id } = await store.registerAgent({ code_hash: `hash-${tenant.id}`, public_key: "AAAA", hostname: "host", now: Date.now() });
    const command = (overrides: Partial<NewCommand> = {}): NewCommand => {
      const now = Date.now();
      return { id: uuidv7(now), tenant_id: tenant.id, agent_id, name: "agent.echo", params: { data: 1 }, actor: "api_key:test", idempotency_key: null, request_hash: null, timeout_ms: 1_000, created_at: now, expires_at: now + 60_000, ...overrides };
    };
    return { store, tenant, agent_id, command };
  }

  describe(`${name} store conformance`, () => {
    test("a pairing code is consumed once; expired codes are refused", async () => {
      const store = await open();
      const tenant = await store.createTenant("t");
      await store.createPairing({ tenant_id: tenant.id, code_hash: "once", expires_at: Date.now() + 60_000, created_by: "x" });
      await store.createPairing({ tenant_id: tenant.id, code_hash: "stale", expires_at: Date.now() - 1, created_by: "x" });
      const registered = await store.registerAgent({ code_hash: "once", public_key: "k", hostname: null, now: Date.now() });
      expect(registered.tenant_id).toBe(tenant.id);
      expect((await store.getAgent(registered.agent_id))?.status).toBe("offline");
      await expect(store.registerAgent({ code_hash: "once", public_key: "k", hostname: null, now: Date.now() })).rejects.toMatchObject({ code: "PAIRING_CODE_INVALID" });
      await expect(store.registerAgent({ code_hash: "stale", public_key: "k", hostname: null, now: Date.now() })).rejects.toMatchObject({ code: "PAIRING_CODE_EXPIRED" });
      await store.close();
    });

    test("an idempotency key returns the first command", async () => {
      const { store, command } = await withAgent();
      const first = await store.enqueueCommand(command({ idempotency_key: "k1", request_hash: "h" }));
      const again = await store.enqueueCommand(command({ idempotency_key: "k1", request_hash: "h" }));
      expect(first.created).toBe(true);
      expect(again).toMatchObject({ created: false, command: { id: first.command.id } });
      await store.close();
    });

    test("transitions are guarded and scoped to the command's agent", async () => {
      const { store, command, agent_id } = await withAgent();
      const { command: queued } = await store.enqueueCommand(command());
      expect(queued.status).toBe("queued");
      expect(await store.transitionCommand({ id: queued.id, from: ["dispatched"], to: "running", actor: "x" })).toBeNull();
      const [claimed] = await store.claimCommands({ agent_id, limit: 10, now: Date.now() });
      expect(claimed).toMatchObject({ id: queued.id, status: "dispatched", attempts: 1 });
      expect(await store.transitionCommand({ id: queued.id, agent_id: "0190a0b4-6f00-7000-8000-00000000dead", from: ["dispatched"], to: "running", actor: "x" })).toBeNull();
      const done = await store.transitionCommand({ id: queued.id, agent_id, from: ["dispatched", "running"], to: "succeeded", patch: { result: { data: 1 }, finished_at: Date.now() }, actor: `agent:${agent_id}` });
      expect(done).toMatchObject({ status: "succeeded", result: { data: 1 } });
      expect(await store.transitionCommand({ id: queued.id, from: ["dispatched", "running"], to: "failed", actor: "x" })).toBeNull();
      expect(await store.activeCommands(agent_id)).toEqual([]);
      await store.close();
    });

    test("claims go oldest first and respect the limit; dispatchNow skips the queue", async () => {
      const { store, command, agent_id } = await withAgent();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.enqueueCommand(command({ params: { data: i } }))).command.id);
      expect((await store.claimCommands({ agent_id, limit: 2, now: Date.now() })).map((c) => c.id)).toEqual(ids.slice(0, 2));
      expect((await store.claimCommands({ agent_id, limit: 10, now: Date.now() })).map((c) => c.id)).toEqual(ids.slice(2));
      const direct = await store.enqueueCommand(command(), { dispatchNow: true });
      expect(direct.command).toMatchObject({ status: "dispatched", attempts: 1 });
      expect((await store.activeCommands(agent_id)).map((c) => c.id)).toEqual([...ids, direct.command.id]);
      await store.close();
    });

    test("queued and dispatched commands past expires_at expire; running ones do not", async () => {
      const { store, command } = await withAgent();
      const past = Date.now() - 1;
      const queued = (await store.enqueueCommand(command({ expires_at: past }))).command;
      const running = (await store.enqueueCommand(command({ expires_at: past }), { dispatchNow: true })).command;
      await store.transitionCommand({ id: running.id, from: ["dispatched"], to: "running", actor: "x" });
      const expired = await store.expireCommands(Date.now());
      expect(expired.map((c) => c.id)).toEqual([queued.id]);
      expect(expired[0]).toMatchObject({ status: "expired", error: { code: "COMMAND_EXPIRED" } });
      expect((await store.getCommand(running.id))?.status).toBe("running");
      await store.close();
    });

    test("every state change is audited and the audit log cannot be rewritten", async () => {
      const { store, command, tenant, agent_id } = await withAgent();
      const { command: created } = await store.enqueueCommand(command(), { dispatchNow: true });
      await store.transitionCommand({ id: created.id, agent_id, from: ["dispatched", "running"], to: "succeeded", patch: { finished_at: Date.now() }, actor: `agent:${agent_id}` });
      const audit = await store.listAudit({ tenant_id: tenant.id, limit: 100 });
      const actions = audit.filter((entry) => entry.target_id === created.id).map((entry) => entry.action);
      expect(actions).toEqual(["command.queued", "command.dispatched", "command.running", "command.succeeded"]);
      expect(audit.find((entry) => entry.action === "command.succeeded")?.actor).toBe(`agent:${agent_id}`);
      await store.close();
    });

    test("nonces are single use per agent", async () => {
      const { store, agent_id } = await withAgent();
      const input = { agent_id, nonce: "n-1234567890abcdef", expires_at: Date.now() + 60_000, now: Date.now() };
      expect(await store.recordAgentNonce(input)).toBe(true);
      expect(await store.recordAgentNonce(input)).toBe(false);
      await store.close();
    });

    test("revocation sticks: later session updates do not bring the agent back online", async () => {
      const { store, tenant, agent_id } = await withAgent();
      const revoked = await store.revokeAgent({ tenant_id: tenant.id, agent_id, actor: "admin", now: Date.now() });
      expect(revoked?.status).toBe("revoked");
      await store.updateAgentSession(agent_id, { status: "online" });
      expect((await store.getAgent(agent_id))?.status).toBe("revoked");
      expect(await store.revokeAgent({ tenant_id: "0190a0b4-6f00-7000-8000-00000000beef", agent_id, actor: "admin", now: Date.now() })).toBeNull();
      await store.close();
    });
  });
}
