import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, test } from "vitest";
import { executionCounts, pairAgent, startControlPlane } from "../support/botmox.js";
import { until } from "../support/until.js";

describe("nothing lost, nothing run twice", () => {
  test("SIGKILL of the agent during agent.echo: the command ends final after restart and ran once", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const first = await agent.start();

    const command = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "x", delay_ms: 3000 } });
    await first.waitForLog((line) => line.msg === "command started" && line.command_id === command.body.id);
    await first.kill("SIGKILL");

    await agent.start();
    const final = await tenant.api.get(`/api/v1/commands/${command.body.id}?wait=10`);
    expect(final.status).toBe(200);
    // It may have had effects, so it is reported, not re-run.
    expect(final.body).toMatchObject({ status: "failed", error: { code: "COMMAND_INTERRUPTED" } });
    expect(executionCounts(agent).get(command.body.id)).toBe(1);
    // The interrupted result was delivered from the journal and acknowledged.
    const status = JSON.parse((await agent.cli(["status"])).stdout);
    expect(status.journal.unacked_results).toBe(0);
  });

  test("a copy of the agent's home started while the original runs (a cloned machine) does not run the original's commands again", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const copyHome = mkdtempSync(join(tmpdir(), "botmox-agent-copy-"));
    cpSync(agent.home, copyHome, { recursive: true });
    const original = await agent.start();
    const submitted = await Promise.all(
      Array.from({ length: 5 }, (_, i) => tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: i, delay_ms: 3000 } })),
    );
    const ids = submitted.map((reply) => reply.body.id as string);
    const started = (id: string) => original.logs().some((line) => line.msg === "command started" && line.command_id === id);
    await until("all five started in the original", async () => (ids.every(started) ? true : undefined), 10_000, 50);

    try {
      const copy = await agent.start({ BOTMOX_AGENT_HOME: copyHome });
      const finals = await Promise.all(ids.map(async (id) => (await tenant.api.get(`/api/v1/commands/${id}?wait=15`)).body));
      // The original was replaced before it could report: each ends failed, reported by the copy, which ran none of them.
      for (const final of finals) expect(final).toMatchObject({ status: "failed", error: { code: "COMMAND_INTERRUPTED" } });
      expect(copy.logs().filter((line) => line.msg === "command started")).toEqual([]);
      expect(ids.map((id) => executionCounts(agent).get(id))).toEqual([1, 1, 1, 1, 1]);
      const journal = new Database(join(copyHome, "journal.db"), { readonly: true });
      const rows = journal.prepare(`SELECT status, executions FROM commands WHERE id IN (${ids.map(() => "?").join(",")})`).all(...ids);
      journal.close();
      expect(rows).toEqual(ids.map(() => ({ status: "failed", executions: 0 })));
    } finally {
      rmSync(copyHome, { recursive: true, force: true });
    }
  }, 60_000);

  test("a second run on the same home is refused and leaves the first one and its running command alone", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const first = await agent.start();
    const command = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "kept", delay_ms: 1500 } });
    await first.waitForLog((line) => line.msg === "command started" && line.command_id === command.body.id);

    const second = await agent.start({}, { waitConnected: false });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(`Another botmox-agent run (pid ${first.process.pid}) is already using`);
    // Nor may the home be paired anew under it: the running agent keeps the identity it started with.
    const code = (await tenant.as("operator").post("/api/v1/agents/pairings")).body.code as string;
    const repair = await agent.cli(["pair", "--server", cp.url, "--code", code]);
    expect(repair.code).toBe(1);
    expect(repair.output).toContain(`Another botmox-agent run (pid ${first.process.pid}) is already using`);
    expect(JSON.parse(readFileSync(join(agent.home, "config.json"), "utf8")).agent_id).toBe(agent.agentId);

    const final = await tenant.api.get(`/api/v1/commands/${command.body.id}?wait=10`);
    expect(final.body).toMatchObject({ status: "succeeded", result: { data: "kept" } });
    expect(executionCounts(agent).get(command.body.id)).toBe(1);
    expect(first.logs().some((line) => line.msg === "disconnected from control plane")).toBe(false);
  });

  test("SIGKILL of the control plane with 100 commands queued or running: all succeed after restart, each once", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "20" });
    await agent.start();

    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const response = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: i, delay_ms: 400 } });
      expect(response.status).toBe(202);
      ids.push(response.body.id);
    }
    await agent.child!.waitForLog((line) => line.msg === "command started");
    await cp.kill();
    await cp.restart();

    for (const [i, id] of ids.entries()) {
      const final = await tenant.api.get(`/api/v1/commands/${id}?wait=30`);
      expect(final.body, `command ${i}`).toMatchObject({ status: "succeeded", result: { data: i } });
    }
    const counts = executionCounts(agent);
    expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 1));
    // Results finished while the control plane was down were buffered and delivered after the reconnect.
    expect(agent.allLogs().some((line) => line.msg === "resent results the control plane had not acknowledged")).toBe(true);
  });

  test("after a control plane restart, the agent's in-flight window holds while new commands arrive during redelivery", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "4" });
    const run = await agent.start();
    const submit = async () => (await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "x", delay_ms: 15_000 } })).body.id as string;
    for (let i = 0; i < 4; i++) await submit();
    await until("four running", async () => (run.logs().filter((line) => line.msg === "command started").length === 4 ? true : undefined));
    await cp.kill();
    await cp.restart();
    // New work keeps arriving while the agent reconnects and its four are redelivered.
    const until3s = Date.now() + 3_000;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (Date.now() < until3s) await submit();
    }));
    // Counted only once the agent is back and its four were redelivered: before that nothing could have gone out.
    const connections = () => run.logs().filter((line) => line.msg === "connected to control plane").length;
    await until("the agent reconnected", async () => (connections() >= 2 ? true : undefined), 15_000, 50);
    await cp.child.waitForLog((line) => line.msg === "redelivered unfinished commands", 15_000);

    const started = run.logs().filter((line) => line.msg === "command started").length;
    expect(started).toBe(4); // the first four still run; nothing else was let in
    const listed = async (status: string) => (await tenant.api.get(`/api/v1/agents/${agent.agentId}/commands?status=${status}&limit=500`)).body.commands.length as number;
    expect((await listed("dispatched")) + (await listed("running"))).toBe(4);
  });

  test("results resent on reconnect follow a local tenant's policy: their payload is not stored", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    expect((await tenant.as("admin").call("PUT", "/api/v1/settings/storage_policy", { secrets: "local-only", operational: "local", sync: { enabled: false } })).status).toBe(200);
    await using agent = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "50" });
    await agent.start();
    const ids = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => (await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: `payload-${i}`, delay_ms: 1500 } })).body.id as string),
    );
    // All running on the agent, so their results are the ones it resends after the restart.
    await until("all started", async () => (agent.allLogs().filter((line) => line.msg === "command started").length === ids.length ? true : undefined), 10_000, 20);
    await cp.kill();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await cp.restart();

    for (const id of ids) expect((await tenant.api.get(`/api/v1/commands/${id}?wait=30`)).body.status).toBe("succeeded");
    const stored = await Promise.all(ids.map(async (id) => (await tenant.api.get(`/api/v1/commands/${id}`)).body.result));
    expect(stored.filter((result) => JSON.stringify(result ?? null).includes("payload-"))).toEqual([]);
  });

  test("a control plane killed while a revoke ends the agent's commands ends the rest when it restarts", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "1000" });
    await agent.start();
    const ids = await Promise.all(
      Array.from({ length: 1000 }, async () => (await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "x", delay_ms: 60_000 } })).body.id as string),
    );
    await until("all started", async () => (agent.allLogs().filter((line) => line.msg === "command started").length === ids.length ? true : undefined));
    const revoke = tenant.api.post(`/api/v1/agents/${agent.agentId}/revoke`).catch(() => undefined);
    // Killed as soon as the revocation is stored, while its commands are being ended one by one.
    await until("revoked", async () => ((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status === "revoked" ? true : undefined), 10_000, 20);
    await cp.kill();
    await revoke;
    await cp.restart();

    const statuses = await Promise.all(ids.map(async (id) => (await tenant.api.get(`/api/v1/commands/${id}`)).body as { status: string; error: { code: string } | null }));
    expect(statuses.filter((command) => command.status !== "failed" || command.error?.code !== "AGENT_REVOKED")).toEqual([]);
  }, 180_000);

  test("an agent connected when the control plane was killed reads offline after the restart until it reconnects", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const run = await agent.start();
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("online");

    await cp.kill();
    await run.kill("SIGKILL"); // its host went down with the control plane
    await cp.restart();
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("offline");

    await agent.start();
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("online");
  });

  test("SIGTERM lets in-flight work finish within the grace period and aborts what runs past it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_SHUTDOWN_GRACE_MS: "1500" });
    const run = await agent.start();

    const short = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "short", delay_ms: 500 } });
    const long = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "long", delay_ms: 60_000 } });
    await run.waitForLog((line) => line.msg === "command started" && line.command_id === long.body.id);
    const stoppedAt = Date.now();
    const exit = await run.kill("SIGTERM");
    expect(exit.code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);

    expect((await tenant.api.get(`/api/v1/commands/${short.body.id}`)).body.status).toBe("succeeded");
    expect((await tenant.api.get(`/api/v1/commands/${long.body.id}`)).body).toMatchObject({ status: "failed", error: { code: "AGENT_SHUTTING_DOWN" } });
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("offline");
  });
});
