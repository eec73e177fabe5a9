import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { until } from "../support/until.js";

describe("embedded store locked by another process", () => {
  test("API calls answer 503 STORE_UNAVAILABLE; a disconnect meanwhile neither crashes the control plane nor leaves the agent online; nothing stays stuck", async () => {
    await using cp = await startControlPlane({ DATA_BACKEND: "sqlite" });
    const tenant = await cp.tenant();
    await using busy = await pairAgent(cp, tenant, { BOTMOX_MAX_IN_FLIGHT: "1" });
    await using leaving = await pairAgent(cp, tenant);
    await busy.start();
    const leavingRun = await leaving.start();

    // A maintenance script, say, holding the write lock far longer than the store waits for it.
    const holder = new Database(join(cp.dataDir, "control-plane.db"));
    holder.exec("BEGIN IMMEDIATE");
    try {
      // Each write waits up to a second for the lock, blocking the event loop; once one has found it
      // held, the next ones only glance at it, so five requests do not cost five seconds.
      const startedAt = Date.now();
      const submit = () => tenant.api.post(`/api/v1/agents/${busy.agentId}/commands`, { name: "agent.ping" });
      const refusals = await Promise.all(Array.from({ length: 5 }, submit));
      for (const refused of refusals) {
        expect(refused.status).toBe(503);
        expect(refused.body.error).toMatchObject({ code: "STORE_UNAVAILABLE", message: expect.stringContaining("locked") });
        expect(refused.headers.get("retry-after")).toBe("5");
      }
      expect(Date.now() - startedAt).toBeLessThan(4_000);

      await leavingRun.kill("SIGKILL");
      await cp.child.waitForLog((line) => line.msg === "could not record agent offline; trying again", 10_000);
      expect(cp.child.process.exitCode).toBeNull();
    } finally {
      holder.exec("COMMIT");
      holder.close();
    }

    // The refused command did not take the busy agent's only slot for good.
    const ping = await tenant.api.post(`/api/v1/agents/${busy.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(ping.body.status).toBe("succeeded");
    await until("the agent that left to be offline", async () => ((await tenant.api.get(`/api/v1/agents/${leaving.agentId}`)).body.status === "offline" ? true : undefined), 10_000);
  });
});
