import { connect } from "node:net";
import { describe, expect, test } from "vitest";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { signJwt } from "../support/postgrest.js";
import { openEventStream } from "../support/sse.js";

/** An event stream whose reader has stopped: the request is sent, nothing is read until resume(). */
async function stalledEventStream(url: string, apiKey: string): Promise<{ readAll(): Promise<{ text: string; closedByServer: boolean }> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(`GET /api/v1/events HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${apiKey}\r\n\r\n`);
  socket.pause();
  return {
    readAll: () =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        let closedByServer = false;
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        socket.once("end", () => (closedByServer = true));
        // A server that never closes the stream fails the test here rather than at its timeout.
        const deadline = setTimeout(() => socket.destroy(), 15_000);
        socket.once("close", () => {
          clearTimeout(deadline);
          resolve({ text: chunkedBody(Buffer.concat(chunks)), closedByServer });
        });
        socket.resume();
      }),
  };
}

/** The body of a raw HTTP/1.1 response in chunked transfer encoding, as far as it arrived. */
function chunkedBody(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = raw.indexOf("\r\n\r\n") + 4;
  while (at < raw.length) {
    const lineEnd = raw.indexOf("\r\n", at);
    const size = parseInt(raw.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString("utf8");
}

describe("event stream", () => {
  test("a consumer that stops reading is cut off with a final notice; other streams miss nothing", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    const stalled = await stalledEventStream(cp.url, tenant.keys.viewer);
    const reading = await openEventStream(`${cp.url}/api/v1/events?types=command.updated`, tenant.keys.viewer);

    // About 0.9 MB of events per command (params when sent, params and result when done): far
    // more than socket buffers and the stream's own limit can hold for the stalled reader.
    const data = "x".repeat(300_000);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const reply = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands?wait=10`, { name: "agent.echo", params: { data } });
      expect(reply.body.status).toBe("succeeded");
      ids.push(reply.body.id);
    }

    for (const id of ids) await reading.waitFor((e) => e.data.command.id === id && e.data.command.status === "succeeded", 10_000);
    reading.close();

    const { text, closedByServer } = await stalled.readAll();
    expect(closedByServer).toBe(true);
    const last = text.trimEnd().split("\n\n").at(-1)!;
    expect(last).toContain("event: stream.overflow");
    expect(JSON.parse(/^data: (.*)$/m.exec(last)![1]!)).toMatchObject({ code: "CONSUMER_TOO_SLOW" });

    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    expect(metrics).toMatch(/^botmox_sse_streams_cut_off_total 1$/m);
    expect((await tenant.api.get("/api/v1/health")).status).toBe(200);
  });

  test("a filter that could never match is refused: an unknown event type is a 400, another tenant's agent a 404", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const other = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    const events = (query: string, key = tenant.keys.viewer) => fetch(`${cp.url}/api/v1/events?${query}`, { headers: { authorization: `Bearer ${key}` } });

    const typo = await events("types=command.updated,command.update");
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { error: { details: unknown } }).error.details).toEqual([{ path: "query.types.1", message: expect.stringContaining("command.updated") }]);
    const foreign = await events(`agent_id=${agent.agentId}`, other.keys.viewer);
    expect(foreign.status).toBe(404);
    const unknown = await events("agent_id=00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);

    const every = await events("types="); // empty: every type
    expect(every.status).toBe(200);
    await every.body?.cancel();
    const good = await events(`types=agent.online,agent.offline,&agent_id=${agent.agentId}`);
    expect(good.status).toBe(200);
    await good.body?.cancel();
  });

  test("a stream whose credentials lapse (here a Supabase Auth token expiring) ends with a notice", async () => {
    const secret = "event-stream-test-secret-0123456789abcdef";
    await using cp = await startControlPlane({ SUPABASE_JWT_SECRET: secret, SSE_KEEPALIVE_MS: "1000" });
    const tenant = await cp.tenant();
    // Long enough to open the stream on a slow machine, short enough to lapse under the 10 s wait.
    const token = signJwt(secret, {
      role: "authenticated",
      app_metadata: { tenant_id: tenant.tenantId },
      sub: "6f1c2d3e-0000-4000-8000-00000000beef",
      aud: "authenticated",
      exp: Math.floor(Date.now() / 1000) + 4,
    });
    const byToken = await openEventStream(`${cp.url}/api/v1/events`, token);
    const byKey = await openEventStream(`${cp.url}/api/v1/events`, tenant.keys.viewer);

    const notice = await byToken.waitFor((event) => event.event === "stream.unauthorized", 10_000);
    expect(notice.data).toMatchObject({ code: "UNAUTHENTICATED" });
    await byToken.ended;
    // A key still valid keeps its stream, and it still carries events.
    await using agent = await pairAgent(cp, tenant);
    await agent.start();
    await byKey.waitFor((event) => event.event === "agent.online");
    byKey.close();
  });
});
