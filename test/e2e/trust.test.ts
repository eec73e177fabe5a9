import Database from "better-sqlite3";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { apiClient } from "../support/api.js";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { until } from "../support/until.js";

describe("pairing, revocation and tenant isolation", () => {
  test("revoke closes the live socket, the agent stops, reconnects are refused, and its unfinished commands end", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const run = await agent.start({ BOTMOX_MAX_IN_FLIGHT: "1", BOTMOX_SHUTDOWN_GRACE_MS: "500" });
    const commands = `/api/v1/agents/${agent.agentId}/commands`;
    const running = await tenant.api.post(commands, { name: "agent.echo", params: { delay_ms: 60_000 } });
    const queued = await tenant.api.post(commands, { name: "agent.echo", params: { data: "never sent" } });
    await until("the long command runs", async () => ((await tenant.api.get(`/api/v1/commands/${running.body.id}`)).body.status === "running" ? true : undefined));
    expect((await tenant.api.get(`/api/v1/commands/${queued.body.id}`)).body.status).toBe("queued");

    const revoked = await tenant.api.post(`/api/v1/agents/${agent.agentId}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe("revoked");
    const exit = await run.exited;
    expect(exit.code).toBe(3);
    expect(run.logs().some((line) => line.msg === "disconnected from control plane" && line.code === 4003)).toBe(true);
    expect((await tenant.api.get(`/api/v1/commands/${running.body.id}?wait=5`)).body).toMatchObject({ status: "failed", error: { code: "AGENT_REVOKED" } });
    expect((await tenant.api.get(`/api/v1/commands/${queued.body.id}?wait=5`)).body).toMatchObject({ status: "cancelled", error: { code: "AGENT_REVOKED" } });

    const again = await agent.start({}, { waitConnected: false });
    expect((await again.exited).code).toBe(3);
    expect(again.output()).toContain("AGENT_REVOKED");
    // As launchd runs it: a refusal for good exits 0, which KeepAlive does not restart.
    const underLaunchd = await agent.start({ BOTMOX_REFUSED_EXIT_CODE: "0" }, { waitConnected: false });
    expect((await underLaunchd.exited).code).toBe(0);

    const command = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" });
    expect(command.status).toBe(403);
    expect(command.body.error.code).toBe("AGENT_REVOKED");
  });

  test("a used pairing code is rejected, and so is an expired one", async () => {
    await using cp = await startControlPlane({ PAIRING_TTL_MS: "1000" });
    const tenant = await cp.tenant();
    const api = apiClient(cp.url);
    const publicKey = Buffer.alloc(32, 7).toString("base64");

    const pairing = await tenant.api.post("/api/v1/agents/pairings");
    expect(pairing.status).toBe(201);
    expect(pairing.body.code).toMatch(/^BMX-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(pairing.body.pairing_uri).toContain("botmox://pair?");
    const first = await api.post("/api/v1/agents/register", { code: pairing.body.code, public_key: publicKey });
    expect(first.status).toBe(201);
    expect(first.body.tenant_id).toBe(tenant.tenantId);
    const replay = await api.post("/api/v1/agents/register", { code: pairing.body.code, public_key: publicKey });
    expect(replay.status).toBe(400);
    expect(replay.body.error.code).toBe("PAIRING_CODE_INVALID");

    const stale = await tenant.api.post("/api/v1/agents/pairings");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const late = await api.post("/api/v1/agents/register", { code: stale.body.code, public_key: publicKey });
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe("PAIRING_CODE_EXPIRED");
  });

  test("a copy of the database alone does not give a live pairing code away: codes are stored under a key kept beside it", async () => {
    await using cp = await startControlPlane({ DATA_BACKEND: "sqlite" });
    const tenant = await cp.tenant();
    const fromApi = (await tenant.api.post("/api/v1/agents/pairings")).body.code as string;
    const fromCli = JSON.parse((await cp.cli(["pairings", "create", "--tenant", tenant.tenantId])).stdout).code as string;

    const key = Buffer.from(readFileSync(join(cp.dataDir, "pairing-code.key"), "utf8").trim(), "hex");
    const db = new Database(join(cp.dataDir, "control-plane.db"), { readonly: true });
    const stored = db.prepare("SELECT code_hash FROM pairings ORDER BY created_at").pluck().all();
    db.close();
    const plain = (code: string) => createHash("sha256").update(code).digest("hex");
    const keyed = (code: string) => createHmac("sha256", key).update(code).digest("hex");
    expect(stored).toEqual([keyed(fromApi), keyed(fromCli)]);
    expect(stored).not.toContain(plain(fromApi));
    expect(stored).not.toContain(plain(fromCli));

    // Both kinds of code still pair.
    const api = apiClient(cp.url);
    for (const [index, code] of [fromApi, fromCli].entries()) {
      const registered = await api.post("/api/v1/agents/register", { code, public_key: Buffer.alloc(32, index + 1).toString("base64") });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    }
  });

  test("guessing pairing codes is cut short: after 10 misses an address waits, and a right code then waits too", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const api = apiClient(cp.url);
    const publicKey = Buffer.alloc(32, 9).toString("base64");
    const pairing = await tenant.api.post("/api/v1/agents/pairings");

    for (let i = 0; i < 10; i++) {
      const miss = await api.post("/api/v1/agents/register", { code: `BMX-AAAA-${String(i).padStart(4, "0")}`, public_key: publicKey });
      expect(miss.body.error.code).toMatch(/PAIRING_CODE_INVALID|BAD_REQUEST/);
    }
    const blocked = await api.post("/api/v1/agents/register", { code: pairing.body.code, public_key: publicKey });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(500);
    // The refused attempt registered nothing.
    expect((await tenant.api.get("/api/v1/agents")).body.agents).toEqual([]);
  });

  test("tenant B cannot list, read or command tenant A's agent or commands", async () => {
    await using cp = await startControlPlane();
    const a = await cp.tenant("a");
    const b = await cp.tenant("b");
    await using agent = await pairAgent(cp, a);
    await agent.start();
    const command = await a.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(command.body.status).toBe("succeeded");

    expect((await b.api.get("/api/v1/agents")).body.agents).toEqual([]);
    expect((await b.api.get(`/api/v1/agents/${agent.agentId}`)).status).toBe(404);
    expect((await b.api.get(`/api/v1/agents/${agent.agentId}/commands`)).status).toBe(404);
    expect((await b.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" })).status).toBe(404);
    expect((await b.api.post(`/api/v1/agents/${agent.agentId}/revoke`)).status).toBe(404);
    expect((await b.api.get(`/api/v1/commands/${command.body.id}`)).status).toBe(404);
    expect((await b.api.post(`/api/v1/commands/${command.body.id}/cancel`)).status).toBe(404);
    const audit = await b.api.get("/api/v1/audit?limit=1000");
    expect(audit.body.entries.some((entry: { target_id: string }) => entry.target_id === agent.agentId)).toBe(false);
  });

  test("roles: viewers read, operators command, only admins revoke; no key is a 401", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    expect((await apiClient(cp.url).get("/api/v1/agents")).status).toBe(401);
    expect((await apiClient(cp.url, "bmx_not-a-key").get("/api/v1/agents")).status).toBe(401);
    expect((await tenant.as("viewer").get("/api/v1/agents")).status).toBe(200);
    const viewerCommand = await tenant.as("viewer").post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" });
    expect(viewerCommand.status).toBe(403);
    expect(viewerCommand.body.error.code).toBe("FORBIDDEN");
    expect((await tenant.as("operator").post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" })).status).toBe(202);
    expect((await tenant.as("operator").post(`/api/v1/agents/${agent.agentId}/revoke`)).status).toBe(403);
  });
});
