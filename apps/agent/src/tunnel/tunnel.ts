import type { KeyObject } from "node:crypto";
import { hostname, platform, arch } from "node:os";
import WebSocket from "ws";
import { dialControlPlane, readRefusal } from "./dial.js";
import type { z } from "zod";
import {
  AGENT_TO_SERVER,
  CLOSE_CODES,
  MAX_FRAME_BYTES,
  bytesOverLimit,
  PROTOCOL_VERSIONS,
  SERVER_TO_AGENT,
  closeCodeName,
  decodeFrame,
  encodeFrame,
  type AgentToServerType,
  type ServerToAgent,
} from "@botmox/protocol";
import type { Logger } from "pino";
import { AGENT_VERSION } from "../version.js";
import { fullJitterDelay, retryAfterFromReason } from "./backoff.js";
import type { SecretGuard } from "./secret-guard.js";

/** When this process started: the same in every hello it sends, so the control plane tells a reconnect from another process of the agent. */
const PROCESS_STARTED_AT = Math.round(performance.timeOrigin);

/** How long after the upgrade the control plane has to answer hello (it allows 10 s for hello itself). */
const WELCOME_TIMEOUT_MS = 15_000;
export interface TunnelOptions {
  server: string;
  agentId: string;
  privateKey: KeyObject;
  capabilities: string[];
  maxInFlight: number;
  caPem?: string;
  log: Logger;
  guard: SecretGuard;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** How long the answer to a refused upgrade is read before the next attempt (default 10 s). */
  refusalReadMs?: number;
  onMessage(message: ServerToAgent): void;
  onConnected(welcome: ServerToAgent<"welcome">["payload"]): void;
  onDisconnected(): void;
  /** The server refused us for good (revoked, protocol mismatch): the agent must stop. */
  onFatal(reason: string): void;
}

type Outcome = { reconnect: false; reason: string } | { reconnect: true; retryAfterMs?: number };

/** Outbound-only WebSocket to the control plane with a reconnect loop owning every retry decision. */
export class Tunnel {
  private ws: WebSocket | undefined;
  private ready = false;
  private stopped = false;
  private attempt = 0;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;

  constructor(private readonly options: TunnelOptions) {}

  /** Welcomed and open: once a close has begun, frames can no longer be sent. */
  get connected(): boolean {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(CLOSE_CODES.NORMAL.code, "agent stopping");
    await this.loopDone;
  }

  /** Sends a frame; false (and logged) when not connected, or when it cannot be serialised, is too large or would leak a secret. */
  send<T extends AgentToServerType>(type: T, payload: z.input<(typeof AGENT_TO_SERVER)[T]>): boolean {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    let frame: string;
    try {
      frame = encodeFrame(AGENT_TO_SERVER, type, payload);
    } catch (err) {
      // Data from a target nested too deep to serialise: refused like an oversized frame, never thrown at the caller.
      this.options.log.error({ type, err: (err as Error).message }, "refused to send a frame that cannot be serialised");
      return false;
    }
    // The control plane closes the tunnel on an oversized frame: never send one.
    const bytes = bytesOverLimit(frame, MAX_FRAME_BYTES);
    if (bytes) {
      this.options.log.error({ type, bytes, max_bytes: MAX_FRAME_BYTES }, "refused to send a frame over the size limit");
      return false;
    }
    if (this.options.guard.leakIn(frame)) {
      this.options.log.error({ type }, "refused to send a frame containing a vault secret");
      return false;
    }
    this.ws.send(frame);
    return true;
  }

