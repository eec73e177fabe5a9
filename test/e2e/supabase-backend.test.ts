import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, test } from "vitest";
import { apiClient } from "../support/api.js";
import { executionCounts, pairAgent, sharedSupabase, startControlPlane } from "../support/botmox.js";
import { run } from "../support/child.js";
import { CP_CLI } from "../support/paths.js";
import { until } from "../support/until.js";

const serve = (env: Record<string, string>) => run(process.execPath, [CP_CLI, "serve"], { PATH: process.env.PATH, PORT: "0", ...env });

async function supabaseControlPlane(extra: Record<string, string> = {}) {
  const rest = await sharedSupabase();
  const cp = await startControlPlane({ DATA_BACKEND: "supabase", SUPABASE_URL: rest.url, SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey, ...extra });
  return { rest, cp };
}

describe("DATA_BACKEND=supabase", () => {
  test("settings that cannot work stop startup with a message that says what to fix", async () => {
    const rest = await sharedSupabase();
    const missing = await serve({ DATA_BACKEND: "supabase" });
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/SUPABASE_URL: SUPABASE_URL is required when DATA_BACKEND=supabase/);
    expect(missing.output).toMatch(/SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_ROLE_KEY is required/);

    const anon = await serve({ DATA_BACKEND: "supabase", SUPABASE_URL: rest.url, SUPABASE_SERVICE_ROLE_KEY: rest.anonKey });
    expect(anon.code).toBe(2);
    expect(anon.output).toMatch(/SUPABASE_SERVICE_ROLE_KEY: is a JWT for role "anon", not service_role/);

    const notUrl = await serve({ DATA_BACKEND: "supabase", SUPABASE_URL: "supabase.local", SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey });
    expect(notUrl.code).toBe(2);
    expect(notUrl.output).toMatch(/SUPABASE_URL: Invalid URL/);

    const forgedKey = rest.serviceRoleKey.replace(/\.[^.]+$/, ".forged");
    const forged = await serve({ DATA_BACKEND: "supabase", SUPABASE_URL: rest.url, SUPABASE_SERVICE_ROLE_KEY: forgedKey });
    expect(forged.code).toBe(1);
    expect(forged.output).toMatch(/refused SUPABASE_SERVICE_ROLE_KEY .*use the project's service_role key/);
    expect(forged.output).not.toContain(forgedKey);
  });

  test("Supabase unreachable: health says so, the API answers 503 with Retry-After, the agent stays connected and its result is not lost", async () => {
    const { rest, cp } = await supabaseControlPlane();
    await using _cp = cp;
    const tenant = await cp.tenant("outage");
    await using agent = await pairAgent(cp, tenant, { BOTMOX_RESULT_RESEND_MS: "500" });
    await agent.start();
    const slow = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "survives the outage", delay_ms: 1_500 } });
    expect(slow.status).toBe(202);
    await until("the echo running", async () => ((await tenant.api.get(`/api/v1/commands/${slow.body.id}`)).body.status === "running" ? true : undefined));

    rest.setReachable(false);
    try {
      const health = await apiClient(cp.url).get("/api/v1/health");
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: "degraded", store: { backend: "supabase", ok: false, message: expect.stringContaining("cannot be reached") }, agents_connected: 1 });
      const agents = await tenant.api.get("/api/v1/agents");
      expect(agents.status).toBe(503);
      expect(agents.headers.get("retry-after")).toBe("5");
      expect(agents.body.error).toMatchObject({ code: "STORE_UNAVAILABLE", message: expect.stringContaining("Supabase cannot be reached") });
      const refused = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" });
      expect(refused.status).toBe(503);
      // The echo finishes meanwhile; its result cannot be stored yet, and the agent keeps it.
      await until("the result resent at least once", async () => (agent.allLogs().some((line) => line.msg === "resent results the control plane has not acknowledged yet") ? true : undefined), 10_000);
    } finally {
      rest.setReachable(true);
    }

    const done = await until("the result stored", async () => {
      const command = await tenant.api.get(`/api/v1/commands/${slow.body.id}`);
      return command.body.status === "succeeded" ? command.body : undefined;
    }, 10_000);
    expect(done.result).toEqual({ data: "survives the outage" });
    expect(executionCounts(agent).get(slow.body.id)).toBe(1);
    expect(agent.allLogs().filter((line) => line.msg === "disconnected from control plane")).toEqual([]);
    const after = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(after.body).toMatchObject({ status: "succeeded", result: { pong: true } });
    expect((await apiClient(cp.url).get("/api/v1/health")).body).toMatchObject({ status: "ok", agents_connected: 1 });
  });
});

