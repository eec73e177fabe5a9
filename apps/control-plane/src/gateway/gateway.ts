import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { CLOSE_CODES, MAX_FRAME_BYTES, WS_PATH, type StoragePolicy } from "@botmox/protocol";
import { ApiError, toApiError } from "../errors/api-error.js";
import type { CommandLifecycle } from "../commands/command-lifecycle.js";
import type { Dispatcher } from "../commands/dispatcher.js";
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/types.js";
import { AgentSession } from "./agent-session.js";
import { UpgradeAuthenticator } from "./upgrade-auth.js";

export interface GatewayOptions {
  store: Store;
  lifecycle: CommandLifecycle;
  bus: EventBus;
  log: Logger;
  metrics: Metrics;
  heartbeatMs: number;
  instanceId: string;
  /** Upgrades being authenticated at once beyond which new ones get 503 + Retry-After. */
  maxPendingHandshakes: number;
}

/** The agents' WebSocket endpoint: signed upgrades, one live session per agent, heartbeats, drain. */
export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly sessions = new Map<string, AgentSession>();
  /** Upgraded but not registered yet (no hello): a revoke must reach these too. */
  private readonly arriving = new Set<AgentSession>();
  private readonly auth: UpgradeAuthenticator;
  private pendingHandshakes = 0;
  private draining = false;
  /** Agents are let in once the server has cleared what its previous run left behind (see open()). */
  private opened = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: GatewayOptions) {
    this.auth = new UpgradeAuthenticator(options.store);
  }

  get connectedCount(): number {
    return this.sessions.size;
  }

  isConnected(agentId: string): boolean {
    return this.sessions.get(agentId)?.isReady ?? false;
  }

  /** From now on agents may connect. */
  open(): void {
    this.opened = true;
  }

  attach(server: Server): void {
    server.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** The gateway as the command service sees it. */
  readonly dispatcher: Dispatcher = {
    liveTenant: (agentId) => {
      const session = this.sessions.get(agentId);
      return session?.isReady ? session.tenantId : undefined;
    },
    reserve: (agentId) => this.sessions.get(agentId)?.reserve(),
    queued: (agentId) => this.sessions.get(agentId)?.kick(),
    cancel: (agentId, commandId) => this.sessions.get(agentId)?.requestCancel(commandId) ?? false,
  };

  /** Sends a tenant's new storage policy to each of its connected agents. */
  pushPolicy(tenantId: string, policy: StoragePolicy): void {
    for (const session of this.sessions.values()) if (session.tenantId === tenantId && session.isReady) session.applyPolicy(policy);
  }

  /** Data only the agent holds ("local" tenants); AGENT_OFFLINE (503) when it is not connected here. */
  requestFromAgent(agentId: string, kind: "command.result" | "inventory", commandId?: string): Promise<unknown> {
    const session = this.sessions.get(agentId);
    if (!session?.isReady) return Promise.reject(new ApiError("AGENT_OFFLINE", "The agent is offline; its locally kept data cannot be fetched now"));
    return session.request(kind, commandId);
  }

  /** When a connected agent was last heard from (a pong or a frame); undefined when it has no live session here. */
  lastHeardFrom(agentId: string): number | undefined {
    const session = this.sessions.get(agentId);
    return session?.isReady ? session.lastHeardAt : undefined;
  }

  /** Closes every connection of the agent, also one still before its hello. */
  disconnect(agentId: string, code: number, reason: string): void {
    this.sessions.get(agentId)?.close(code, reason);
    for (const session of this.arriving) if (session.agentId === agentId) session.close(code, reason);
  }

  /** Closes every tunnel with "try again later", each agent told a different delay so they do not all return at once. */
  async drain(spreadMs = 5_000): Promise<void> {
    this.draining = true;
    clearInterval(this.heartbeat);
    for (const session of this.sessions.values()) {
      const retryAfterMs = 1_000 + Math.floor(Math.random() * spreadMs);
      session.close(CLOSE_CODES.TRY_AGAIN_LATER.code, JSON.stringify({ retry_after_ms: retryAfterMs }));
    }
    // Give the close frames a moment to leave, then drop whatever is left.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private beat(): void {
    for (const session of this.sessions.values()) {
      if (!session.alive) {
        this.options.log.warn({ agent_id: session.agentId }, "agent missed heartbeat; terminating tunnel");
        session.terminate();
        continue;
      }
      session.ping();
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node stops watching a socket for errors once it is handed over for an upgrade: a client that
    // resets the connection while it is checked or refused would otherwise crash the process.
    const onSocketError = (err: Error) => {
      this.options.log.debug({ err: err.message }, "agent connection failed during the upgrade");
      socket.destroy();
    };
    socket.on("error", onSocketError);
    const refused = (error: ApiError) => {
      this.options.metrics.upgradesRejected.inc({ code: error.code });
      refuse(socket, error);
    };
    const path = (req.url ?? "").split("?", 1)[0];
    if (path !== WS_PATH) return refused(new ApiError("NOT_FOUND", `No WebSocket endpoint at ${path}`));
    // Starting, draining or busy: agents come back spread over 1-10 s, not all at once.
    if (!this.opened || this.draining || this.pendingHandshakes >= this.options.maxPendingHandshakes) {
      const retryAfterS = 1 + Math.floor(Math.random() * 10);
      const why = this.opened ? "Server is busy; retry later" : "Server is starting; retry shortly";
      return refused(new ApiError("OVERLOADED", why, { retry_after_ms: retryAfterS * 1000 }, { "Retry-After": String(retryAfterS) }));
    }
    this.pendingHandshakes++;
    this.auth
      .authenticate(req)
      .then((agent) => {
        if (socket.destroyed) return;
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off("error", onSocketError); // the WebSocket handles its socket's errors from here on
          const session = new AgentSession(ws, agent, {
            store: this.options.store,
            lifecycle: this.options.lifecycle,
            bus: this.options.bus,
            log: this.options.log,
            metrics: this.options.metrics,
            heartbeatMs: this.options.heartbeatMs,
            instanceId: this.options.instanceId,
            register: (session) => this.register(session),
            unregister: (session) => this.unregister(session),
            isConnected: (agentId) => this.sessions.has(agentId),
          });
          this.arriving.add(session);
        });
      })
      .catch((err: unknown) => {
        const error = toApiError(err);
        this.options.log.warn({ code: error.code, reason: error.message }, "agent upgrade refused");
        refused(error);
      })
      .finally(() => this.pendingHandshakes--);
  }

  private register(session: AgentSession): boolean {
    this.arriving.delete(session);
    if (this.draining) {
      const retryAfterMs = 1_000 + Math.floor(Math.random() * 5_000);
      session.close(CLOSE_CODES.TRY_AGAIN_LATER.code, JSON.stringify({ retry_after_ms: retryAfterMs }));
      return false;
    }
    const previous = this.sessions.get(session.agentId);
    this.sessions.set(session.agentId, session);
    if (previous) session.takeOverFrom(previous);
    previous?.close(CLOSE_CODES.SESSION_REPLACED.code, "a newer connection of this agent took over");
    return true;
  }

  private unregister(session: AgentSession): boolean {
    this.arriving.delete(session);
    if (this.sessions.get(session.agentId) !== session) return false;
    this.sessions.delete(session.agentId);
    return true;
  }
}

function refuse(socket: Duplex, error: ApiError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(error.toBody());
  const headers = { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), Connection: "close", ...error.headers };
  const head = Object.entries(headers).map(([key, value]) => `${key}: ${value}`).join("\r\n");
  socket.end(`HTTP/1.1 ${error.status} ${statusText(error.status)}\r\n${head}\r\n\r\n${body}`);
}

function statusText(status: number): string {
  return ({ 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" } as Record<number, string>)[status] ?? "Error";
}
