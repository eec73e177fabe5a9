import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { isFinalStatus } from "@botmox/protocol";
import type { EventBus } from "../events/bus.js";

/** One registry per server instance (tests run several in one process). */
export function createMetrics(bus: EventBus, connectedAgents: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "botmox_cp_" });
  const httpRequests = new Counter({
    name: "botmox_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "botmox_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const commandsFinished = new Counter({
    name: "botmox_commands_finished_total",
    help: "Commands that reached a final state, by the first final status (a real outcome that replaces expired is not counted again)",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const commandsSubmitted = new Counter({
    name: "botmox_commands_submitted_total",
    help: "Commands accepted by POST /api/v1/agents/:id/commands, queued or sent at once (an Idempotency-Key repeat is not counted)",
    registers: [registry],
  });
  const badFrames = new Counter({
    name: "botmox_ws_bad_frames_total",
    help: "Agent frames rejected, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const upgradesRejected = new Counter({
    name: "botmox_ws_upgrades_rejected_total",
    help: "Agent WebSocket upgrades refused, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const sseCutOff = new Counter({
    name: "botmox_sse_streams_cut_off_total",
    help: "Event streams closed because their reader fell too far behind",
    registers: [registry],
  });
  const sseOpen = new Gauge({
    name: "botmox_sse_streams_open",
    help: "Event streams being served",
    registers: [registry],
  });
  new Gauge({
    name: "botmox_agents_connected",
    help: "Agents with a live tunnel to this instance",
    registers: [registry],
    collect() {
      this.set(connectedAgents());
    },
  });
  bus.subscribeAll((event) => {
    if (event.type === "command.updated" && isFinalStatus(event.command.status) && !event.replaces) commandsFinished.inc({ status: event.command.status });
  });
  return { registry, httpRequests, httpDuration, commandsSubmitted, badFrames, upgradesRejected, sseCutOff, sseOpen };
}

export type Metrics = ReturnType<typeof createMetrics>;
