import { EventEmitter } from "node:events";
import pino from "pino";
import { DEFAULT_STORAGE_POLICY } from "@botmox/protocol";
import { describe, expect, test } from "vitest";
import type WebSocket from "ws";
import type { CommandLifecycle } from "../commands/command-lifecycle.js";
import { EventBus } from "../events/bus.js";
import { createMetrics } from "../metrics/metrics.js";
import type { AgentRecord, CommandRecord, Store } from "../store/types.js";
import { AgentSession } from "./agent-session.js";

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: any[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  ping() {}
  terminate() {}
}

const agent = { id: "00000000-0000-4000-8000-000000000001", tenant_id: "t" } as AgentRecord;
const command = (id: string) => ({ id, name: "agent.ping", params: {}, timeout_ms: 1000, attempts: 1, cancel_requested_at: null }) as unknown as CommandRecord;
const hello = { v: 1, type: "hello", payload: { agent_id: agent.id, protocol_versions: [1], agent_version: "t", hostname: "h", platform: "linux", arch: "x64", capabilities: [], max_in_flight: 4, started_at: 0 } };
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("AgentSession dispatch pump", () => {
  // Regression: a claim that came back short while new work was being queued cleared the
  // "work may be queued" flag, so that work stayed queued until some other event.
  test("lost wake-up: work queued while a claim is in flight is claimed afterwards", async () => {
    const queue: string[] = [];
    const pendingClaims: Array<() => void> = [];
    const lifecycle = {
      // The claim reads the queue now but resolves later, like a store commit.
      claim: (_agentId: string, limit: number) => {
        const taken = queue.splice(0, limit).map(command);
        return new Promise<CommandRecord[]>((resolve) => pendingClaims.push(() => resolve(taken)));
      },
      redelivered: async () => null,
    } as unknown as CommandLifecycle;
    const store = { getAgent: async () => ({ ...agent, status: "online" }), activeCommands: async () => [], updateAgentSession: async () => {}, getStoragePolicy: async () => DEFAULT_STORAGE_POLICY } as unknown as Store;
    const bus = new EventBus();
    const ws = new FakeSocket();
    const session = new AgentSession(ws as unknown as WebSocket, agent, {
      store,
      lifecycle,
      bus,
      log: pino({ level: "silent" }),
      metrics: createMetrics(bus, () => 0),
      heartbeatMs: 60_000,
      register: () => true,
      unregister: () => true,
      isConnected: () => false,
    });
    ws.emit("message", Buffer.from(JSON.stringify(hello)), false);
    await tick();
    expect(pendingClaims).toHaveLength(1); // first claim after hello: queue empty
    pendingClaims.shift()!();
    await tick();

    queue.push("00000000-0000-4000-8000-00000000000a");
    session.kick(); // claim #2 takes command a
    await tick();
    queue.push("00000000-0000-4000-8000-00000000000b");
    session.kick(); // arrives while claim #2 is still in flight
    pendingClaims.shift()!(); // claim #2 returns 1 < 4 slots
    await tick();
    await tick();
    while (pendingClaims.length) {
      pendingClaims.shift()!();
      await tick();
    }
    const dispatched = ws.sent.filter((frame) => frame.type === "command.dispatch").map((frame) => frame.payload.id);
    expect(dispatched).toEqual(["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"]);
    session.close(1000, "done");
  });
});
