import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { apiClient } from "../support/api.js";
import { pairAgent, startControlPlane } from "../support/botmox.js";

const agentVersion = (JSON.parse(readFileSync(new URL("../../apps/agent/package.json", import.meta.url), "utf8")) as { version: string }).version;

describe("pair, run and command round trip", () => {
  test("agent.ping and agent.info through POST …/commands?wait", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant("acme");
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const health = await tenant.api.get("/api/v1/health");
    expect(health.body).toMatchObject({ status: "ok", store: { backend: process.env.BOTMOX_TEST_DATA_BACKEND ?? "sqlite", ok: true }, agents_connected: 1 });

    const ping = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping", params: {} });
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({ status: "succeeded", name: "agent.ping", result: { pong: true }, attempts: 1 });
    expect(Date.parse(ping.body.result.agent_time)).toBeGreaterThan(Date.now() - 60_000);

    const info = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.info" });
    expect(info.status).toBe(200);
    expect(info.body.result).toMatchObject({ version: agentVersion, protocol_version: 1, capabilities: expect.arrayContaining(["agent"]) });

    const listed = await tenant.api.get(`/api/v1/agents/${agent.agentId}`);
    expect(listed.body).toMatchObject({ status: "online", version: agentVersion, capabilities: expect.arrayContaining(["agent"]) });
    expect(listed.body.hostname).toBeTruthy();

    const history = await tenant.api.get(`/api/v1/agents/${agent.agentId}/commands`);
    expect(history.body.commands.map((c: { name: string }) => c.name)).toEqual(["agent.info", "agent.ping"]);

    const audit = await tenant.api.get("/api/v1/audit?limit=1000");
    const actions = audit.body.entries.map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["pairing.created", "agent.registered", "command.queued", "command.dispatched", "command.running", "command.succeeded"]));

    // Both went straight to the live agent without waiting in the queue; both count as submitted.
    const metrics = (await apiClient(cp.url).get("/metrics")).body as string;
    expect(metrics).toMatch(/^botmox_commands_submitted_total 2$/m);
    expect(metrics).toMatch(/^botmox_commands_finished_total\{status="succeeded"\} 2$/m);
  });

  test("a command for an offline agent waits in the queue and runs when the agent connects", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);

    const queued = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "hello later" } });
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe("queued");

    await agent.start();
    const done = await tenant.api.get(`/api/v1/commands/${queued.body.id}?wait=10`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "succeeded", result: { data: "hello later" } });
  });

  test("a command whose expires_in_ms passes before the agent connects ends expired and never runs", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);

    const queued = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: 1 }, expires_in_ms: 300 });
    const expired = await tenant.api.get(`/api/v1/commands/${queued.body.id}?wait=5`);
    expect(expired.body).toMatchObject({ status: "expired", error: { code: "COMMAND_EXPIRED" } });

    await agent.start();
    const after = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(after.body.status).toBe("succeeded");
    expect(agent.allLogs().some((line) => line.command_id === queued.body.id)).toBe(false);
  });

  test("Idempotency-Key returns the same command; reusing it for another request is refused", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const path = `/api/v1/agents/${agent.agentId}/commands?wait=5`;
    const first = await tenant.api.post(path, { name: "agent.echo", params: { data: "once" } }, { "idempotency-key": "job-42" });
    const second = await tenant.api.post(path, { name: "agent.echo", params: { data: "once" } }, { "idempotency-key": "job-42" });
    expect(second.body.id).toBe(first.body.id);
    const executions = agent.allLogs().filter((line) => line.msg === "command started" && line.command_id === first.body.id);
    expect(executions).toHaveLength(1);
    const conflicting = await tenant.api.post(path, { name: "agent.echo", params: { data: "other" } }, { "idempotency-key": "job-42" });
    expect(conflicting.status).toBe(422);
    expect(conflicting.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    // The same request with its keys in another order is the same request; another expiry is not.
    const ordered = await tenant.api.post(path, { name: "agent.echo", params: { data: "twice", delay_ms: 0 }, expires_in_ms: 60_000 }, { "idempotency-key": "job-43" });
    const reordered = await tenant.api.post(path, { expires_in_ms: 60_000, params: { delay_ms: 0, data: "twice" }, name: "agent.echo" }, { "idempotency-key": "job-43" });
    expect(reordered.body.id).toBe(ordered.body.id);
    const otherExpiry = await tenant.api.post(path, { name: "agent.echo", params: { data: "twice", delay_ms: 0 }, expires_in_ms: 1_000 }, { "idempotency-key": "job-43" });
    expect(otherExpiry.body.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await apiClient(cp.url).get("/metrics")).body).toMatch(/^botmox_commands_submitted_total 2$/m);
  });

  test("cancel stops a running agent.echo and reports it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const started = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { delay_ms: 30_000 } });
    await agent.child!.waitForLog((line) => line.msg === "command started" && line.command_id === started.body.id);
    const cancel = await tenant.api.post(`/api/v1/commands/${started.body.id}/cancel`);
    expect(cancel.body.cancel).toBe("requested");
    const final = await tenant.api.get(`/api/v1/commands/${started.body.id}?wait=5`);
    expect(final.body).toMatchObject({ status: "cancelled", error: { code: "COMMAND_CANCELLED" } });
  });
});

describe("dispatch under load", () => {
  test("clients outnumbering an agent's slots: every command finishes", async () => {
    await using cp = await startControlPlane({ LOG_LEVEL: "info" });
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "4", LOG_LEVEL: "info" });
    await agent.start();
    // Six clients, each submitting its next command as soon as the previous one finished: the queue
    // keeps draining to empty while new work arrives, which is when the race bites.
    const statuses = await Promise.all(
      Array.from({ length: 6 }, async (_, client) => {
        const seen: string[] = [];
        for (let i = 0; i < 60; i++) {
          const response = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=10`, { name: "agent.echo", params: { data: [client, i] } });
          seen.push(response.body.status);
        }
        return seen;
      }),
    );
    expect(statuses.flat().filter((status) => status !== "succeeded")).toEqual([]);
  });
});
