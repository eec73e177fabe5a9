import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";

describe("botmox-cp admin commands on bad input", () => {
  test("a missing option value or a tenant name no store accepts is a usage error (exit 2) naming the problem", async () => {
    await using cp = await startControlPlane();
    const missingValue = await cp.cli(["tenants", "create", "--name"]);
    expect(missingValue.code).toBe(2);
    expect(missingValue.output).toContain("Usage:");

    const tooLong = await cp.cli(["tenants", "create", "--name", "x".repeat(201)]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.output).toContain("--name must be 1 to 200 characters, not 201");

    const longest = await cp.cli(["tenants", "create", "--name", "x".repeat(200)]);
    expect(longest.code, longest.output).toBe(0);
    const noTenant = await cp.cli(["api-keys", "create", "--role", "admin", "--tenant"]);
    expect(noTenant.code).toBe(2);
  });

  test("a second serve that cannot start (same data or same port) exits 1 and leaves the running one and its agents alone", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("online");

    const second = await cp.cli(["serve"]);
    expect(second.code).toBe(1);
    expect(second.output).toMatch(cp.env.DATA_BACKEND === "supabase" ? /EADDRINUSE/ : /Another botmox-cp serve is already using/);
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId}`)).body.status).toBe("online");
    expect((await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" })).body.status).toBe("succeeded");
  });
});
