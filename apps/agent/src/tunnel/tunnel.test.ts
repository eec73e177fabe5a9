import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { encodeFrame, MAX_FRAME_BYTES, SERVER_TO_AGENT } from "@botmox/protocol";
import { generateAgentKeyPair, loadPrivateKey } from "../identity/keys.js";
import { SecretGuard } from "./secret-guard.js";
import { Tunnel, type TunnelOptions } from "./tunnel.js";

const servers: Server[] = [];
const tunnels: Tunnel[] = [];
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.stop()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A stand-in for the control plane on a real socket: `onUpgrade` decides what each attempt gets. */
async function fakeControlPlane(onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<string> {
  const server = createServer();
  server.on("upgrade", onUpgrade);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function startTunnel(server: string, extra: Partial<TunnelOptions> = {}): { tunnel: Tunnel; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const tunnel = new Tunnel({
    server,
    agentId: "00000000-0000-7000-8000-000000000001",
    privateKey: loadPrivateKey(generateAgentKeyPair().privateKeyBase64),
    capabilities: [],
    maxInFlight: 1,
    log,
    guard: new SecretGuard(),
    backoffBaseMs: 50,
    backoffCapMs: 100,
    onMessage: () => {},
    onConnected: () => {},
    onDisconnected: () => {},
    onFatal: () => {},
    ...extra,
  });
  tunnels.push(tunnel);
  tunnel.start();
  return { tunnel, logs };
}

const welcome = (heartbeatMs: number) =>
  encodeFrame(SERVER_TO_AGENT, "welcome", { protocol_version: 1, session_id: "s", server_time: Date.now(), heartbeat_ms: heartbeatMs, max_frame_bytes: MAX_FRAME_BYTES });

describe("hello", () => {
  test("every hello of one process carries the same started_at, its start: a reconnect is not taken for another process", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const hellos: Array<{ started_at: number }> = [];
    const server = await fakeControlPlane((req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) =>
        ws.once("message", (data) => {
          hellos.push(JSON.parse(data.toString()).payload);
          ws.close(1011, "go away");
        }),
      ),
    );
    startTunnel(server);
    const deadline = Date.now() + 5_000;
    while (hellos.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(hellos[1]!.started_at).toBe(hellos[0]!.started_at);
    expect(hellos[0]!.started_at).toBe(Math.round(performance.timeOrigin));
    wss.close();
  });
});

describe("Tunnel state", () => {
  test("a tunnel whose close has begun no longer counts as connected, so what it cannot send is kept", async () => {
    const wss = new WebSocketServer({ noServer: true });
    let held: Duplex | undefined;
    const url = await fakeControlPlane((req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        held = socket;
        ws.once("message", () => {
          ws.send(welcome(60_000));
          // The close frame goes out, but the agent's answer is never read: its socket stays closing.
          setTimeout(() => {
            (socket as unknown as { pause(): void }).pause();
            ws.close(1001, "going away");
          }, 50);
        });
      }),
    );
    let welcomed = false;
    const { tunnel } = startTunnel(url, { onConnected: () => (welcomed = true) });
    const deadline = Date.now() + 2_000;
    while (!welcomed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(tunnel.connected).toBe(true);
    while (tunnel.connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(tunnel.connected).toBe(false);
    expect(tunnel.send("event", { source: "syncthing", target: "st", type: "StateChanged", time: new Date().toISOString(), data: {} })).toBe(false);
    held?.destroy(); // or the agent's socket waits out ws's 30 s close timeout
  });
});

describe("Tunnel send", () => {
  test("data nested too deep to serialise (a target's event) is refused and logged, not thrown at the caller; the tunnel carries on", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const received: string[] = [];
    const url = await fakeControlPlane((req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        ws.once("message", () => {
          ws.send(welcome(60_000));
          ws.on("message", (data) => received.push(JSON.parse(data.toString()).type));
        });
      }),
    );
    let welcomed = false;
    const { tunnel, logs } = startTunnel(url, { onConnected: () => (welcomed = true) });
    const deadline = Date.now() + 2_000;
    while (!welcomed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    let deep: unknown = "bottom";
    for (let i = 0; i < 20_000; i++) deep = { next: deep };
    const event = (data: Record<string, unknown>) => ({ source: "syncthing" as const, target: "st", type: "StateChanged", time: new Date().toISOString(), data });
    expect(tunnel.send("event", event({ deep }))).toBe(false);
    expect(logs.some((line) => line.msg === "refused to send a frame that cannot be serialised")).toBe(true);
    expect(tunnel.send("event", event({}))).toBe(true);
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(["event"]);
    wss.close();
  });
});

describe("Tunnel against a misbehaving peer", () => {
  test("a repeated welcome restarts the heartbeat instead of adding more, which dropped the tunnel", async () => {
    const wss = new WebSocketServer({ noServer: true });
    let pings = 0;
    let connections = 0;
    const url = await fakeControlPlane((req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        connections++;
        ws.on("ping", () => pings++);
        ws.once("message", () => {
          for (let i = 0; i < 5; i++) ws.send(welcome(100));
        });
      }),
    );
    startTunnel(url);
    await new Promise((resolve) => setTimeout(resolve, 250)); // connected and welcomed five times
    const before = pings;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // One heartbeat every 100 ms: about ten pings a second, not fifty.
    expect(pings - before).toBeGreaterThanOrEqual(7);
    expect(pings - before).toBeLessThanOrEqual(12);
    expect(connections).toBe(1); // the heartbeats did not trip over each other and drop the tunnel
  });

  test("a refusal whose body never ends is read for a bounded time and size, then the tunnel tries again", async () => {
    let attempts = 0;
    let sent = 0;
    const url = await fakeControlPlane((_req, socket) => {
      attempts++;
      socket.write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
      const chunk = "x".repeat(64 * 1024);
      const trickle = setInterval(() => {
        if (socket.destroyed) return clearInterval(trickle);
        socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        sent += chunk.length;
      }, 20);
      socket.on("error", () => {});
      socket.on("close", () => clearInterval(trickle));
    });
    const { logs } = startTunnel(url, { refusalReadMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(attempts).toBeGreaterThanOrEqual(2);
    const refusals = logs.filter((line) => line.msg === "control plane refused the connection");
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals[0]).toMatchObject({ status: 503 });
    expect(sent).toBeGreaterThan(100_000); // far more was offered than the 4 KiB kept
  });
});