describe("operators signed in with Supabase Auth", () => {
  test("an HS256 access token carrying the tenant works beside API keys; its role is enforced and it sees only its tenant", async () => {
    const rest = await sharedSupabase();
    // The project's JWT secret: the one Supabase Auth signs access tokens with and PostgREST checks.
    const secret = rest.jwtSecret;
    const { cp } = await supabaseControlPlane({ SUPABASE_JWT_SECRET: secret });
    await using _cp = cp;
    const tenant = await cp.tenant("jwt");
    const other = await cp.tenant("other");
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const key = new TextEncoder().encode(secret);
    const token = (claims: Record<string, unknown>, options: { expiresIn?: string; audience?: string; signWith?: Uint8Array } = {}) =>
      new SignJWT({ role: "authenticated", ...claims })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject("6f1c2d3e-0000-4000-8000-00000000cafe")
        .setAudience(options.audience ?? "authenticated")
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "5m")
        .sign(options.signWith ?? key);

    const admin = apiClient(cp.url, await token({ app_metadata: { tenant_id: tenant.tenantId, tenant_role: "admin" } }));
    const ping = await admin.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
    expect(ping.body).toMatchObject({ status: "succeeded", actor: "user:6f1c2d3e-0000-4000-8000-00000000cafe" });
    expect((await admin.get("/api/v1/agents")).body.agents.map((a: { id: string }) => a.id)).toEqual([agent.agentId]);
    const audit = await tenant.api.get("/api/v1/audit?limit=1000");
    expect(audit.body.entries.find((entry: { action: string; target_id: string }) => entry.action === "command.queued" && entry.target_id === ping.body.id)?.actor).toBe("user:6f1c2d3e-0000-4000-8000-00000000cafe");
    expect((await tenant.api.get("/api/v1/agents")).status).toBe(200);

    const viewer = apiClient(cp.url, await token({ app_metadata: { tenant_id: tenant.tenantId } }));
    expect((await viewer.get(`/api/v1/agents/${agent.agentId}`)).status).toBe(200);
    expect((await viewer.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" })).body.error).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("operator role") });

    const outsider = apiClient(cp.url, await token({ app_metadata: { tenant_id: other.tenantId, tenant_role: "admin" } }));
    expect((await outsider.get(`/api/v1/agents/${agent.agentId}`)).status).toBe(404);

    const refusals = [
      [await token({ app_metadata: { tenant_id: tenant.tenantId } }, { expiresIn: "-1m" }), 401, /expired/],
      [await token({ app_metadata: { tenant_id: tenant.tenantId } }, { signWith: new TextEncoder().encode("another-secret-another-secret-another-secret") }), 401, /signature/],
      [await token({ app_metadata: { tenant_id: tenant.tenantId } }, { audience: "someone-else" }), 401, /not for this API/],
      [rest.serviceRoleKey, 401, /not for this API|subject/],
      [await token({ user_metadata: { tenant_id: tenant.tenantId } }), 403, /names no tenant/],
      [await token({ app_metadata: { tenant_id: tenant.tenantId, tenant_role: "owner" } }), 403, /tenant_role must be one of admin, operator, viewer/],
      [await token({ app_metadata: { tenant_id: "0190a0b4-6f00-7000-8000-00000000dead" } }), 403, /does not exist/],
    ] as const;
    for (const [jwt, status, message] of refusals) {
      const answer = await apiClient(cp.url, jwt).get("/api/v1/agents");
      expect({ status: answer.status, message: answer.body.error?.message }).toMatchObject({ status, message: expect.stringMatching(message) });
    }
  });

  test("asymmetric keys from a JWKS endpoint; without JWT settings tokens are refused with what to set", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "ES256", use: "sig" };
    const jwks = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    try {
      const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json`;
      await using cp = await startControlPlane({ SUPABASE_JWKS_URL: jwksUrl });
      const tenant = await cp.tenant("jwks");
      const sign = (kid: string, key: Parameters<SignJWT["sign"]>[0]) =>
        new SignJWT({ app_metadata: { tenant_id: tenant.tenantId, tenant_role: "operator" } })
          .setProtectedHeader({ alg: "ES256", kid })
          .setSubject("6f1c2d3e-0000-4000-8000-0000000000e5")
          .setAudience("authenticated")
          .setExpirationTime("5m")
          .sign(key);
      const operator = apiClient(cp.url, await sign("key-1", privateKey));
      expect((await operator.post("/api/v1/agents/pairings")).status).toBe(201);
      const stranger = await generateKeyPair("ES256");
      const forged = await apiClient(cp.url, await sign("key-1", stranger.privateKey)).get("/api/v1/agents");
      expect(forged.body.error).toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringContaining("signature") });

      await using plain = await startControlPlane();
      const noJwt = await apiClient(plain.url, await sign("key-1", privateKey)).get("/api/v1/agents");
      expect(noJwt.status).toBe(401);
      expect(noJwt.body.error.message).toMatch(/SUPABASE_JWT_SECRET nor SUPABASE_JWKS_URL/);
    } finally {
      jwks.close();
    }
  });
});
