import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { commander, pairAgent, startControlPlane } from "../support/botmox.js";
import { until } from "../support/until.js";
import { scanControlPlaneDb } from "../support/db-scan.js";
import { addProxmoxTarget, pveSimulator, ROOT_SECRET } from "../support/pve.js";
import { addSyncthingTarget, startSyncthing } from "../support/syncthing.js";
import { captureProxy } from "../support/tcp-capture.js";




describe("storage_policy: operational data stays where the tenant says", () => {
  test("the API validates, audits and enforces roles", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const path = "/api/v1/settings/storage_policy";
    expect((await tenant.as("viewer").get(path)).body).toEqual({ secrets: "local-only", operational: "cloud", sync: { enabled: false }, updated_at: 0, updated_by: null });
    expect((await tenant.as("operator").call("PUT", path, { secrets: "local-only", operational: "local", sync: { enabled: false } })).status).toBe(403);
    const cloudSecrets = await tenant.api.call("PUT", path, { secrets: "cloud", operational: "local", sync: { enabled: false } });
    expect(cloudSecrets.status).toBe(400);
    expect(cloudSecrets.body.error.details[0].path).toBe("secrets");
    expect((await tenant.api.call("PATCH", path, { operational: "somewhere" })).body.error.details[0].path).toBe("operational");
    expect((await tenant.api.call("PATCH", path, { sync: { enabled: "yes" } })).body.error.details[0].path).toBe("sync.enabled");
    expect((await tenant.api.call("PATCH", path, { colour: "blue" })).body.error.details[0]).toEqual({ path: "colour", message: "unknown field" });
    expect((await tenant.api.call("PUT", path, { operational: "local" })).status).toBe(400);

    const patched = await tenant.api.call("PATCH", path, { sync: { enabled: true } });
    expect(patched.body).toMatchObject({ secrets: "local-only", operational: "cloud", sync: { enabled: true }, updated_by: expect.stringMatching(/^api_key:/) });
    const replaced = await tenant.api.call("PUT", path, { secrets: "local-only", operational: "local", sync: { enabled: false } });
    expect(replaced.body).toMatchObject({ operational: "local", sync: { enabled: false } });
    expect(replaced.body.updated_at).toBeGreaterThan(patched.body.updated_at);
    // What GET gives can be edited and sent back: the read-only fields are accepted and ignored.
    const read = (await tenant.api.get(path)).body;
    const roundTrip = await tenant.api.call("PUT", path, { ...read, sync: { enabled: true }, updated_at: 1, updated_by: "someone else" });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body).toMatchObject({ operational: "local", sync: { enabled: true }, updated_by: read.updated_by });
    expect(roundTrip.body.updated_at).toBeGreaterThan(read.updated_at);
    expect((await tenant.api.call("PATCH", path, { ...roundTrip.body, sync: { enabled: false } })).status).toBe(200);
    expect((await tenant.api.call("PATCH", path, { updated_at: "yesterday" })).body.error.details[0].path).toBe("updated_at");
    const audit = (await tenant.api.get("/api/v1/audit?limit=1000")).body.entries.filter((e: { action: string }) => e.action === "storage_policy.updated");
    expect(audit).toHaveLength(4);
    expect(audit[1]).toMatchObject({ actor: expect.stringMatching(/^api_key:/), details: { from: { operational: "cloud", sync: { enabled: true } }, to: { operational: "local", sync: { enabled: false } } } });
  });

  test("local keeps markers off the control plane; cloud stores them; back to local purges them; secrets never leave", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using wire = await captureProxy(cp.port);
    await using agent = await pairAgent(cp, tenant, { BOTMOX_INVENTORY_INTERVAL_MS: "1000" }, wire.url);
    await using sim = await pveSimulator({ timings: { cloneMs: 100, powerMs: 50, taskMs: 50 } });
    await using st = await startSyncthing("policy");
    expect((await addProxmoxTarget(agent, "default", sim)).code).toBe(0);
    expect((await addSyncthingTarget(agent, "sync", st)).code).toBe(0);
    await agent.start();
    const run = commander(tenant, agent, "operator");
    const policyPath = "/api/v1/settings/storage_policy";
    const applied = (version: number) => until(`policy ${version} applied`, async () => ((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.policy_version_applied === version ? true : undefined));

    const workload = async (tag: string) => {
      const marker = (what: string) => `mk-${tag}-${what}-${randomBytes(4).toString("hex")}`;
      const markers = { vm: marker("vm"), folder: marker("folder"), echo: marker("echo") };
      const clone = await run("proxmox.vm.clone", { node: "pve1", vmid: 9000, name: markers.vm });
      expect(clone.status).toBe("succeeded");
      expect((await run("proxmox.vm.start", { node: "pve1", vmid: clone.result.newid })).status).toBe("succeeded");
      mkdirSync(join(st.dataDir, markers.folder), { recursive: true });
      const folder = await run("syncthing.folder.add", { target: "sync", id: markers.folder, label: markers.folder, path: join(st.dataDir, markers.folder) });
      expect(folder.result.folder.label).toBe(markers.folder); // relayed live to the waiting caller
      const echo = await run("agent.echo", { data: markers.echo });
      expect(echo.result).toEqual({ data: markers.echo });
      return { markers: Object.values(markers), echo };
    };

    // local: only envelopes on the control plane
    const local = await tenant.api.call("PUT", policyPath, { secrets: "local-only", operational: "local", sync: { enabled: false } });
    await applied(local.body.updated_at);
    const first = await workload("local");
    const fromAgent = await tenant.api.get(`/api/v1/commands/${first.echo.id}/result`);
    expect(fromAgent.body).toMatchObject({ source: "agent", result: { data: first.markers[2] } });
    const inventory = await until("the VM in the agent's inventory", async () => {
      const response = await tenant.api.get(`/api/v1/agents/${agent.agentId}/inventory`);
      return response.body.items?.some((item: { data: { name?: string } }) => item.data.name === first.markers[0]) ? response.body : undefined;
    });
    expect(inventory.source).toBe("agent");
    expect((await tenant.api.get(`/api/v1/commands/${first.echo.id}`)).body).toMatchObject({ status: "succeeded", result: null, params: null });
    expect(scanControlPlaneDb(cp.dataDir, first.markers)).toEqual({});

    // local + sync: aggregate telemetry only
    const sync = await tenant.api.call("PATCH", policyPath, { sync: { enabled: true } });
    await applied(sync.body.updated_at);
    const telemetry = await until("telemetry", async () => {
      const response = await tenant.api.get(`/api/v1/agents/${agent.agentId}/telemetry`);
      return response.body.counts ? response.body : undefined;
    });
    expect(telemetry).toMatchObject({ counts: { "proxmox.vm": 4, "syncthing.folder": 1 }, healthy_targets: 2, unhealthy_targets: 0 });
    expect(scanControlPlaneDb(cp.dataDir, first.markers)).toEqual({});

    // cloud: backfill and storage
    const cloud = await tenant.api.call("PUT", policyPath, { secrets: "local-only", operational: "cloud", sync: { enabled: false } });
    await applied(cloud.body.updated_at);
    await until("backfilled inventory", async () => {
      const response = await tenant.api.get(`/api/v1/agents/${agent.agentId}/inventory`);
      return response.body.source === "control-plane" && response.body.items.some((item: { data: { name?: string } }) => item.data.name === first.markers[0]) ? true : undefined;
    });
    const second = await workload("cloud");
    await until("cloud markers stored", async () => (Object.keys(scanControlPlaneDb(cp.dataDir, second.markers)).length === 3 ? true : undefined));
    expect((await tenant.api.get(`/api/v1/commands/${second.echo.id}/result`)).body).toMatchObject({ source: "control-plane", result: { data: second.markers[2] } });

    // back to local: purged, and the count reported
    const back = await tenant.api.call("PUT", policyPath, { secrets: "local-only", operational: "local", sync: { enabled: false } });
    expect(back.body.purged.command_results).toBeGreaterThanOrEqual(4);
    expect(back.body.purged.inventory).toBeGreaterThanOrEqual(6);
    expect(scanControlPlaneDb(cp.dataDir, [...first.markers, ...second.markers])).toEqual({});
    const purge = (await tenant.api.get("/api/v1/audit?limit=1000")).body.entries.filter((e: { action: string }) => e.action === "operational_data.purged").at(-1);
    expect(purge.details).toEqual(back.body.purged);

    // Data kept only on the agent cannot be fetched while it is offline: a clear 503.
    await agent.child!.kill("SIGTERM");
    const offline = await tenant.api.get(`/api/v1/commands/${first.echo.id}/result`);
    expect(offline.status).toBe(503);
    expect(offline.body.error.code).toBe("AGENT_OFFLINE");
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}/inventory`)).status).toBe(503);

    // Secrets: nowhere on the control plane side, in any mode.
    await cp.stop();
    for (const secret of [ROOT_SECRET, st.apiKey]) {
      expect(Object.keys(scanControlPlaneDb(cp.dataDir, [secret]))).toEqual([]);
      expect(wire.captured().toString("latin1").includes(secret)).toBe(false);
      expect(cp.child.output().includes(secret)).toBe(false);
      expect(agent.allLogs().some((line) => JSON.stringify(line).includes(secret))).toBe(false);
    }
  });

  test("the agent refuses to send a result carrying a vault secret, and says so", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("leak");
    expect((await addSyncthingTarget(agent, "sync", st)).code).toBe(0);
    await agent.start();
    mkdirSync(join(st.dataDir, "trap"), { recursive: true });
    // SyncThing echoes the label back in the folder config, so the executor's result would carry the key.
    const leak = await commander(tenant, agent, "operator")("syncthing.folder.add", { target: "sync", id: "trap", label: st.apiKey, path: join(st.dataDir, "trap") });
    expect(leak).toMatchObject({ status: "failed", result: null, error: { code: "SECRET_LEAK_BLOCKED" } });
    await agent.child!.waitForLog((line) => line.msg === "command result contained a vault secret; it was withheld");
  });

  test("local: an agent's error is stored as its code only; the caller and GET …/result get it whole", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const local = await tenant.api.call("PUT", "/api/v1/settings/storage_policy", { secrets: "local-only", operational: "local", sync: { enabled: false } });
    await until("the policy applied", async () => ((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.policy_version_applied === local.body.updated_at ? true : undefined));
    const marker = `nas-${randomBytes(4).toString("hex")}`;

    const failed = await commander(tenant, agent, "operator")("proxmox.version", { target: marker });
    expect(failed).toMatchObject({ status: "failed", error: { code: "TARGET_NOT_FOUND", message: expect.stringContaining(marker) } });
    const stored = (await tenant.api.get(`/api/v1/commands/${failed.id}`)).body;
    expect(stored.error).toEqual({ code: "TARGET_NOT_FOUND", message: expect.stringContaining("kept on the agent"), details: { kept_on_agent: true } });
    const fromAgent = (await tenant.api.get(`/api/v1/commands/${failed.id}/result`)).body;
    expect(fromAgent).toMatchObject({ source: "agent", status: "failed", error: { code: "TARGET_NOT_FOUND", message: expect.stringContaining(marker) } });
    expect(scanControlPlaneDb(cp.dataDir, [marker])).toEqual({});
  });

  test("a target added while the agent runs has its secret guarded from its first command", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("late");
    await agent.start();
    expect((await addSyncthingTarget(agent, "sync", st)).code).toBe(0);
    mkdirSync(join(st.dataDir, "trap"), { recursive: true });
    // At once: well before the running agent next re-reads its vault (every 15 s).
    const leak = await commander(tenant, agent, "operator")("syncthing.folder.add", { target: "sync", id: "trap", label: st.apiKey, path: join(st.dataDir, "trap") });
    expect(leak).toMatchObject({ status: "failed", result: null, error: { code: "SECRET_LEAK_BLOCKED" } });
  });

  test("acknowledged results leave the agent's journal once the retention period passes, while it runs", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    // Retention 0: pruned about once a second (a tenth of the period, at least a second apart).
    await using agent = await pairAgent(cp, tenant, { BOTMOX_JOURNAL_RETENTION_DAYS: "0" });
    await agent.start();
    const run = commander(tenant, agent);
    for (let i = 0; i < 20; i++) expect((await run("agent.ping", {})).status).toBe("succeeded");

    const journal = () => agent.cli(["status"]).then((status) => JSON.parse(status.stdout).journal as Record<string, number>);
    await until("the journal to be pruned", async () => ((await journal()).total === 0 ? true : undefined), 10_000);
    const pruned = agent.child!.logs().filter((line) => line.msg === "pruned acknowledged results past their retention from the journal");
    expect(pruned.reduce((sum, line) => sum + (line.count as number), 0)).toBe(20);
    expect((await run("agent.ping", {})).status).toBe("succeeded");
  });
});
