import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";

/** Every file and directory under `dir` whose mode lets anyone but the owner in. */
function openToOthers(dir: string): string[] {
  const loose: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0) loose.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) loose.push(...openToOthers(path));
  }
  return loose;
}

describe("files on disk", () => {
  test("the control plane's database and the agent's home are readable by their owner only", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    expect((await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" })).body.status).toBe("succeeded");

    expect(readdirSync(cp.dataDir).length).toBeGreaterThan(0);
    expect(readdirSync(agent.home).length).toBeGreaterThan(0);
    expect(openToOthers(cp.dataDir)).toEqual([]);
    expect(openToOthers(agent.home)).toEqual([]);
  });
});
