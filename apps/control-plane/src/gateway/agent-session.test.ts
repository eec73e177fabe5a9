import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { DEFAULT_STORAGE_POLICY, uuidv7 } from "@botmox/protocol";
import { afterAll, describe, expect, test, vi } from "vitest";
import type WebSocket from "ws";
import { CommandLifecycle } from "../commands/command-lifecycle.js";
import type { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { storeWithAgent } from "../store/sqlite/store-with-agent.testkit.js";
import { EventBus } from "../events/bus.js";
import { createMetrics } from "../metrics/metrics.js";
import { PolicyService } from "../policies/policy-service.js";
import type { AgentRecord, CommandRecord, Store } from "../store/types.js";
import { AgentSession } from "./agent-session.js";

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: any[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  closedWith: number | undefined;
  close(code: number) {
    this.closedWith ??= code;
  }
  ping() {}
  terminate() {}
}

const agent = { id: "00000000-0000-4000-8000-000000000001", tenant_id: "t" } as AgentRecord;
const command = (id: string) => ({ id, name: "agent.ping", params: {}, timeout_ms: 1000, attempts: 1, cancel_requested_at: null }) as unknown as CommandRecord;
const hello = { v: 1, type: "hello", payload: { agent_id: agent.id, protocol_versions: [1], agent_version: "t", hostname: "h", platform: "linux", arch: "x64", capabilities: [], max_in_flight: 4, started_at: 0 } };
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A store of one online agent with nothing to redeliver; `overrides` replace its methods. */
const stubStore = (overrides: Partial<Record<keyof Store, unknown>> = {}) =>
  ({ getAgent: async () => ({ ...agent, status: "online" }), activeCommands: async () => [], unheardCancels: async () => [], updateAgentSession: async () => {}, endAgentSession: async () => {}, getStoragePolicy: async () => DEFAULT_STORAGE_POLICY, ...overrides }) as unknown as Store;
const stubLifecycle = (overrides: Partial<Record<keyof CommandLifecycle, unknown>> = {}) =>
  ({ claim: async () => [], redelivered: async () => null, ...overrides }) as unknown as CommandLifecycle;

function startSession(
  ws: FakeSocket,
  deps: { store: Store; lifecycle: CommandLifecycle; bus: EventBus; isConnected?: () => boolean; register?: (session: AgentSession) => boolean },
  record: AgentRecord = agent,
) {
  return new AgentSession(ws as unknown as WebSocket, record, {
    isConnected: () => false,
    register: () => true,
    ...deps,
    log: pino({ level: "silent" }),
    metrics: createMetrics(deps.bus, () => 0),
    heartbeatMs: 60_000,
    instanceId: "test-instance",
    unregister: () => true,
  });
}

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
    const store = stubStore();
    const bus = new EventBus();
    const ws = new FakeSocket();
    const session = startSession(ws, { store, lifecycle, bus });
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

describe("AgentSession results", () => {
  const dir = mkdtempSync(join(tmpdir(), "agent-session-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A real SQLite store holding one dispatched command, and a session of its agent that said hello. */
  async function dispatchedCommand(name: string, committed?: () => Promise<void>, beforeHello?: (store: SqliteStore, command: CommandRecord) => Promise<void>) {
    const file = join(dir, `${name}.db`);
    const { store: real, tenant, agent_id } = await storeWithAgent(file);
    const now = Date.now();
    const { command } = await real.enqueueCommand(
      { id: uuidv7(now), tenant_id: tenant.id, agent_id, name: "agent.ping", params: {}, actor: "test", idempotency_key: null, request_hash: null, timeout_ms: 1_000, created_at: now, expires_at: now + 60_000 },
      { dispatchNow: true },
    );
    await beforeHello?.(real, command);
    const store = committed ? (new Proxy(real, { get: (target, key) => (key === "committed" ? committed : Reflect.get(target, key, target)) }) as Store) : real;
    const bus = new EventBus();
    const ws = new FakeSocket();
    const session = startSession(ws, { store, lifecycle: new CommandLifecycle(store, bus), bus }, (await real.getAgent(agent_id))!);
    ws.emit("message", Buffer.from(JSON.stringify({ ...hello, payload: { ...hello.payload, agent_id } })), false);
    // The session is up once it has redelivered the dispatched command (or sent its cancel).
    await until("the redelivery after hello", () => ws.sent.some((frame) => frame.type === "command.dispatch" || frame.type === "command.cancel"));
    const other = new Database(file, { readonly: true });
    const committedStatus = () => (other.prepare("SELECT status FROM commands WHERE id = ?").get(command.id) as { status: string }).status;
    const result = () => ws.emit("message", Buffer.from(JSON.stringify({ v: 1, type: "command.result", payload: { id: command.id, status: "succeeded", result: { pong: true, agent_time: new Date().toISOString() }, finished_at: Date.now() } })), false);
    const acks = () => ws.sent.filter((frame) => frame.type === "command.result.ack").flatMap((frame) => frame.payload.ids);
    const close = async () => {
      session.close(1000, "done");
      other.close();
      await real.close();
    };
    return { command, bus, result, committedStatus, acks, close, session, real, tenantId: tenant.id, ws };
  }

  test("a waiter hears the outcome before it is committed; the agent's ack waits for the commit", async () => {
    const { command, bus, result, committedStatus, acks, close } = await dispatchedCommand("ack-after-commit");
    const heard: Array<{ status: string; committed: string }> = [];
    bus.watchCommand(command.id, (updated) => heard.push({ status: updated.status, committed: committedStatus() }));
    result();
    await until("the ack", () => acks().length > 0);
    expect(heard).toEqual([{ status: "succeeded", committed: "dispatched" }]);
    expect(committedStatus()).toBe("succeeded");
    expect(acks()).toEqual([command.id]);
    await close();
  });

  test("switching the tenant to local: an outcome handled while the purge commits is relayed, not stored", async () => {
    const { command, real, session, tenantId, result, committedStatus, close } = await dispatchedCommand("policy-switch");
    // The agent's result arrives in the turn the purge is written, before it commits.
    const store = new Proxy(real, {
      get: (target, key) =>
        key === "purgeOperational"
          ? (input: Parameters<Store["purgeOperational"]>[0]) => {
              const purged = target.purgeOperational(input);
              result();
              return purged;
            }
          : Reflect.get(target, key, target),
    });
    const policies = new PolicyService(store);
    policies.push = (_tenant, policy) => session.applyPolicy(policy);
    await policies.update({ tenant_id: tenantId, actor: "test", body: { operational: "local" }, merge: true });
    await until("the outcome is committed", () => committedStatus() === "succeeded");
    expect((await real.getCommand(command.id))?.result).toBeNull();
    await close();
  });

  test("a policy read at connect that is older than one pushed meanwhile does not undo it", async () => {
    const { command, real, session, result, committedStatus, ws, close } = await dispatchedCommand("policy-order");
    const local = { ...DEFAULT_STORAGE_POLICY, operational: "local" as const, updated_at: 2_000 };
    session.applyPolicy(local);
    session.applyPolicy({ ...DEFAULT_STORAGE_POLICY, updated_at: 1_000 });
    expect(ws.sent.filter((frame) => frame.type === "policy").at(-1)?.payload).toMatchObject({ version: 2_000, operational: "local" });
    result();
    await until("the outcome is committed", () => committedStatus() === "succeeded");
    expect((await real.getCommand(command.id))?.result).toBeNull();
    await close();
  });

  test("a cancel asked for while the agent was away reaches it on reconnect, even though the command expired meanwhile", async () => {
    const { command, real, ws, close } = await dispatchedCommand("unheard-cancel", undefined, async (store, sent) => {
      await store.patchCommand({ id: sent.id, patch: { cancel_requested_at: Date.now() } });
      await store.expireCommands(sent.expires_at);
    });
    await until("the cancel", () => ws.sent.some((frame) => frame.type === "command.cancel" && frame.payload.id === command.id));
    expect(ws.sent.some((frame) => frame.type === "command.dispatch" && frame.payload.id === command.id)).toBe(false);
    // The agent stops it and says so: the command ends cancelled, and the cancel is not sent again.
    ws.emit("message", Buffer.from(JSON.stringify({ v: 1, type: "command.result", payload: { id: command.id, status: "cancelled", error: { code: "COMMAND_CANCELLED", message: "Cancelled on request" }, finished_at: Date.now() } })), false);
    await until("cancelled", () => ws.sent.some((frame) => frame.type === "command.result.ack"));
    expect((await real.getCommand(command.id))?.status).toBe("cancelled");
    expect(await real.unheardCancels(command.agent_id)).toEqual([]);
    await close();
  });

  test("an acceptance and an outcome read together are announced in that order", async () => {
    const { command, bus, ws, result, real, close } = await dispatchedCommand("accepted-then-result");
    const announced: string[] = [];
    bus.watchCommand(command.id, (updated) => announced.push(updated.status));
    ws.emit("message", Buffer.from(JSON.stringify({ v: 1, type: "command.accepted", payload: { id: command.id } })), false);
    result();
    await until("the outcome is acknowledged", () => ws.sent.some((frame) => frame.type === "command.result.ack"));
    expect(announced).toEqual(["running", "succeeded"]);
    expect((await real.getCommand(command.id))?.status).toBe("succeeded");
    await close();
  });

  test("an outcome nested too deep to store is recorded as a RESULT_TOO_DEEP failure and acknowledged, not left to be resent forever", async () => {
    const { command, committedStatus, acks, ws, close } = await dispatchedCommand("too-deep");
    // Written out by hand: JSON.stringify itself cannot go that deep.
    const deep = `${'{"next":'.repeat(20_000)}"bottom"${"}".repeat(20_000)}`;
    const payload = `{"id":"${command.id}","status":"failed","error":{"code":"EXECUTION_FAILED","message":"x","details":${deep}},"finished_at":${Date.now()}}`;
    ws.emit("message", Buffer.from(`{"v":1,"type":"command.result","payload":${payload}}`), false);
    await until("the ack", () => acks().length > 0);
    expect(committedStatus()).toBe("failed");
    expect(acks()).toEqual([command.id]);
    expect(ws.sent.filter((frame) => frame.type === "error")).toEqual([]);
    await close();
  });

  test("an outcome whose commit failed is not acknowledged, so the agent sends it again", async () => {
    const { command, result, acks, close } = await dispatchedCommand("commit-failed", () => Promise.reject(new Error("disk full")));
    result();
    await sleep(100); // several times what an ack takes (batched for 20 ms after the commit)
    expect(acks()).not.toContain(command.id);
    await close();
  });
});

describe("AgentSession bad frames", () => {
  test("unknown message types are answered but never close the tunnel; other bad frames close it past 20 in a minute", async () => {
    const store = stubStore();
    const lifecycle = stubLifecycle();
    const ws = new FakeSocket();
    startSession(ws, { store, lifecycle, bus: new EventBus() });
    ws.emit("message", Buffer.from(JSON.stringify(hello)), false);
    await until("welcome", () => ws.sent.some((frame) => frame.type === "welcome"));
    const errors = () => ws.sent.filter((frame) => frame.type === "error").map((frame) => frame.payload.code);
    const now = vi.spyOn(Date, "now");
    try {
      now.mockReturnValue(1_000_000);
      for (let i = 0; i < 30; i++) ws.emit("message", Buffer.from(JSON.stringify({ v: 1, type: "agent.metrics", payload: {} })), false);
      for (let i = 0; i < 20; i++) ws.emit("message", Buffer.from("{ not json"), false);
      expect(ws.closedWith).toBeUndefined();
      expect(errors().filter((code) => code === "UNKNOWN_MESSAGE_TYPE")).toHaveLength(30);
      expect(errors().filter((code) => code === "INVALID_JSON")).toHaveLength(20);
      // A minute later the count starts again.
      now.mockReturnValue(1_060_000);
      for (let i = 0; i < 20; i++) ws.emit("message", Buffer.from("{ not json"), false);
      expect(ws.closedWith).toBeUndefined();
      ws.emit("message", Buffer.from("{ not json"), false);
      expect(ws.closedWith).toBe(4005);
    } finally {
      now.mockRestore();
    }
  });
});

describe("AgentSession going offline", () => {
  test("a connection that takes over while the old one's offline record is written keeps the last word: no agent.offline after its agent.online", async () => {
    const store = stubStore();
    const lifecycle = stubLifecycle();
    const bus = new EventBus();
    const announced: string[] = [];
    bus.subscribeAll((event) => announced.push(event.type));
    for (const takenOver of [false, true]) {
      let newerConnected = false;
      const ws = new FakeSocket();
      startSession(ws, { store, lifecycle, bus, isConnected: () => newerConnected });
      ws.emit("message", Buffer.from(JSON.stringify(hello)), false);
      await until("welcome", () => ws.sent.some((frame) => frame.type === "welcome"));
      announced.length = 0;
      ws.emit("close", 1006);
      newerConnected = takenOver; // the replacing connection registers in the same instant
      await sleep(20);
      expect(announced).toEqual(takenOver ? [] : ["agent.offline"]);
    }
  });
});

describe("AgentSession going offline while the store is down", () => {
  test("a failed offline record is retried even once a newer connection is up: that one may not have recorded itself", async () => {
    const ended: string[] = [];
    let failures = 1;
    const store = stubStore({
      endAgentSession: async (_id: string, sessionId: string) => {
        if (failures-- > 0) throw new Error("store unavailable");
        ended.push(sessionId);
      },
    });
    const bus = new EventBus();
    const ws = new FakeSocket();
    const session = startSession(ws, { store, lifecycle: stubLifecycle(), bus, isConnected: () => true });
    ws.emit("message", Buffer.from(JSON.stringify(hello)), false);
    await until("welcome", () => ws.sent.some((frame) => frame.type === "welcome"));
    ws.emit("close", 1006);
    await until("the retried offline record", () => ended.length === 1, 10_000);
    expect(ended).toEqual([session.sessionId]);
  });
});

describe("AgentSession going offline, on a store that may reorder writes", () => {
  const dir = mkdtempSync(join(tmpdir(), "agent-session-offline-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("an old connection's offline record that lands after a newer connection's online record changes nothing", async () => {
    const { store: real, agent_id } = await storeWithAgent(join(dir, "cp.db"));
    // Offline records are held back, as a slower request to a remote store would be.
    const held: Array<() => void> = [];
    const holdOffline = (write: () => Promise<void>) => new Promise<void>((resolve, reject) => held.push(() => write().then(resolve, reject)));
    const store = new Proxy(real, {
      get: (target, key) => {
        if (key === "endAgentSession") return (...args: [string, string, number]) => holdOffline(() => target.endAgentSession(...args));
        if (key === "updateAgentSession")
          return (id: string, patch: { status?: string }) => (patch.status === "offline" ? holdOffline(() => target.updateAgentSession(id, patch as never)) : target.updateAgentSession(id, patch as never));
        return Reflect.get(target, key, target);
      },
    }) as Store;
    const bus = new EventBus();
    const record = (await real.getAgent(agent_id))!;
    const connect = async () => {
      const ws = new FakeSocket();
      const session = startSession(ws, { store, lifecycle: new CommandLifecycle(store, bus), bus }, record);
      ws.emit("message", Buffer.from(JSON.stringify({ ...hello, payload: { ...hello.payload, agent_id } })), false);
      await until("welcome", () => ws.sent.some((frame) => frame.type === "welcome"));
      return { ws, session };
    };
    const old = await connect();
    old.ws.emit("close", 1006); // the network dropped it; its offline record is on its way
    await until("the offline record", () => held.length === 1);
    const newer = await connect();
    expect(await real.getAgent(agent_id)).toMatchObject({ status: "online", session_id: newer.session.sessionId });
    held.shift()!();
    await sleep(20);
    expect(await real.getAgent(agent_id)).toMatchObject({ status: "online", session_id: newer.session.sessionId });
    newer.session.close(1000, "done");
    await real.close();
  });
});

describe("AgentSession replacing an open connection", () => {
  test("commands outstanding on another process's connection are redelivered flagged; on the same process's, as usual", async () => {
    const id = "00000000-0000-4000-8000-00000000000c";
    const lifecycle = stubLifecycle({ redelivered: async (c: CommandRecord) => c });
    const store = stubStore({ activeCommands: async () => [command(id)] });
    let current: AgentSession | undefined;
    const register = (session: AgentSession) => {
      if (current) session.takeOverFrom(current);
      current = session;
      return true;
    };
    const connect = async (startedAt: number) => {
      const ws = new FakeSocket();
      startSession(ws, { store, lifecycle, bus: new EventBus(), register });
      ws.emit("message", Buffer.from(JSON.stringify({ ...hello, payload: { ...hello.payload, started_at: startedAt } })), false);
      await until("the dispatch", () => ws.sent.some((frame) => frame.type === "command.dispatch"));
      return ws.sent.find((frame) => frame.type === "command.dispatch").payload;
    };
    expect((await connect(1)).sent_to_other_process).toBeUndefined();
    expect((await connect(1)).sent_to_other_process).toBeUndefined(); // the same process, reconnected
    expect((await connect(2)).sent_to_other_process).toBe(true); // a copy started elsewhere
    expect((await connect(3)).sent_to_other_process).toBe(true); // still unanswered: flagged again
    expect((await connect(3)).sent_to_other_process).toBe(true); // the copy reconnecting: its journal still never saw it
  });
});
