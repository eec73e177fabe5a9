import { randomUUID } from "node:crypto";
import type WebSocket from "ws";
import type { z } from "zod";
import {
  AGENT_TO_SERVER,
  CLOSE_CODES,
  MAX_DATA_DEPTH,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSIONS,
  SERVER_TO_AGENT,
  decodeFrame,
  encodeFrame,
  outcomeTooDeep,
  withheldOutcome,
  DEFAULT_STORAGE_POLICY,
  type StoragePolicy,
  type AgentToServer,
  type CommandOutcome,
  type ServerToAgentType,
} from "@botmox/protocol";
import { ApiError } from "../errors/api-error.js";
import type { CommandLifecycle } from "../commands/command-lifecycle.js";
import type { Reservation } from "../commands/dispatcher.js";
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { AgentRecord, CommandRecord, Store } from "../store/types.js";

const HELLO_TIMEOUT_MS = 10_000;
const MAX_BAD_FRAMES = 20;
const BAD_FRAME_WINDOW_MS = 60_000;
const ACK_DELAY_MS = 20;
const ACK_BATCH = 256;
const PUMP_RETRY_MS = 1_000;
const WELCOME_RETRY_MS = 5_000;
const OFFLINE_RETRY_MS = 2_000;

export interface SessionDeps {
  store: Store;
  lifecycle: CommandLifecycle;
  bus: EventBus;
  log: Logger;
  metrics: Metrics;
  heartbeatMs: number;
  /** This control plane instance, recorded as the holder of the session. */
  instanceId: string;
  /** Registers the session once hello succeeded; returns false if the gateway is draining. */
  register(session: AgentSession): boolean;
  /** Forgets the session; true when it was the agent's current one (not replaced by a newer connection). */
  unregister(session: AgentSession): boolean;
  /** Whether the agent has a live session here now. */
  isConnected(agentId: string): boolean;
}

/** One agent's tunnel: hello, dispatch with a bounded in-flight window, results, acks. */
export class AgentSession {
  readonly sessionId = randomUUID();
  readonly agentId: string;
  readonly tenantId: string;
  private state: "awaiting_hello" | "ready" | "closed" = "awaiting_hello";
  private helloSeen = false;
  /** close() was called: no new work goes out while the socket winds down. */
  private closing = false;
  private readonly inflight = new Set<string>();
  /** The agent process behind this connection (`hello.started_at`). */
  private processStartedAt: number | undefined;
  /** Outstanding on the connection of another process this one replaced: they may be running there. */
  private readonly sentToOtherProcess = new Set<string>();
  /** Slots promised to commands being inserted as dispatched (see reserve). */
  private reserved = 0;
  private maxInFlight = 1;
  /** Until redelivery has counted what the agent may still be running, nothing new goes out. */
  private redelivering = true;
  private badFrames = 0;
  private badFramesSince = 0;
  private pumping = false;
  private pumpAgain = false;
  /** Whether queued work may be waiting in the store; avoids a claim query per result when idle. */
  private mayHaveQueued = true;
  /** Bumped on every kick, so a claim that raced with new work does not clear mayHaveQueued. */
  private kicks = 0;
  private pendingAcks: string[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private pumpRetry: NodeJS.Timeout | undefined;
  alive = true;
  /** The last pong or frame from the agent: what `last_seen_at` shows while it is connected. */
  lastHeardAt = Date.now();
  private policy: StoragePolicy = { ...DEFAULT_STORAGE_POLICY };
  private readonly pending = new Map<string, { resolve: (value: unknown) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  private readonly log: Logger;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    agent: AgentRecord,
    private readonly deps: SessionDeps,
  ) {
    this.agentId = agent.id;
    this.tenantId = agent.tenant_id;
    this.log = deps.log.child({ agent_id: agent.id, tenant_id: agent.tenant_id, session_id: this.sessionId });
    this.helloTimer = setTimeout(() => this.close(CLOSE_CODES.HELLO_REQUIRED.code, "hello not received in time"), HELLO_TIMEOUT_MS);
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("pong", () => {
      this.alive = true;
      this.lastHeardAt = Date.now();
    });
    ws.on("close", (code) => this.onClose(code));
    ws.on("error", (err) => this.log.warn({ err: err.message }, "agent socket error"));
  }

  get isReady(): boolean {
    return this.state === "ready" && !this.closing;
  }

  send<T extends ServerToAgentType>(type: T, payload: z.input<(typeof SERVER_TO_AGENT)[T]>): boolean {
    if (this.ws.readyState !== this.ws.OPEN) {
      this.log.warn({ type }, "frame not sent: agent socket is not open");
      return false;
    }
    this.ws.send(encodeFrame(SERVER_TO_AGENT, type, payload));
    return true;
  }

  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.closing = true;
    this.ws.close(code, reason.slice(0, 120));
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.alive = false;
    this.ws.ping();
  }

