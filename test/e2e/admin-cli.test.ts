import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { run } from "../support/child.js";
import { CP_CLI } from "../support/paths.js";

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

    // A lifetime no code may have is refused before anything is written.
    const tenant = await cp.tenant();
    const forever = await cp.cli(["pairings", "create", "--tenant", tenant.tenantId, "--ttl-ms", "9000000000000000"]);
    expect(forever.code).toBe(2);
    expect(forever.output).toContain("--ttl-ms must be a whole number of milliseconds from 1000 to 86400000 (24 h)");
    const audit = (await tenant.api.get("/api/v1/audit?limit=1000")).body.entries;
    expect(audit.filter((entry: { action: string }) => entry.action === "pairing.created")).toEqual([]);

    // A public URL agents could not dial stops the server at once.
    const badUrl = await run(process.execPath, [CP_CLI, "serve"], { ...cp.env, PUBLIC_URL: "javascript:alert(1)" });
    expect(badUrl.code).toBe(2);
    expect(badUrl.output).toContain("PUBLIC_URL: must be an http:// or https:// URL");
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
