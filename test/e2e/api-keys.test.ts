import { describe, expect, test } from "vitest";
import { apiClient } from "../support/api.js";
import { startControlPlane } from "../support/botmox.js";
import { openEventStream } from "../support/sse.js";

describe("API keys: admins list, create and revoke them", () => {
  test("a key created over HTTP works at once; revoked, it is refused at once and its event stream ends", async () => {
    await using cp = await startControlPlane({ SSE_KEEPALIVE_MS: "1000" });
    const tenant = await cp.tenant();
    const other = await cp.tenant("other");

    const created = await tenant.api.post("/api/v1/api-keys", { role: "operator" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: "operator", key_prefix: created.body.api_key.slice(0, 10), revoked_at: null });
    const fresh = apiClient(cp.url, created.body.api_key);
    expect((await fresh.post("/api/v1/agents/pairings")).status).toBe(201);
    expect((await fresh.get("/api/v1/api-keys")).status).toBe(403); // managing keys takes an admin
    expect((await tenant.api.post("/api/v1/api-keys", { role: "root" })).body.error.details[0].path).toBe("role");

    const listed = (await tenant.api.get("/api/v1/api-keys")).body.api_keys;
    expect(listed.map((key: { role: string }) => key.role)).toEqual(["admin", "operator", "viewer", "operator"]);
    expect(JSON.stringify(listed)).not.toMatch(/hash|bmx_[0-9A-Za-z]{40}/);

    const stream = await openEventStream(`${cp.url}/api/v1/events`, created.body.api_key);
    expect((await other.api.post(`/api/v1/api-keys/${created.body.id}/revoke`)).status).toBe(404);
    const revoked = await tenant.api.post(`/api/v1/api-keys/${created.body.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    // Used a moment ago, so cached: refused all the same.
    expect((await fresh.post("/api/v1/agents/pairings")).body.error).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await stream.waitFor((event) => event.event === "stream.unauthorized", 10_000)).data).toMatchObject({ code: "UNAUTHENTICATED" });
    await stream.ended;

    // Revoking again changes nothing, and is audited once with who did it.
    expect((await tenant.api.post(`/api/v1/api-keys/${created.body.id}/revoke`)).body.revoked_at).toBe(revoked.body.revoked_at);
    const audit = (await tenant.api.get("/api/v1/audit?limit=1000")).body.entries.filter((e: { target_id: string }) => e.target_id === created.body.id);
    expect(audit.map((e: { action: string; actor: string }) => [e.action, e.actor.slice(0, 8)])).toEqual([
      ["api_key.created", "api_key:"],
      ["api_key.revoked", "api_key:"],
    ]);
  });

  test("botmox-cp api-keys list and revoke", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const listed = await cp.cli(["api-keys", "list", "--tenant", tenant.tenantId]);
    expect(listed.code).toBe(0);
    const keys = JSON.parse(listed.stdout).api_keys as Array<{ id: string; role: string; key_prefix: string }>;
    const viewer = keys.find((key) => key.role === "viewer")!;
    expect(tenant.keys.viewer.startsWith(viewer.key_prefix)).toBe(true);

    const revoked = await cp.cli(["api-keys", "revoke", "--tenant", tenant.tenantId, "--id", viewer.id]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ revoked: true, id: viewer.id, revoked_at: expect.any(String) });
    // Never used, so nothing cached: the running server refuses it at once.
    expect((await tenant.as("viewer").get("/api/v1/agents")).status).toBe(401);

    const unknown = await cp.cli(["api-keys", "revoke", "--tenant", tenant.tenantId, "--id", "00000000-0000-4000-8000-000000000000"]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("has no API key");
  });
});
