import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "@botmox/protocol";
import { afterAll, describe, expect, test } from "vitest";
import { EventBus } from "../events/bus.js";
import { storeWithAgent as storeWithAgentIn } from "../store/sqlite/store-with-agent.testkit.js";
import type { Store } from "../store/types.js";
import { CommandService } from "./command-service.js";

const dir = mkdtempSync(join(tmpdir(), "command-service-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const storeWithAgent = (name: string) => storeWithAgentIn(join(dir, `${name}.db`));

describe("CommandService.endForRevokedAgent", () => {
  test("commands the closing session moves on while the revoke ends them (an acceptance, a dispatch) end all the same", async () => {
    const { store: real, tenant, agent_id } = await storeWithAgent("revoke-race");
    const enqueue = async (dispatchNow: boolean) => {
      const now = Date.now();
      const record = { id: uuidv7(now), tenant_id: tenant.id, agent_id, name: "agent.ping", params: {}, actor: "test", idempotency_key: null, request_hash: null, timeout_ms: 1_000, created_at: now, expires_at: now + 60_000 };
      return (await real.enqueueCommand(record, { dispatchNow })).command;
    };
    const dispatched = await Promise.all([enqueue(true), enqueue(true), enqueue(true)]);
    const queued = await Promise.all([enqueue(false), enqueue(false)]);

    // Right after each read, the session's last frames land: acceptances of what was read, and a dispatch of a queued one.
    const store = new Proxy(real, {
      get: (target, key) => {
        if (key === "activeCommands") {
          return async (agentId: string) => {
            const read = await target.activeCommands(agentId);
            for (const command of read.filter((c) => c.status === "dispatched")) {
              await target.transitionCommand({ id: command.id, from: ["dispatched"], to: "running", patch: { started_at: Date.now() }, actor: "agent" });
            }
            return read;
          };
        }
        if (key === "listCommands") {
          return async (query: Parameters<Store["listCommands"]>[0]) => {
            const read = await target.listCommands(query);
            if (read[0]) await target.claimCommands({ agent_id: read[0].agent_id, limit: 1, now: Date.now() });
            return read;
          };
        }
        return Reflect.get(target, key, target);
      },
    }) as Store;

    await real.revokeAgent({ tenant_id: tenant.id, agent_id, actor: "admin", now: Date.now() });
    const ended = await new CommandService(store, new EventBus()).endForRevokedAgent({ tenant_id: tenant.id, actor: "admin", agent_id });

    expect(await real.activeCommands(agent_id)).toEqual([]);
    const final = await Promise.all([...dispatched, ...queued].map(async (c) => (await real.getCommand(c.id))!));
    expect(final.map((c) => [c.status, c.error?.code])).toEqual([
      ["failed", "AGENT_REVOKED"],
      ["failed", "AGENT_REVOKED"],
      ["failed", "AGENT_REVOKED"],
      // The first queued one was sent before its cancel: it may have run.
      ["failed", "AGENT_REVOKED"],
      ["cancelled", "AGENT_REVOKED"],
    ]);
    expect(ended).toBe(5);
    await real.close();
  });
});

describe("CommandService.submit", () => {
  test("a retry with the Idempotency-Key of a command stored by an earlier release (its hash format) gets that command", async () => {
    const { store, tenant, agent_id } = await storeWithAgent("legacy-hash");
    const body = { name: "agent.echo", params: { data: "order-42", delay_ms: 20_000 }, timeout_ms: 60_000 };
    const now = Date.now();
    const stored = (
      await store.enqueueCommand({
        id: uuidv7(now),
        tenant_id: tenant.id,
        agent_id,
        name: body.name,
        params: body.params,
        actor: "api_key:bmx_1",
        idempotency_key: "order-42",
        request_hash: createHash("sha256").update(JSON.stringify([agent_id, body.name, body.params, body.timeout_ms])).digest("hex"),
        timeout_ms: body.timeout_ms,
        created_at: now,
        expires_at: now + 60_000,
      })
    ).command;
    const service = new CommandService(store, new EventBus());
    const retry = await service.submit({ tenant_id: tenant.id, actor: "api_key:bmx_1", agent_id, body, idempotencyKey: "order-42" });
    expect(retry).toMatchObject({ created: false, command: { id: stored.id } });
    await expect(service.submit({ tenant_id: tenant.id, actor: "api_key:bmx_1", agent_id, body: { ...body, timeout_ms: 1_000 }, idempotencyKey: "order-42" })).rejects.toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    await store.close();
  });
});
