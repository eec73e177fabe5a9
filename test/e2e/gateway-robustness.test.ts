import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { connect } from "node:net";
import { describe, expect, test } from "vitest";
import WebSocket from "ws";
import { AUTH_HEADERS, MAX_COMMAND_DATA_BYTES, MAX_FRAME_BYTES, WS_PATH, upgradeSigningString } from "@botmox/protocol";
import { apiClient } from "../support/api.js";
import { startControlPlane, type ControlPlaneHandle, type TenantHandle } from "../support/botmox.js";
import { openEventStream } from "../support/sse.js";
import { until } from "../support/until.js";

/** Registers a key pair by hand, as a hostile or buggy client would. */
async function rawAgent(cp: ControlPlaneHandle, tenant: TenantHandle) {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
  const pairing = await tenant.api.post("/api/v1/agents/pairings");
  const registered = await apiClient(cp.url).post("/api/v1/agents/register", { code: pairing.body.code, public_key: raw });
  const agentId = registered.body.agent_id as string;
  const headers = (nonce = randomBytes(16).toString("hex"), timestamp = Date.now()) => ({
    [AUTH_HEADERS.agentId]: agentId,
    [AUTH_HEADERS.timestamp]: String(timestamp),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: sign(null, Buffer.from(upgradeSigningString({ agentId, timestamp, nonce, path: WS_PATH })), privateKey).toString("base64"),
  });
  const connect = (h: Record<string, string> = headers()) => new WebSocket(`${cp.url.replace("http", "ws")}${WS_PATH}`, { headers: h });
  /** Connected and upgraded, every frame from here on queued for nextMessage(). */
  const opened = async () => {
    const ws = connect();
    inbox(ws);
    await new Promise((resolve) => ws.once("open", resolve));
    return ws;
  };
  return { agentId, headers, connect, opened };
}

// Frames can arrive in one TCP read and be emitted back to back, before an awaiting caller
// could attach a new listener: queue every frame from the start and hand them out in order.
const inboxes = new WeakMap<WebSocket, { frames: any[]; waiting: Array<(frame: any) => void> }>();
function inbox(ws: WebSocket) {
  let box = inboxes.get(ws);
  if (!box) {
    const created = { frames: [] as any[], waiting: [] as Array<(frame: any) => void> };
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      const waiter = created.waiting.shift();
      if (waiter) waiter(frame);
      else created.frames.push(frame);
    });
    inboxes.set(ws, (box = created));
  }
  return box;
}
function nextMessage(ws: WebSocket): Promise<any> {
  const box = inbox(ws);
  const ready = box.frames.shift();
  return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => box.waiting.push(resolve));
}
async function nextOfType(ws: WebSocket, type: string): Promise<any> {
  for (;;) {
    const frame = await nextMessage(ws);
    if (frame.type === type) return frame;
  }
}
function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}
function refused(ws: WebSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve) =>
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }),
  );
}
const hello = (agentId: string, maxInFlight = 1) =>
  JSON.stringify({ v: 1, type: "hello", payload: { agent_id: agentId, protocol_versions: [1], agent_version: "test", hostname: "h", platform: "linux", arch: "x64", capabilities: [], max_in_flight: maxInFlight, started_at: Date.now() } });

