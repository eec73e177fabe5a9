import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { startConnectProxy, startTlsFront } from "../support/proxies.js";
import { until } from "../support/until.js";

describe("agents behind an outbound proxy", () => {
  test("HTTPS_PROXY carries pairing and the tunnel; TLS to the control plane stays end to end and verified; NO_PROXY bypasses it", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant("proxied");
    const front = await startTlsFront(cp.port);
    const proxy = await startConnectProxy();
    try {
      const target = `localhost:${front.port}`;
      await using agent = await pairAgent(cp, tenant, { HTTPS_PROXY: proxy.url, BOTMOX_CA_FILE: front.caFile }, front.url);
      expect(proxy.connects).toEqual([target]);
      await agent.start();
      expect(proxy.connects).toEqual([target, target]);
      expect(agent.allLogs().find((line) => line.msg === "connecting to the control plane through a proxy")?.proxy).toBe(`${proxy.url}/`);

      const ping = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.echo", params: { data: "through-the-proxy-marker" } });
      expect(ping.body).toMatchObject({ status: "succeeded", result: { data: "through-the-proxy-marker" } });
      // The proxy only ever saw ciphertext.
      expect(proxy.relayedBytes().length).toBeGreaterThan(1_000);
      expect(proxy.relayedBytes().includes("through-the-proxy-marker")).toBe(false);
      expect(proxy.relayedBytes().includes("agent.echo")).toBe(false);

      // A proxy does not loosen TLS: without the CA the control plane's certificate is refused.
      await expect(pairAgent(cp, tenant, { HTTPS_PROXY: proxy.url }, front.url)).rejects.toThrow(/certificate/i);

      const tunnelsBefore = proxy.connects.length;
      await using direct = await pairAgent(cp, tenant, { HTTPS_PROXY: proxy.url, NO_PROXY: "localhost", BOTMOX_CA_FILE: front.caFile }, front.url);
      await direct.start();
      await until("direct agent online", async () => ((await tenant.api.get(`/api/v1/agents/${direct.agentId}`)).body.status === "online" ? true : undefined));
      expect(proxy.connects.length).toBe(tunnelsBefore);
      expect(direct.allLogs().some((line) => line.msg === "connecting to the control plane through a proxy")).toBe(false);
    } finally {
      await proxy.close();
      await front.close();
    }
  });

  test("a proxy that refuses CONNECT with 403 is retried, not taken for a revocation", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const front = await startTlsFront(cp.port);
    const proxy = await startConnectProxy();
    try {
      await using agent = await pairAgent(cp, tenant, { HTTPS_PROXY: proxy.url, BOTMOX_CA_FILE: front.caFile }, front.url);
      proxy.deny(true);
      const run = await agent.start({}, { waitConnected: false });
      await run.waitForLog((line) => line.msg === "control plane refused the connection" && line.status === 403);
      await run.waitForLog((line) => line.msg === "reconnecting");
      expect(run.process.exitCode).toBeNull();

      proxy.deny(false);
      await run.waitForLog((line) => line.msg === "connected to control plane", 15_000);
      const ping = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=5`, { name: "agent.ping" });
      expect(ping.body.status).toBe("succeeded");
    } finally {
      await proxy.close();
      await front.close();
    }
  });
});
