import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { openEventStream } from "../support/sse.js";
import { until } from "../support/until.js";

const HEARTBEAT_MS = 300;

describe("liveness and reconnects", () => {
  test("a frozen agent is detected by the control plane within two heartbeat intervals", async () => {
    await using cp = await startControlPlane({ HEARTBEAT_MS: String(HEARTBEAT_MS) });
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const run = await agent.start();
    // While connected, last_seen_at follows the heartbeats.
    const seen = async () => Date.parse((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.last_seen_at);
    const firstSeen = await seen();
    await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS));
    expect(await seen()).toBeGreaterThanOrEqual(firstSeen + 2 * HEARTBEAT_MS);

    const frozenAt = Date.now();
    run.process.kill("SIGSTOP");
    try {
      await cp.child.waitForLog((line) => line.msg === "agent missed heartbeat; terminating tunnel", 5_000);
      const detectedIn = Date.now() - frozenAt;
      expect(detectedIn).toBeLessThan(2 * HEARTBEAT_MS + 700);
      await cp.child.waitForLog((line) => line.msg === "agent disconnected");
      // Recorded right after that log line; on Supabase the write may still be on its way to PostgREST.
      await until("the agent recorded offline", async () => ((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status === "offline" ? true : undefined), 2_000, 50);
    } finally {
      run.process.kill("SIGCONT");
    }
    await run.waitForLog((line) => line.msg === "connected to control plane" && run.logs().filter((l) => l.msg === "connected to control plane").length >= 2, 10_000);
    const ping = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(ping.body.status).toBe("succeeded");
  });

  test("a frozen control plane is detected by the agent, which reconnects when it is back", async () => {
    await using cp = await startControlPlane({ HEARTBEAT_MS: String(HEARTBEAT_MS) });
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const run = await agent.start();

    cp.child.process.kill("SIGSTOP");
    try {
      await run.waitForLog((line) => line.msg === "control plane missed heartbeat; reconnecting", 5_000);
    } finally {
      cp.child.process.kill("SIGCONT");
    }
    await run.waitForLog((line) => line.msg === "connected to control plane" && run.logs().filter((l) => l.msg === "connected to control plane").length >= 2, 15_000);
  });

  test("SIGTERM stops the control plane promptly and cleanly while event streams and long waits are open", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using offline = await pairAgent(cp, tenant);
    const sse = await openEventStream(`${cp.url}/api/v1/events`, tenant.keys.viewer);
    const waiting = tenant.api.post(`/api/v1/agents/${offline.agentId}/commands?wait=120`, { name: "agent.ping" });
    await sse.waitFor((event) => event.event === "command.updated");

    const stoppingAt = Date.now();
    const exit = await cp.child.kill("SIGTERM");
    expect(exit.code).toBe(0);
    expect(Date.now() - stoppingAt).toBeLessThan(5_000);
    await sse.ended;
    // Answered with the command as it stood: queued, to be picked up after the restart.
    expect(await waiting).toMatchObject({ status: 202, body: { status: "queued" } });
  });

  test("a control plane restart sends agents away with spread-out retry delays, which they honour", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using first = await pairAgent(cp, tenant);
    await using second = await pairAgent(cp, tenant);
    const runs = [await first.start(), await second.start()];

    await cp.stop();
    const delays: number[] = [];
    for (const run of runs) {
      const closed = await run.waitForLog((line) => line.msg === "disconnected from control plane");
      expect(closed.code).toBe(1013);
      const retry = JSON.parse(closed.reason as string).retry_after_ms as number;
      const reconnecting = await run.waitForLog((line) => line.msg === "reconnecting");
      expect(reconnecting.delay_ms).toBe(retry);
      expect(retry).toBeGreaterThanOrEqual(1_000);
      delays.push(retry);
    }
    expect(new Set(delays).size).toBe(2);

    await cp.restart();
    for (const run of runs) {
      await run.waitForLog((line) => line.msg === "connected to control plane" && run.logs().filter((l) => l.msg === "connected to control plane").length >= 2, 20_000);
    }
  });
});