describe("the gateway survives bad input", () => {
  test("unauthenticated, replayed and skewed upgrades are refused with 401 before any socket exists", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);

    const unsigned = refused(new WebSocket(`${cp.url.replace("http", "ws")}${WS_PATH}`));
    expect((await unsigned).status).toBe(401);

    const headers = agent.headers();
    const first = agent.connect(headers);
    await new Promise((resolve) => first.once("open", resolve));
    const replay = await refused(agent.connect(headers));
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).error.message).toMatch(/nonce already used/);
    first.close();

    const skewed = await refused(agent.connect(agent.headers(undefined, Date.now() - 10 * 60_000)));
    expect(skewed.status).toBe(401);
    expect(JSON.parse(skewed.body).error.message).toMatch(/clock/);
  });

  test("upgrades whose connection is reset mid-handshake never take the control plane down", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);
    const signed = Object.entries(agent.headers()).map(([name, value]) => `${name}: ${value}\r\n`).join("");
    const upgrade = (extra: string) =>
      `GET ${WS_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
    // Reset at once: while the signature is being checked, or while the refusal is being written.
    const resetAfterSending = (request: string) =>
      new Promise<void>((resolve) => {
        const socket = connect(cp.port, "127.0.0.1", () => {
          socket.write(request);
          setImmediate(() => socket.resetAndDestroy());
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve());
      });
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 25 }, (_, i) => resetAfterSending(upgrade(i % 2 ? signed : ""))));
    }

    expect(cp.child.process.exitCode).toBeNull();
    expect((await apiClient(cp.url).get("/api/v1/health")).status).toBe(200);
    const ws = agent.connect();
    await new Promise((resolve) => ws.once("open", resolve));
    ws.close();
  });

  test("frames before hello close with 4001; malformed, unknown and oversized frames are answered or closed as documented", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);

    const early = agent.connect();
    await new Promise((resolve) => early.once("open", resolve));
    early.send(JSON.stringify({ v: 1, type: "command.accepted", payload: { id: "00000000-0000-4000-8000-000000000000" } }));
    expect((await closed(early)).code).toBe(4001);

    // A hello too big to negotiate with (Math.max over 300,000 versions throws) is refused at once, not left hanging.
    const huge = await agent.opened();
    huge.send(JSON.stringify({ ...JSON.parse(hello(agent.agentId)), payload: { ...JSON.parse(hello(agent.agentId)).payload, protocol_versions: new Array(300_000).fill(1) } }));
    expect((await closed(huge)).code).toBe(4001);

    const ws = await agent.opened();
    ws.send(hello(agent.agentId));
    expect((await nextMessage(ws)).type).toBe("welcome");
    expect(await nextMessage(ws)).toMatchObject({ type: "policy", payload: { operational: "cloud" } });

    ws.send("{ not json");
    expect(await nextMessage(ws)).toMatchObject({ type: "error", payload: { code: "INVALID_JSON" } });
    ws.send(JSON.stringify({ v: 1, type: "launch.missiles", payload: {} }));
    expect(await nextMessage(ws)).toMatchObject({ type: "error", payload: { code: "UNKNOWN_MESSAGE_TYPE" } });
    ws.send(JSON.stringify({ v: 1, type: "command.result", payload: { id: "nope" } }));
    expect(await nextMessage(ws)).toMatchObject({ type: "error", payload: { code: "INVALID_FRAME", details: expect.arrayContaining([expect.objectContaining({ path: "id" })]) } });
    ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 97).toString());
    expect((await closed(ws)).code).toBe(1009);

    const wrongPath = new WebSocket(`${cp.url.replace("http", "ws")}/api/v1/agents/wsx`, { headers: agent.headers() });
    const refusedStatus = await new Promise<number | undefined>((resolve) => wrongPath.once("unexpected-response", (_req, res) => resolve(res.statusCode)));
    expect(refusedStatus).toBe(404);

    const health = await apiClient(cp.url).get("/api/v1/health");
    expect(health.status).toBe(200);
    const metrics = await apiClient(cp.url).get("/metrics");
    expect(metrics.body).toMatch(/botmox_ws_bad_frames_total\{code="INVALID_JSON"\} 1/);
    expect(metrics.body).toMatch(/botmox_ws_upgrades_rejected_total\{code="NOT_FOUND"\} 1/);
  });

  test("a revoke between the upgrade and hello closes that connection too, and its hello gets nowhere", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);
    const ws = await agent.opened();
    const closedAt = Promise.race([closed(ws), new Promise((resolve) => setTimeout(resolve, 5_000, "still open"))]);

    expect((await tenant.api.post(`/api/v1/agents/${agent.agentId}/revoke`)).status).toBe(200);
    if (ws.readyState === WebSocket.OPEN) ws.send(hello(agent.agentId));
    expect(await closedAt).toMatchObject({ code: 4003 });
    expect(inbox(ws).frames.map((frame) => frame.type)).not.toContain("welcome");
    const refusedCommand = await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.ping" });
    expect(refusedCommand.body.error).toMatchObject({ code: "AGENT_REVOKED" });
    expect((await apiClient(cp.url).get("/api/v1/health")).body.agents_connected).toBe(0);
  });

  test("event stream readers that leave, even while they are being authenticated, leave nothing behind", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const openStreams = async () => Number(/^botmox_sse_streams_open (\d+)$/m.exec((await apiClient(cp.url).get("/metrics")).body)?.[1]);
    // Fresh keys: the first use of each is looked up in the store, which leaves time to hang up.
    for (let i = 0; i < 5; i++) {
      const key = JSON.parse((await cp.cli(["api-keys", "create", "--tenant", tenant.tenantId, "--role", "viewer"])).stdout).api_key as string;
      const socket = connect(cp.port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.end(`GET /api/v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\n\r\n`);
      socket.destroy();
    }
    const reader = connect(cp.port, "127.0.0.1");
    reader.write(`GET /api/v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${tenant.keys.viewer}\r\n\r\n`);
    await until("the live stream counted", async () => ((await openStreams()) === 1 ? true : undefined), 10_000, 50);
    reader.destroy();
    await until("every stream gone", async () => ((await openStreams()) === 0 ? true : undefined), 10_000, 50);
  });

  test("a client that never finishes its request is cut off; long waits and event streams are not", async () => {
    await using cp = await startControlPlane({ HTTP_REQUEST_TIMEOUT_MS: "2000" });
    const tenant = await cp.tenant();
    const { port } = new URL(cp.url);
    const slow = (text: string) => {
      const socket = connect(Number(port), "127.0.0.1");
      socket.on("error", () => {});
      socket.resume(); // read what comes back, as a client does
      socket.write(text);
      return new Promise<number>((resolve) => {
        const started = Date.now();
        socket.on("close", () => resolve(Date.now() - started));
        setTimeout(() => resolve(Infinity), 9_000); // still open: it would have been held for good
      });
    };

    const stream = await openEventStream(`${cp.url}/api/v1/events`, tenant.keys.viewer);

    const cutOff = Promise.all([
      // A keep-alive connection whose first request went through, and whose second never ends.
      slow("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\nPOST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"),
      slow("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"), // headers never end
      slow("POST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\""), // nor does the body
      slow(`GET ${WS_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`), // nor an upgrade
    ]);
    // An agent's socket, once upgraded, is the gateway's: it stays.
    const connected = await rawAgent(cp, tenant);
    const tunnel = await connected.opened();
    tunnel.send(hello(connected.agentId));
    await nextOfType(tunnel, "welcome");
    // Longer than the request timeout, and answered in full: a wait on an agent that is not connected.
    const offline = await rawAgent(cp, tenant);
    let streamEnded = false;
    void stream.ended.then(() => (streamEnded = true));
    const waited = Date.now();
    const command = await tenant.api.post(`/api/v1/agents/${offline.agentId}/commands?wait=4`, { name: "agent.ping" });
    expect(command.status).toBe(202);
    expect(Date.now() - waited).toBeGreaterThanOrEqual(3_900);
    for (const closedAfter of await cutOff) expect(closedAfter).toBeLessThan(9_000);
    expect(streamEnded).toBe(false);
    expect(tunnel.readyState).toBe(WebSocket.OPEN);
    tunnel.close();
    stream.close();
  });

  test("bad HTTP input gets a 400 naming the field and changes nothing", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);
    const path = `/api/v1/agents/${agent.agentId}/commands`;

    const unknown = await tenant.api.post(path, { name: "proxmox.vm.explode", params: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("UNKNOWN_COMMAND");
    expect(unknown.body.error.details).toEqual([{ path: "name", message: expect.stringContaining("agent.echo") }]);
    const badParams = await tenant.api.post(path, { name: "agent.echo", params: { delay_ms: -5, extra: true } });
    expect(badParams.status).toBe(400);
    expect(badParams.body.error.code).toBe("INVALID_PARAMS");
    expect(badParams.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "params.delay_ms" }), { path: "params.extra", message: "unknown field" }]));
    const badBody = await tenant.api.post(path, { name: "agent.ping", timeout_ms: "soon" });
    expect(badBody.status).toBe(400);
    expect(badBody.body.error.details[0].path).toBe("timeout_ms");
    const notJson = await tenant.api.post(path, "{oops");
    expect(notJson.status).toBe(400);
    const badId = await tenant.api.get("/api/v1/agents/not-a-uuid");
    expect(badId.status).toBe(400);
    expect(badId.body.error.details[0].path).toBe("params.id");
    // Bodies that are not plain JSON, keys that would poison prototypes, repeated query parameters: each named.
    const echo = JSON.stringify({ name: "agent.echo", params: { data: 1 } });
    const plainText = await tenant.api.post(path, echo, { "content-type": "text/plain" });
    expect(plainText.body.error).toMatchObject({ code: "BAD_REQUEST", message: "Content-Type must be application/json" });
    const gzipped = await tenant.api.post(path, echo, { "content-encoding": "gzip" });
    expect(gzipped.body.error).toMatchObject({ code: "BAD_REQUEST", details: [{ path: "(headers).content-encoding" }] });
    const poisoned = await tenant.api.post(path, '{"name":"agent.echo","params":{"data":{"__proto__":{"x":1}}}}');
    expect(poisoned.body.error).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("__proto__") });
    const twice = await tenant.api.get(`/api/v1/agents/${agent.agentId}/commands?limit=1&limit=2`);
    expect(twice.body.error.details).toEqual([{ path: "query.limit", message: "given more than once" }]);
    // Ids are the same whatever their case.
    expect((await tenant.api.get(`/api/v1/agents/${agent.agentId.toUpperCase()}`)).body.id).toBe(agent.agentId);

    // No Host header and no PUBLIC_URL: no pairing URI to give, so no code is made.
    const hostless = connect(cp.port, "127.0.0.1");
    let answer = "";
    hostless.on("data", (chunk) => (answer += chunk));
    hostless.write(`POST /api/v1/agents/pairings HTTP/1.0\r\nauthorization: Bearer ${tenant.keys.operator}\r\n\r\n`);
    await new Promise((resolve) => hostless.once("close", resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('"path":"(headers).host"');

    // Paths the router itself refuses get the same error body.
    for (const unroutable of ["/api/v1/agents/%E0%A4%A", `/api/v1/agents/${"a".repeat(101)}`]) {
      const refused = await tenant.api.get(unroutable);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: "BAD_REQUEST", details: [{ path: "(url)" }] });
    }
    const badWait = await tenant.api.get(`/api/v1/agents/${agent.agentId}/commands?limit=0`);
    expect(badWait.status).toBe(400);
    expect(badWait.body.error.details[0].path).toBe("query.limit");
    const register = await apiClient(cp.url).post("/api/v1/agents/register", { code: "BMX-AAAA-AAAA", public_key: "short" });
    expect(register.status).toBe(400);
    expect(register.body.error.details[0].path).toBe("public_key");

    const tooBig = await tenant.api.post(path, { name: "agent.echo", params: { data: "x".repeat(MAX_COMMAND_DATA_BYTES) } });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: [{ path: "params" }] });

    expect((await tenant.api.get(path)).body.commands).toEqual([]);
  });
  test("a command that expired while dispatched still takes the agent's real result, and the queue moves on", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);
    const ws = await agent.opened();
    ws.send(hello(agent.agentId)); // max_in_flight: 1
    expect((await nextMessage(ws)).type).toBe("welcome");
    expect((await nextMessage(ws)).type).toBe("policy");

    const path = `/api/v1/agents/${agent.agentId}/commands`;
    const first = await tenant.api.post(path, { name: "agent.echo", params: { data: "ran" }, expires_in_ms: 200 });
    const dispatch = await nextMessage(ws);
    expect(dispatch).toMatchObject({ type: "command.dispatch", payload: { id: first.body.id } });
    const second = await tenant.api.post(path, { name: "agent.echo", params: { data: "next" } });
    expect(second.body.status).toBe("queued");
    // The agent ran it, but its acceptance never arrived (say the connection dropped): the sweep expires it.
    expect((await tenant.api.get(`/api/v1/commands/${first.body.id}?wait=5`)).body.status).toBe("expired");

    const now = Date.now();
    ws.send(JSON.stringify({ v: 1, type: "command.result", payload: { id: first.body.id, status: "succeeded", result: { data: "ran" }, started_at: now - 5, finished_at: now } }));
    expect(await nextOfType(ws, "command.dispatch")).toMatchObject({ payload: { id: second.body.id } });
    const stored = (await tenant.api.get(`/api/v1/commands/${first.body.id}`)).body;
    expect(stored).toMatchObject({ status: "succeeded", result: { data: "ran" }, error: null });
    const actions = (await tenant.api.get("/api/v1/audit?limit=1000")).body.entries
      .filter((entry: { target_id: string }) => entry.target_id === first.body.id)
      .map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["command.expired", "command.succeeded"]));
    // Counted once, as it first ended: finished commands never outnumber submitted ones.
    const metrics = (await apiClient(cp.url).get("/metrics")).body as string;
    expect(metrics).toMatch(/^botmox_commands_finished_total\{status="expired"\} 1$/m);
    expect(metrics).not.toMatch(/^botmox_commands_finished_total\{status="succeeded"\}/m);
    ws.close();
  });

  test("results an agent resends on reconnect end their commands before redelivery reaches them: finished ones are not sent again", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const agent = await rawAgent(cp, tenant);
    const first = await agent.opened();
    first.send(hello(agent.agentId, 200));
    await nextOfType(first, "policy");
    const ids = await Promise.all(
      Array.from({ length: 200 }, async () => (await tenant.api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "agent.echo", params: { data: "x" } })).body.id as string),
    );
    for (let i = 0; i < ids.length; i++) await nextOfType(first, "command.dispatch");
    first.close();
    await closed(first);

    // Back, as a real agent is: all 200 ran meanwhile, and their results go out on welcome.
    const second = await agent.opened();
    second.send(hello(agent.agentId, 200));
    await nextOfType(second, "welcome");
    const now = Date.now();
    for (const id of ids) second.send(JSON.stringify({ v: 1, type: "command.result", payload: { id, status: "succeeded", result: { data: "x" }, started_at: now - 5, finished_at: now } }));
    for (const id of ids) expect((await tenant.api.get(`/api/v1/commands/${id}?wait=10`)).body.status).toBe("succeeded");
    await new Promise((resolve) => setTimeout(resolve, 500));

    // A few may have gone out before the results arrived; the rest had ended and stayed ended.
    const resent = inbox(second).frames.filter((frame) => frame.type === "command.dispatch").length;
    expect(resent).toBeLessThan(ids.length / 4);
    second.close();
  });
});