  /** New work for this agent was queued. */
  kick(): void {
    this.mayHaveQueued = true;
    this.kicks++;
    void this.pump();
  }

  /**
   * The tenant's storage policy changed (or the agent just connected): the agent must follow it.
   * An older version is ignored: the read at connect may race with a change pushed meanwhile.
   */
  applyPolicy(policy: StoragePolicy): void {
    if (policy.updated_at < this.policy.updated_at) return;
    this.policy = policy;
    this.send("policy", { version: policy.updated_at, operational: policy.operational, sync_enabled: policy.sync.enabled });
  }

  /** Asks the agent for data the control plane does not keep ("local" tenants). */
  request(kind: "command.result" | "inventory", commandId?: string, timeoutMs = 10_000): Promise<unknown> {
    const requestId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new ApiError("AGENT_OFFLINE", `The agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      if (!this.send("request", { request_id: requestId, kind, ...(commandId ? { command_id: commandId } : {}) })) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(new ApiError("AGENT_OFFLINE", "The agent is not connected"));
      }
    });
  }

  /** A slot for a command that can skip the queue: the session is ready, has room and no backlog. */
  reserve(): Reservation | undefined {
    if (!this.isReady || this.mayHaveQueued || this.room() <= 0) return undefined;
    this.reserved++;
    let used = false;
    const settle = () => {
      if (used) return false;
      used = true;
      this.reserved--;
      return true;
    };
    return {
      send: (command) => {
        if (!settle()) return;
        this.inflight.add(command.id);
        this.dispatch(command);
      },
      release: () => {
        if (settle()) void this.pump();
      },
    };
  }

  /**
   * This connection replaces `previous`, still open. From another process of the agent (a copied
   * home, a cloned machine), what was outstanding there may be running there: redelivered here
   * flagged, so this process runs it only if its journal knows it.
   */
  takeOverFrom(previous: AgentSession): void {
    for (const id of previous.sentToOtherProcess) this.sentToOtherProcess.add(id);
    if (previous.processStartedAt === this.processStartedAt) return;
    for (const id of previous.inflight) this.sentToOtherProcess.add(id);
  }

  requestCancel(commandId: string): boolean {
    return this.send("command.cancel", { id: commandId, reason: "cancel requested by operator" });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastHeardAt = Date.now();
    if (isBinary) return this.reject({ code: "INVALID_FRAME", message: "Binary frames are not part of the protocol" });
    const decoded = decodeFrame(AGENT_TO_SERVER, data.toString("utf8"));
    if (!decoded.ok) return this.reject(decoded.error);
    const message = decoded.message as AgentToServer;
    if (this.state === "awaiting_hello" && message.type !== "hello") {
      return this.close(CLOSE_CODES.HELLO_REQUIRED.code, `expected hello, got ${message.type}`);
    }
    this.handle(message).catch((err: unknown) => {
      this.log.error({ err, type: message.type }, "failed to handle agent frame");
      this.send("error", { code: "INTERNAL", message: `Could not process ${message.type}; it will be redelivered or should be resent` });
    });
  }

  private reject(error: { code: string; message: string; details?: unknown }): void {
    this.deps.metrics.badFrames.inc({ code: error.code });
    if (this.state === "awaiting_hello") return this.close(CLOSE_CODES.HELLO_REQUIRED.code, `expected hello: ${error.code}`);
    this.log.warn({ code: error.code, message: error.message }, "rejected agent frame");
    // A newer agent may send types this server does not know yet: answered, never held against it.
    if (error.code !== "UNKNOWN_MESSAGE_TYPE" && this.countBadFrame() > MAX_BAD_FRAMES) {
      return this.close(CLOSE_CODES.TOO_MANY_BAD_FRAMES.code, "too many bad frames");
    }
    this.send("error", error);
  }

  /** Bad frames of the current minute: a rare glitch over days of uptime never adds up to a close. */
  private countBadFrame(): number {
    const now = Date.now();
    if (now - this.badFramesSince >= BAD_FRAME_WINDOW_MS) {
      this.badFramesSince = now;
      this.badFrames = 0;
    }
    return ++this.badFrames;
  }

  private async handle(message: AgentToServer): Promise<void> {
    switch (message.type) {
      case "hello":
        return this.onHello(message.payload);
      case "command.accepted":
        return this.onAccepted(message.payload.id);
      case "command.progress":
        this.deps.bus.publish({ type: "command.progress", tenant_id: this.tenantId, agent_id: this.agentId, command_id: message.payload.id, message: message.payload.message, ...(message.payload.percent !== undefined ? { percent: message.payload.percent } : {}), at: Date.now() });
        return;
      case "command.result":
        return this.onResult(message.payload);
      case "event": {
        const { source, target, type, time, data } = message.payload;
        const at = Date.now();
        this.deps.bus.publish({ type: "agent.event", tenant_id: this.tenantId, agent_id: this.agentId, source, target, event_type: type, time, data, at });
        if (this.policy.operational === "cloud") await this.deps.store.appendEvent({ tenant_id: this.tenantId, agent_id: this.agentId, source, target, type, data, created_at: at });
        return;
      }
      case "policy.applied":
        await this.deps.store.updateAgentSession(this.agentId, { policy_version_applied: message.payload.version });
        return;
      case "inventory":
        // Only what the policy allows is stored; an agent that has not caught up yet is ignored.
        if (this.policy.operational !== "cloud") return;
        await this.deps.store.replaceInventory({ tenant_id: this.tenantId, agent_id: this.agentId, items: message.payload.items, collected_at: message.payload.collected_at });
        return;
      case "telemetry": {
        if (this.policy.operational !== "local" || !this.policy.sync.enabled) return;
        const { collected_at, ...data } = message.payload;
        await this.deps.store.putTelemetry({ tenant_id: this.tenantId, agent_id: this.agentId, data, updated_at: collected_at });
        return;
      }
      case "response": {
        const pending = this.pending.get(message.payload.request_id);
        if (!pending) return;
        this.pending.delete(message.payload.request_id);
        clearTimeout(pending.timer);
        if (message.payload.ok) pending.resolve(message.payload.data);
        else pending.reject(new ApiError("EXECUTION_FAILED", message.payload.error?.message ?? "The agent could not answer", message.payload.error));
        return;
      }
    }
  }

  private async onHello(hello: AgentToServer<"hello">["payload"]): Promise<void> {
    if (this.helloSeen) return this.reject({ code: "INVALID_FRAME", message: "hello was already received" });
    this.helloSeen = true;
    this.processStartedAt = hello.started_at;
    clearTimeout(this.helloTimer);
    if (hello.agent_id !== this.agentId) return this.close(CLOSE_CODES.HELLO_REQUIRED.code, "hello agent_id does not match the signed upgrade");
    const version = Math.max(...hello.protocol_versions.filter((v) => (PROTOCOL_VERSIONS as readonly number[]).includes(v)));
    if (!Number.isFinite(version)) {
      return this.close(CLOSE_CODES.UNSUPPORTED_PROTOCOL.code, `server speaks protocol ${PROTOCOL_VERSIONS.join(",")}`);
    }
    // Checked again: a revoke between the upgrade and this hello found no registered session to close.
    let agent: AgentRecord | null;
    try {
      agent = await this.deps.store.getAgent(this.agentId);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not check the agent at hello; asking it to retry");
      return this.close(CLOSE_CODES.TRY_AGAIN_LATER.code, JSON.stringify({ retry_after_ms: WELCOME_RETRY_MS }));
    }
    if (!agent || agent.status === "revoked") return this.close(CLOSE_CODES.AGENT_REVOKED.code, "agent revoked");
    if (this.closing || this.state === "closed") return;
    if (!this.deps.register(this)) return;
    this.state = "ready";
    this.maxInFlight = hello.max_in_flight;
    try {
      await this.welcome(hello, version);
    } catch (err) {
      // Without the store the session cannot start (status, policy, redelivery): the agent comes back later.
      this.log.warn({ err: (err as Error).message }, "could not start the session; asking the agent to retry");
      this.close(CLOSE_CODES.TRY_AGAIN_LATER.code, JSON.stringify({ retry_after_ms: WELCOME_RETRY_MS }));
    }
  }

  private async welcome(hello: AgentToServer<"hello">["payload"], version: number): Promise<void> {
    const now = Date.now();
    await this.deps.store.updateAgentSession(this.agentId, {
      status: "online",
      hostname: hello.hostname,
      version: hello.agent_version,
      platform: hello.platform,
      arch: hello.arch,
      capabilities: hello.capabilities,
      connected_at: now,
      last_seen_at: now,
      session_id: this.sessionId,
      instance_id: this.deps.instanceId,
    });
    this.deps.bus.publish({ type: "agent.online", tenant_id: this.tenantId, agent_id: this.agentId, at: now });
    // Read before welcome: the agent resends buffered results as soon as it has it, and a "local"
    // tenant's must not be stored under the default policy meanwhile.
    const policy = await this.deps.store.getStoragePolicy(this.tenantId);
    this.send("welcome", { protocol_version: version, session_id: this.sessionId, server_time: Date.now(), heartbeat_ms: this.deps.heartbeatMs, max_frame_bytes: MAX_FRAME_BYTES });
    this.applyPolicy(policy);
    this.log.info({ agent_version: hello.agent_version, hostname: hello.hostname, protocol_version: version }, "agent connected");
    await this.redeliver();
    this.redelivering = false;
    await this.pump();
  }

  /**
   * Everything sent before and not yet final is sent again; the agent answers repeats from its
   * journal. A cancel asked for while the agent was away goes too, even if the command expired
   * meanwhile: the agent may be running it.
   */
  private async redeliver(): Promise<void> {
    const active = await this.deps.store.activeCommands(this.agentId);
    // All counted in flight at once: the agent may be running every one of them.
    for (const command of active) this.inflight.add(command.id);
    let sent = 0;
    for (const command of active) {
      // Only while it is still unfinished: results the agent resent on welcome end commands
      // meanwhile, and a command it has acknowledged and forgotten would run again.
      const current = await this.deps.lifecycle.redelivered(command);
      if (!current) {
        this.inflight.delete(command.id);
        continue;
      }
      this.dispatch(current);
      sent++;
    }
    if (sent > 0) this.log.info({ count: sent }, "redelivered unfinished commands");
    for (const id of await this.deps.store.unheardCancels(this.agentId)) this.requestCancel(id);
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const room = this.room();
        if (!this.isReady || room <= 0 || !this.mayHaveQueued) continue;
        const kicksBefore = this.kicks;
        const claimed = await this.deps.lifecycle.claim(this.agentId, room);
        if (claimed.length < room && this.kicks === kicksBefore) this.mayHaveQueued = false;
        for (const command of claimed) {
          this.inflight.add(command.id);
          this.dispatch(command);
        }
      } while (this.pumpAgain);
    } catch (err) {
      // The store is unreachable: the queued work stays queued; try again shortly.
      this.log.warn({ err: (err as Error).message }, "could not claim queued commands; retrying");
      this.retryPumpSoon();
    } finally {
      this.pumping = false;
    }
  }

  /** Free slots of the agent's in-flight window. */
  private room(): number {
    return this.redelivering ? 0 : this.maxInFlight - this.inflight.size - this.reserved;
  }

  private retryPumpSoon(): void {
    if (this.pumpRetry || this.state === "closed") return;
    this.pumpRetry = setTimeout(() => {
      this.pumpRetry = undefined;
      void this.pump();
    }, PUMP_RETRY_MS);
  }

  private dispatch(command: CommandRecord): void {
    if (command.cancel_requested_at !== null) this.send("command.cancel", { id: command.id, reason: "cancel requested by operator" });
    const sent = this.send("command.dispatch", {
      id: command.id,
      name: command.name,
      params: command.params ?? {},
      timeout_ms: command.timeout_ms,
      attempt: command.attempts,
      ...(this.sentToOtherProcess.has(command.id) ? { sent_to_other_process: true } : {}),
    });
    if (sent) this.log.debug({ command_id: command.id, name: command.name, attempt: command.attempts }, "command dispatched");
  }

  private async onAccepted(id: string): Promise<void> {
    const command = await this.deps.lifecycle.accepted(this.agentId, id);
    if (command) return;
    // Not dispatched any more: expired or cancelled meanwhile, so ask the agent to stop it.
    const current = await this.deps.store.getCommand(id);
    if (current && current.agent_id === this.agentId && (current.status === "expired" || current.status === "cancelled")) {
      this.send("command.cancel", { id, reason: `command is ${current.status}` });
    }
  }

  private async onResult(received: CommandOutcome): Promise<void> {
    const outcome = this.screenOutcome(received);
    const command = await this.deps.lifecycle.finished(this.agentId, outcome, this.policy.operational === "local");
    if (command) this.log.debug({ command_id: command.id, status: command.status }, "command finished");
    this.inflight.delete(outcome.id);
    this.sentToOtherProcess.delete(outcome.id);
    void this.pump(); // a slot is free, whatever became of the command
    // Not before the outcome is durable: once acknowledged, the agent forgets it.
    await this.deps.store.committed();
    this.ack(outcome.id);
  }

  /** An outcome nested too deep to store or serialise (an older or a hostile agent) becomes a failure that says so, and is acknowledged as usual. */
  private screenOutcome(outcome: CommandOutcome): CommandOutcome {
    const deep = outcomeTooDeep(outcome);
    if (!deep) return outcome;
    this.log.warn({ command_id: outcome.id, path: deep }, "agent sent an outcome nested too deep; recorded as failed");
    return withheldOutcome(outcome, "RESULT_TOO_DEEP", `The agent's outcome nests deeper than ${MAX_DATA_DEPTH} levels (at ${deep}); it was not kept`);
  }

  /**
   * Acks are not urgent (the agent only keeps results a little longer), so they are batched:
   * one frame per ACK_DELAY_MS or per ACK_BATCH ids, which keeps them off every command's hot path.
   */
  private ack(id: string): void {
    this.pendingAcks.push(id);
    if (this.pendingAcks.length >= ACK_BATCH) return this.flushAcks();
    if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const ids = this.pendingAcks;
    this.pendingAcks = [];
    this.send("command.result.ack", { ids });
  }

  private onClose(code: number): void {
    clearTimeout(this.helloTimer);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new ApiError("AGENT_OFFLINE", "The agent disconnected before answering"));
    }
    this.pending.clear();
    clearTimeout(this.ackTimer);
    clearTimeout(this.pumpRetry);
    const wasReady = this.state === "ready";
    this.state = "closed";
    const wasCurrent = this.deps.unregister(this);
    if (!wasReady || !wasCurrent) return;
    this.log.info({ code }, "agent disconnected");
    this.recordOffline(Date.now());
  }

  /** Retried while the store is unavailable: the agent must not look online for good. */
  private recordOffline(at: number): void {
    // Started inside a promise: a store that throws at once must not escape into the socket's close handler.
    Promise.resolve()
      .then(() => this.deps.store.endAgentSession(this.agentId, this.sessionId, at))
      .then(() => {
        // A new connection that took over meanwhile has announced the agent online: that stays the last word.
        if (!this.deps.isConnected(this.agentId)) this.deps.bus.publish({ type: "agent.offline", tenant_id: this.tenantId, agent_id: this.agentId, at });
      })
      .catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, "could not record agent offline; trying again");
        // Retried even once a newer connection is up: the write only ends this session, and a
        // newer one that failed to record itself would otherwise leave this one online for good.
        setTimeout(() => this.recordOffline(at), OFFLINE_RETRY_MS).unref();
      });
  }
}
