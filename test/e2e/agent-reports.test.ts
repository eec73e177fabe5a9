import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { startTlsFront } from "../support/proxies.js";

type Check = { name: string; ok: boolean; detail: string };
const checkNamed = (stdout: string, name: string): Check | undefined => (JSON.parse(stdout) as { checks: Check[] }).checks.find((check) => check.name === name);

describe("botmox-agent status and doctor report on a broken installation instead of crashing", () => {
  test("healthy: status of a stopped agent and doctor of a running one both exit 0 with JSON", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);

    const stopped = await agent.cli(["status"]);
    expect(stopped.code, stopped.output).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ paired: true, agent_id: agent.agentId, process: { running: false }, problems: [] });

    const running = await agent.start();
    const status = await agent.cli(["status"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ process: { running: true, pid: running.process.pid, connected: true }, problems: [] });
    const doctor = await agent.cli(["doctor"]);
    expect(doctor.code, doctor.output).toBe(0);
    expect((JSON.parse(doctor.stdout) as { checks: Check[] }).checks.map((check) => check.name)).toEqual(["environment", "config", "paired", "vault", "clock", "server", "identity", "targets", "journal"]);
    // Its sign-in left the running agent's session alone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(running.logs().some((line) => line.msg === "disconnected from control plane")).toBe(false);
    expect((await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" })).body.status).toBe("succeeded");

    // A SyncThing target without folder roots (as added before they existed) refuses every folder change: doctor says so.
    const configFile = join(agent.home, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    writeFileSync(configFile, JSON.stringify({ ...config, targets: { ...config.targets, st: { kind: "syncthing", url: "http://127.0.0.1:8384" } } }));
    const noted = await agent.cli(["doctor"]);
    expect(noted.code, noted.output).toBe(0);
    expect(checkNamed(noted.stdout, "targets")?.detail).toMatch(/^st \(syncthing\); note: st allows no folder paths, so folder add, share and accept are refused: add it again with --folder-root DIR/);
  });

  test("doctor fails an agent the control plane refuses: revoked, or unknown to it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using forgotten = await pairAgent(cp, tenant);
    expect((await tenant.api.post(`/api/v1/agents/${agent.agentId}/revoke`)).status).toBe(200);
    const revoked = await agent.cli(["doctor"]);
    expect(revoked.code).toBe(1);
    expect(checkNamed(revoked.stdout, "identity")).toMatchObject({ ok: false, detail: expect.stringContaining("revoked this agent") });

    // The same home pointed at a control plane that never paired it (its data was reset, say).
    await using fresh = await startControlPlane();
    const configFile = join(forgotten.home, "config.json");
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, "utf8")), server: fresh.url }));
    const unknown = await forgotten.cli(["doctor"]);
    expect(unknown.code).toBe(1);
    expect(checkNamed(unknown.stdout, "identity")).toMatchObject({ ok: false, detail: expect.stringContaining("unknown agent") });
  });

  test("no vault passphrase: doctor names it in the environment and vault checks; status does not need it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);

    const doctor = await agent.cli(["doctor"], { BOTMOX_VAULT_PASSPHRASE: "" });
    expect(doctor.code).toBe(1);
    expect(checkNamed(doctor.stdout, "environment")).toMatchObject({ ok: false, detail: expect.stringContaining("BOTMOX_VAULT_PASSPHRASE") });
    expect(checkNamed(doctor.stdout, "vault")).toMatchObject({ ok: false });
    // What does not need the vault is still checked.
    expect(checkNamed(doctor.stdout, "server")).toMatchObject({ ok: true });

    const status = await agent.cli(["status"], { BOTMOX_VAULT_PASSPHRASE: "" });
    expect(status.code, status.output).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ agent_id: agent.agentId, vault: "file", problems: [] });
  });

  test("pairing with a relative BOTMOX_CA_FILE saves it absolute, so a service started elsewhere finds it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const front = await startTlsFront(cp.port);
    try {
      await using agent = await pairAgent(cp, tenant, { BOTMOX_CA_FILE: relative(process.cwd(), front.caFile) }, front.url);
      expect(JSON.parse(readFileSync(join(agent.home, "config.json"), "utf8")).ca_file).toBe(front.caFile);
      // Without the variable, as the service runs: the saved file is used.
      const doctor = await agent.cli(["doctor"], { BOTMOX_CA_FILE: "" });
      expect(checkNamed(doctor.stdout, "tls")).toEqual({ name: "tls", ok: true, detail: `verified against ${front.caFile}` });
    } finally {
      await front.close();
    }
  });

  test("an invalid environment: doctor still checks the server against BOTMOX_CA_FILE, as run would", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const front = await startTlsFront(cp.port);
    try {
      await using agent = await pairAgent(cp, tenant, { BOTMOX_CA_FILE: front.caFile }, front.url);
      // config.json now names a CA file that is gone; BOTMOX_CA_FILE (still set) names the right one.
      const configFile = join(agent.home, "config.json");
      writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, "utf8")), ca_file: join(agent.home, "moved-away.pem") }));

      const doctor = await agent.cli(["doctor"], { BOTMOX_VAULT_PASSPHRASE: "" });
      expect(doctor.code).toBe(1);
      expect(checkNamed(doctor.stdout, "environment")).toMatchObject({ ok: false });
      expect(checkNamed(doctor.stdout, "server")).toMatchObject({ ok: true });
      expect(checkNamed(doctor.stdout, "tls")).toEqual({ name: "tls", ok: true, detail: `verified against ${front.caFile}` });
    } finally {
      await front.close();
    }
  });

  test("a control plane whose store is down: doctor says it is degraded, and TLS and the clock still check out", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    // What /api/v1/health answers while the store is unreachable, behind TLS.
    const degraded = createServer((_request, response) => {
      response.writeHead(503, { "content-type": "application/json" });
      response.end(JSON.stringify({ status: "degraded", time: new Date().toISOString(), store: { backend: "supabase", ok: false, message: "PostgREST unreachable" }, agents_connected: 0 }));
    });
    await new Promise<void>((resolve) => degraded.listen(0, "127.0.0.1", resolve));
    const front = await startTlsFront((degraded.address() as AddressInfo).port);
    try {
      const configFile = join(agent.home, "config.json");
      writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, "utf8")), server: front.url }));
      const doctor = await agent.cli(["doctor"], { BOTMOX_CA_FILE: front.caFile });
      expect(doctor.code).toBe(1);
      expect(checkNamed(doctor.stdout, "server")).toMatchObject({ ok: false, detail: expect.stringContaining("degraded (HTTP 503)") });
      expect(checkNamed(doctor.stdout, "server")?.detail).toContain("PostgREST unreachable");
      expect(checkNamed(doctor.stdout, "tls")).toMatchObject({ ok: true });
      expect(checkNamed(doctor.stdout, "clock")).toMatchObject({ ok: true });
    } finally {
      await front.close();
      degraded.close();
    }
  });

  test("a corrupt config.json: both print JSON naming the file, exit 1, and leave it untouched", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const configFile = join(agent.home, "config.json");
    const corrupt = readFileSync(configFile, "utf8").slice(0, 40);
    writeFileSync(configFile, corrupt);

    const status = await agent.cli(["status"]);
    expect(status.code).toBe(1);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ paired: null, agent_id: null, journal: null, process: { running: false } });
    expect(report.problems).toEqual([expect.stringMatching(/^config: .*config\.json is not valid JSON/)]);

    const doctor = await agent.cli(["doctor"]);
    expect(doctor.code).toBe(1);
    expect(checkNamed(doctor.stdout, "config")).toMatchObject({ ok: false, detail: expect.stringContaining("config.json is not valid JSON") });
    expect(readFileSync(configFile, "utf8")).toBe(corrupt);

    const run = await agent.cli(["run"]);
    expect(run.code).toBe(1);
    expect(run.output).toContain("config.json is not valid JSON");
  });

  test("a corrupt journal: status and doctor say so in JSON and exit 1", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    writeFileSync(join(agent.home, "journal.db"), "this is not a SQLite database, it was overwritten".repeat(200));

    const status = await agent.cli(["status"]);
    expect(status.code).toBe(1);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ paired: true, agent_id: agent.agentId, journal: null });
    expect(report.problems).toEqual([expect.stringMatching(/^journal: .*not a database/)]);

    const doctor = await agent.cli(["doctor"]);
    expect(doctor.code).toBe(1);
    expect(checkNamed(doctor.stdout, "journal")).toMatchObject({ ok: false, detail: expect.stringContaining("not a database") });
    expect(checkNamed(doctor.stdout, "vault")).toMatchObject({ ok: true });
  });
});
