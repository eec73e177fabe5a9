import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { uuidv7 } from "@botmox/protocol";
import { envelopeError } from "./envelope-error.js";
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
    /** Another agent of the tenant, paired with its own code. */
    const anotherAgent = async (code: string) => {
      await store.createPairing({ tenant_id: tenant.id, code_hash: code, expires_at: Date.now() + 60_000, created_by: "test" });
      return (await store.registerAgent({ code_hash: code, public_key: `key-${code}`, hostname: null, now: Date.now() })).agent_id;
    };
    return { store, tenant, agent_id, command, anotherAgent };
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

    test("API keys are found by their hash, with role and prefix; unknown hashes are not", async () => {
      const store = await open();
      const tenant = await store.createTenant("keys");
      expect(await store.getTenant(tenant.id)).toMatchObject({ id: tenant.id, name: "keys" });
      expect(await store.getTenant("not-a-tenant")).toBeNull();
      const hash = createHash("sha256").update(tenant.id).digest("hex");
      const key = await store.createApiKey({ tenant_id: tenant.id, role: "operator", key_hash: hash, key_prefix: "bmx_test" });
      expect(await store.findApiKeyByHash(hash)).toEqual(key);
      expect(key).toMatchObject({ tenant_id: tenant.id, role: "operator", key_prefix: "bmx_test", revoked_at: null });
      expect(await store.findApiKeyByHash("cd".repeat(32))).toBeNull();
      const audit = await store.listAudit({ tenant_id: tenant.id, limit: 10 });
      expect(audit.map((entry) => entry.action)).toEqual(["tenant.created", "api_key.created"]);
      expect(JSON.stringify(audit)).not.toContain(hash);
      await store.close();
    });

    test("ending a session records the agent offline only while that session is still its own", async () => {
      const { store, agent_id } = await withAgent();
      await store.updateAgentSession(agent_id, { status: "online", session_id: "s-old", last_seen_at: 1_000 });
      // The agent reconnected before the old connection's end was written.
      await store.updateAgentSession(agent_id, { status: "online", session_id: "s-new", connected_at: 2_000, last_seen_at: 2_000 });
      await store.endAgentSession(agent_id, "s-old", 1_500);
      expect(await store.getAgent(agent_id)).toMatchObject({ status: "online", session_id: "s-new", last_seen_at: 2_000 });
      await store.endAgentSession(agent_id, "s-new", 3_000);
      expect(await store.getAgent(agent_id)).toMatchObject({ status: "offline", session_id: null, last_seen_at: 3_000 });
      await store.close();
    });

    test("agent sessions: hello fields, listing, unknown ids", async () => {
      const { store, tenant, agent_id } = await withAgent();
      const now = Date.now();
      await store.updateAgentSession(agent_id, { status: "online", hostname: "pve-1", version: "1.2.3", platform: "linux", arch: "x64", capabilities: ["agent.ping"], connected_at: now, last_seen_at: now, session_id: "s-1" });
      const agent = await store.getAgent(agent_id);
      expect(agent).toMatchObject({ id: agent_id, tenant_id: tenant.id, status: "online", hostname: "pve-1", version: "1.2.3", capabilities: ["agent.ping"], connected_at: now, session_id: "s-1", revoked_at: null });
      await store.updateAgentSession(agent_id, { policy_version_applied: 1_700_000_000_123 });
      expect((await store.getAgent(agent_id))?.policy_version_applied).toBe(1_700_000_000_123);
      expect((await store.listAgents(tenant.id)).map((a) => a.id)).toEqual([agent_id]);
      expect(await store.getAgent("0190a0b4-6f00-7000-8000-00000000f00d")).toBeNull();
      expect(await store.getAgent("not-a-uuid")).toBeNull();
      await store.close();
    });

    test("commands keep params, results and errors as sent, and list newest first", async () => {
      const { store, command, tenant, agent_id } = await withAgent();
      const params = { data: { nested: [1, "two", null, { three: true }] }, text: "ünïcødé ✓" };
      const first = (await store.enqueueCommand(command({ params }))).command;
      const second = (await store.enqueueCommand(command({ created_at: first.created_at + 1 }), { dispatchNow: true })).command;
      expect((await store.getCommand(first.id))?.params).toEqual(params);
      expect((await store.listCommands({ tenant_id: tenant.id, agent_id, limit: 10 })).map((c) => c.id)).toEqual([second.id, first.id]);
      expect((await store.listCommands({ tenant_id: tenant.id, agent_id, limit: 10, status: "queued" })).map((c) => c.id)).toEqual([first.id]);
      expect(await store.listCommands({ tenant_id: tenant.id, agent_id, limit: 1 })).toHaveLength(1);
      const error = { code: "EXECUTION_FAILED", message: "boom", details: { exit: 3 } };
      const failed = await store.transitionCommand({ id: second.id, from: ["dispatched"], to: "failed", patch: { error, finished_at: second.created_at + 5 }, actor: "x" });
      expect(failed).toMatchObject({ status: "failed", error, finished_at: second.created_at + 5, params: { data: 1 } });
      expect(await store.getCommand("not-a-uuid")).toBeNull();
      await store.close();
    });

    test("patches change fields without a status change or an audit entry; envelope-only drops params and result", async () => {
      const { store, command, tenant, agent_id } = await withAgent();
      const created = (await store.enqueueCommand(command(), { dispatchNow: true })).command;
      const at = Date.now();
      expect(await store.patchCommand({ id: created.id, patch: { cancel_requested_at: at } })).toMatchObject({ status: "dispatched", cancel_requested_at: at });
      expect(await store.patchCommand({ id: created.id, patch: { attempts_increment: 1 } })).toMatchObject({ attempts: 2 });
      const done = await store.transitionCommand({ id: created.id, agent_id, from: ["dispatched"], to: "succeeded", patch: { result: { secret_marker: "x" }, envelope_only: true, finished_at: at }, actor: "x" });
      expect(done).toMatchObject({ status: "succeeded", params: null, result: null });
      const actions = (await store.listAudit({ tenant_id: tenant.id, limit: 100 })).filter((entry) => entry.target_id === created.id).map((entry) => entry.action);
      expect(actions).toEqual(["command.queued", "command.dispatched", "command.running", "command.succeeded"]);
      expect(await store.patchCommand({ id: "0190a0b4-6f00-7000-8000-00000000f00d", patch: { attempts_increment: 1 } })).toBeNull();
      await store.close();
    });

    test("storage policy: default version 0, changes audited, purge counts what it deleted", async () => {
      const { store, tenant, agent_id, command } = await withAgent();
      const initial = await store.getStoragePolicy(tenant.id);
      expect(initial).toEqual({ secrets: "local-only", operational: "cloud", sync: { enabled: false }, updated_at: 0, updated_by: null });
      const done = (await store.enqueueCommand(command(), { dispatchNow: true })).command;
      await store.transitionCommand({ id: done.id, from: ["dispatched"], to: "succeeded", patch: { result: { vm: "marker" }, finished_at: Date.now() }, actor: "x" });
      const broken = (await store.enqueueCommand(command(), { dispatchNow: true })).command;
      const taskError = { code: "PVE_TASK_FAILED", message: "storage nas-7 is not online", details: { log_tail: ["nas-7"] } };
      await store.transitionCommand({ id: broken.id, from: ["dispatched"], to: "failed", patch: { error: taskError, finished_at: Date.now() }, actor: "x" });
      const pending = (await store.enqueueCommand(command())).command;
      await store.replaceInventory({ tenant_id: tenant.id, agent_id, items: [{ kind: "proxmox.vm", target: "default", key: "100", data: { name: "bot-1" } }, { kind: "syncthing.folder", target: "st", key: "f", data: { label: "L" } }], collected_at: 1_700_000_000_000 });
      expect(await store.listInventory({ tenant_id: tenant.id, agent_id })).toEqual([
        { kind: "proxmox.vm", target: "default", key: "100", data: { name: "bot-1" }, collected_at: 1_700_000_000_000 },
        { kind: "syncthing.folder", target: "st", key: "f", data: { label: "L" }, collected_at: 1_700_000_000_000 },
      ]);
      await store.replaceInventory({ tenant_id: tenant.id, agent_id, items: [{ kind: "proxmox.vm", target: "default", key: "101", data: { name: "bot-2" } }], collected_at: 1_700_000_000_001 });
      expect((await store.listInventory({ tenant_id: tenant.id, agent_id })).map((item) => item.key)).toEqual(["101"]);
      await store.appendEvent({ tenant_id: tenant.id, agent_id, source: "syncthing", target: "st", type: "StateChanged", data: { folder: "f" }, created_at: Date.now() });

      const local: typeof initial = { secrets: "local-only", operational: "local", sync: { enabled: true }, updated_at: 1_700_000_000_500, updated_by: "api_key:admin" };
      await store.putStoragePolicy({ tenant_id: tenant.id, policy: local, actor: "api_key:admin", previous: initial });
      expect(await store.getStoragePolicy(tenant.id)).toEqual(local);
      await store.putTelemetry({ tenant_id: tenant.id, agent_id, data: { counts: { "proxmox.vm": 1 } }, updated_at: 1_700_000_000_600 });
      expect(await store.getTelemetry(agent_id)).toEqual({ data: { counts: { "proxmox.vm": 1 } }, updated_at: 1_700_000_000_600 });
      const counts = await store.purgeOperational({ tenant_id: tenant.id, actor: "api_key:admin" });
      expect(counts).toEqual({ command_results: 1, command_params: 2, command_errors: 1, inventory: 1, events: 1, telemetry: 1 });
      expect((await store.getCommand(broken.id))?.error).toEqual(envelopeError("PVE_TASK_FAILED"));
      expect((await store.purgeOperational({ tenant_id: tenant.id, actor: "system" })).command_errors).toBe(0);
      expect(await store.listInventory({ tenant_id: tenant.id, agent_id })).toEqual([]);
      expect(await store.getTelemetry(agent_id)).toBeNull();
      expect((await store.getCommand(done.id))).toMatchObject({ result: null, params: null, status: "succeeded" });
      expect((await store.getCommand(pending.id))?.params).toEqual({ data: 1 });
      const audit = await store.listAudit({ tenant_id: tenant.id, limit: 100 });
      expect(audit.find((entry) => entry.action === "storage_policy.updated")).toMatchObject({ actor: "api_key:admin", details: { from: { operational: "cloud", sync: { enabled: false } }, to: { operational: "local", sync: { enabled: true } } } });
      expect(audit.find((entry) => entry.action === "operational_data.purged")?.details).toEqual(counts);
      await store.close();
    });

    test("a local tenant's command keeps no params once final, whatever ended it; a cloud tenant's keeps them", async () => {
      const { store, tenant, command } = await withAgent();
      const initial = await store.getStoragePolicy(tenant.id);
      const ends = async () => {
        const cancelled = (await store.enqueueCommand(command())).command;
        await store.transitionCommand({ id: cancelled.id, from: ["queued"], to: "cancelled", patch: { finished_at: Date.now() }, actor: "api_key:admin" });
        const revoked = (await store.enqueueCommand(command(), { dispatchNow: true })).command;
        await store.transitionCommand({ id: revoked.id, from: ["dispatched"], to: "failed", patch: { finished_at: Date.now(), error: { code: "AGENT_REVOKED", message: "revoked" } }, actor: "api_key:admin" });
        const expiring = (await store.enqueueCommand(command({ expires_at: Date.now() - 1 }))).command;
        const expired = await store.expireCommands(Date.now());
        expect(expired.map((c) => c.id)).toContain(expiring.id);
        const running = (await store.enqueueCommand(command(), { dispatchNow: true })).command;
        await store.transitionCommand({ id: running.id, from: ["dispatched"], to: "running", patch: { started_at: Date.now() }, actor: "agent:x" });
        return Promise.all([cancelled, revoked, expiring, running].map(async (c) => (await store.getCommand(c.id))!));
      };
      const underCloud = await ends();
      expect(underCloud.map((c) => [c.status, c.params])).toEqual([["cancelled", { data: 1 }], ["failed", { data: 1 }], ["expired", { data: 1 }], ["running", { data: 1 }]]);

      await store.putStoragePolicy({ tenant_id: tenant.id, policy: { ...initial, operational: "local", updated_at: initial.updated_at + 1 }, actor: "api_key:admin", previous: initial });
      const underLocal = await ends();
      // A command still running keeps them: the agent may need them again (redelivery).
      expect(underLocal.map((c) => [c.status, c.params])).toEqual([["cancelled", null], ["failed", null], ["expired", null], ["running", { data: 1 }]]);
      await store.close();
    });

    test("cancels unheard by the agent: commands that expired after they were sent, with a cancel request, until reported", async () => {
      const { store, agent_id, command } = await withAgent();
      const past = Date.now() - 1;
      const sent = (await store.enqueueCommand(command({ expires_at: past }), { dispatchNow: true })).command;
      const sentNoCancel = (await store.enqueueCommand(command({ expires_at: past }), { dispatchNow: true })).command;
      const neverSent = (await store.enqueueCommand(command({ expires_at: past }))).command;
      for (const id of [sent.id, neverSent.id]) await store.patchCommand({ id, patch: { cancel_requested_at: Date.now() } });
      await store.expireCommands(Date.now());
      expect(await store.unheardCancels(agent_id)).toEqual([sent.id]);
      expect((await store.getCommand(sentNoCancel.id))?.status).toBe("expired");
      await store.transitionCommand({ id: sent.id, agent_id, from: ["expired"], to: "cancelled", patch: { finished_at: Date.now() }, actor: `agent:${agent_id}` });
      expect(await store.unheardCancels(agent_id)).toEqual([]);
      await store.close();
    });

    test("listings and the expiry sweep return every row, past the 1,000 rows PostgREST answers with at most", async () => {
      const { store, tenant, agent_id, command } = await withAgent();
      const items = Array.from({ length: 1_100 }, (_, i) => ({ kind: "proxmox.vm", target: "default", key: String(10_000 + i), data: { n: i } }));
      await store.replaceInventory({ tenant_id: tenant.id, agent_id, items, collected_at: 1_700_000_000_000 });
      expect((await store.listInventory({ tenant_id: tenant.id, agent_id })).map((item) => item.key)).toEqual(items.map((item) => item.key));

      const past = Date.now() - 1;
      const ids: string[] = [];
      for (let batch = 0; batch < 22; batch++) {
        const queued = await Promise.all(Array.from({ length: 50 }, () => store.enqueueCommand(command({ expires_at: past }))));
        ids.push(...queued.map((entry) => entry.command.id));
      }
      const expired = (await store.expireCommands(Date.now())).filter((entry) => entry.agent_id === agent_id);
      expect(expired.map((entry) => entry.id).sort()).toEqual([...ids].sort());
      await store.close();
    });

    test("the audit log pages by id and takes entries from outside the store", async () => {
      const { store, tenant } = await withAgent();
      await store.appendAudit({ tenant_id: tenant.id, actor: "api_key:bmx_x", action: "settings.viewed", target_type: "tenant", target_id: tenant.id, details: { why: "test" } });
      const all = await store.listAudit({ tenant_id: tenant.id, limit: 100 });
      expect(all.at(-1)).toMatchObject({ actor: "api_key:bmx_x", action: "settings.viewed", details: { why: "test" }, created_at: expect.any(Number) });
      const firstPage = await store.listAudit({ tenant_id: tenant.id, limit: 2 });
      const rest = await store.listAudit({ tenant_id: tenant.id, limit: 100, after_id: firstPage.at(-1)!.id });
      expect([...firstPage, ...rest]).toEqual(all);
      expect(all.map((entry) => entry.id)).toEqual([...all.map((entry) => entry.id)].sort((a, b) => a - b));
      await store.close();
    });

    test("at start, agents this instance left online are offline; other instances' sessions and revoked agents stay as they are", async () => {
      const { store, tenant, agent_id, anotherAgent } = await withAgent();
      const elsewhere = await anotherAgent(`elsewhere-${tenant.id}`);
      const revoked = await anotherAgent(`revoked-${tenant.id}`);
      const instance = `instance-${tenant.id}`;
      await store.updateAgentSession(agent_id, { status: "online", session_id: "s-1", instance_id: instance });
      await store.updateAgentSession(elsewhere, { status: "online", session_id: "s-2", instance_id: `other-${tenant.id}` });
      await store.updateAgentSession(revoked, { status: "online", session_id: "s-3", instance_id: instance });
      await store.revokeAgent({ tenant_id: tenant.id, agent_id: revoked, actor: "admin", now: Date.now() });

      const ended = await store.endStaleSessions(instance);
      expect(await store.getAgent(agent_id)).toMatchObject({ status: "offline", session_id: null });
      expect((await store.getAgent(revoked))?.status).toBe("revoked");
      if (store.kind === "supabase") {
        expect(ended).toBe(1);
        expect(await store.getAgent(elsewhere)).toMatchObject({ status: "online", session_id: "s-2" });
      } else {
        // One process owns the SQLite file: whatever it left online is stale.
        expect(ended).toBe(2);
        expect((await store.getAgent(elsewhere))?.status).toBe("offline");
      }
      await store.close();
    });

    test("revoked agents that still have commands not final are found (a revoke cut short); finished or live ones are not", async () => {
      const { store, tenant, agent_id, command, anotherAgent } = await withAgent();
      const settled = await anotherAgent(`settled-${tenant.id}`);
      const live = await anotherAgent(`live-${tenant.id}`);
      await store.enqueueCommand(command(), { dispatchNow: true });
      await store.enqueueCommand(command());
      const { command: done } = await store.enqueueCommand(command({ agent_id: settled }), { dispatchNow: true });
      await store.transitionCommand({ id: done.id, agent_id: settled, from: ["dispatched"], to: "succeeded", patch: { result: {}, finished_at: Date.now() }, actor: "test" });
      await store.enqueueCommand(command({ agent_id: live }), { dispatchNow: true });
      for (const revoked of [agent_id, settled]) await store.revokeAgent({ tenant_id: tenant.id, agent_id: revoked, actor: "admin", now: Date.now() });

      const found = (await store.revokedAgentsWithUnfinishedCommands()).filter((agent) => agent.tenant_id === tenant.id);
      expect(found).toEqual([{ tenant_id: tenant.id, agent_id }]);
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