  private async loop(): Promise<void> {
    const base = this.options.backoffBaseMs ?? 500;
    const cap = this.options.backoffCapMs ?? 30_000;
    while (!this.stopped) {
      const outcome = await this.connectOnce();
      if (this.stopped) break;
      if (!outcome.reconnect) {
        this.options.onFatal(outcome.reason);
        break;
      }
      const delay = outcome.retryAfterMs ?? fullJitterDelay(this.attempt++, base, cap);
      this.options.log.info({ delay_ms: delay, attempt: this.attempt }, "reconnecting");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private connectOnce(): Promise<Outcome> {
    const { ws, proxy } = dialControlPlane(this.options);
    if (proxy && this.attempt === 0) this.options.log.info({ proxy }, "connecting to the control plane through a proxy");
    this.ws = ws;
    let heartbeat: NodeJS.Timeout | undefined;
    let alive = true;
    let welcomeTimer: NodeJS.Timeout | undefined;

    return new Promise<Outcome>((resolve) => {
      let outcome: Outcome = { reconnect: true };
      ws.on("unexpected-response", (_req, res) => {
        void readRefusal(res, this.options.refusalReadMs).then(({ status, body, error, retryAfterS }) => {
          this.options.log.warn({ status, body: body.slice(0, 500) }, "control plane refused the connection");
          // Only the control plane's own refusal is final: a proxy that denies CONNECT also answers 403.
          if (status === 403 && error?.code === "AGENT_REVOKED") outcome = { reconnect: false, reason: `refused with 403: ${body.slice(0, 300)}` };
          else if (status === 503 && Number.isFinite(retryAfterS)) outcome = { reconnect: true, retryAfterMs: retryAfterS * 1000 };
          ws.terminate();
        });
      });
      ws.on("open", () => {
        // A connection that goes dead before welcome (say a NAT drops it) gives no close: give up on it.
        welcomeTimer = setTimeout(() => {
          this.options.log.warn({ timeout_ms: WELCOME_TIMEOUT_MS }, "no welcome from the control plane; reconnecting");
          ws.terminate();
        }, WELCOME_TIMEOUT_MS);
        this.send0("hello", {
          agent_id: this.options.agentId,
          protocol_versions: [...PROTOCOL_VERSIONS],
          agent_version: AGENT_VERSION,
          hostname: hostname(),
          platform: platform(),
          arch: arch(),
          capabilities: this.options.capabilities,
          max_in_flight: this.options.maxInFlight,
          started_at: PROCESS_STARTED_AT,
        });
      });
      ws.on("message", (data: Buffer) => {
        const decoded = decodeFrame(SERVER_TO_AGENT, data.toString("utf8"));
        if (!decoded.ok) {
          this.options.log.warn({ error: decoded.error }, "ignored a bad frame from the control plane");
          return;
        }
        const message = decoded.message as ServerToAgent;
        if (message.type === "welcome") {
          clearTimeout(welcomeTimer);
          clearInterval(heartbeat); // a repeated welcome restarts the heartbeat, it does not add one
          this.ready = true;
          this.attempt = 0;
          heartbeat = setInterval(() => {
            if (!alive) {
              this.options.log.warn("control plane missed heartbeat; reconnecting");
              return ws.terminate();
            }
            alive = false;
            ws.ping();
          }, message.payload.heartbeat_ms);
          this.options.log.info({ session_id: message.payload.session_id, skew_ms: Date.now() - message.payload.server_time }, "connected to control plane");
          this.guarded("welcome", () => this.options.onConnected(message.payload));
          return;
        }
        try {
          this.options.onMessage(message);
        } catch (err) {
          // A local failure (the journal's disk, say) must not take the tunnel down; the control plane redelivers.
          this.options.log.error({ err, type: message.type }, "could not handle a frame from the control plane");
        }
      });
      ws.on("pong", () => (alive = true));
      ws.on("ping", () => (alive = true));
      ws.on("error", (err) => this.options.log.warn({ err: err.message }, "tunnel error"));
      ws.on("close", (code, reasonBuffer) => {
        clearInterval(heartbeat);
        clearTimeout(welcomeTimer);
        const wasReady = this.ready;
        this.ready = false;
        const reason = reasonBuffer.toString("utf8");
        if (wasReady) {
          this.options.log.info({ code, code_name: closeCodeName(code), reason }, "disconnected from control plane");
          this.guarded("disconnect", () => this.options.onDisconnected());
        }
        const known = Object.values(CLOSE_CODES).find((entry) => entry.code === code);
        if (known && !known.reconnect) outcome = { reconnect: false, reason: `${closeCodeName(code)}: ${reason || known.meaning}` };
        else if (code === CLOSE_CODES.TRY_AGAIN_LATER.code) {
          const retryAfterMs = retryAfterFromReason(reason);
          outcome = retryAfterMs === undefined ? { reconnect: true } : { reconnect: true, retryAfterMs };
        }
        resolve(outcome);
      });
    });
  }

  /** Runs a local reaction to the tunnel's state; its failure (a full disk, say) is logged, never fatal. */
  private guarded(what: string, reaction: () => void): void {
    try {
      reaction();
    } catch (err) {
      this.options.log.error({ err }, `could not handle the ${what} locally`);
    }
  }

  /** Sends before `welcome` (only hello). */
  private send0<T extends AgentToServerType>(type: T, payload: z.input<(typeof AGENT_TO_SERVER)[T]>): void {
    this.ws?.send(encodeFrame(AGENT_TO_SERVER, type, payload));
  }
}
