import { z } from "zod";
import { errorBodySchema } from "../errors.js";
import { commandIdSchema, commandOutcomeSchema, epochMsSchema } from "./common.js";

/** Messages the agent sends. Each entry is the payload schema of one frame type. */
export const AGENT_TO_SERVER = {
  /** First frame after the upgrade; nothing else is accepted before it. */
  hello: z.object({
    agent_id: z.string().uuid(),
    protocol_versions: z.array(z.number().int().positive()).min(1).max(16),
    agent_version: z.string().max(64),
    hostname: z.string().max(255),
    platform: z.string().max(32),
    arch: z.string().max(32),
    capabilities: z.array(z.string().max(64)).max(64),
    max_in_flight: z.number().int().min(1).max(10_000),
    started_at: epochMsSchema,
  }),
  /** The command is journaled and has started (or is already running / finished: see command.result). */
  "command.accepted": z.object({ id: commandIdSchema }),
  "command.progress": z.object({
    id: commandIdSchema,
    message: z.string().max(2_000),
    percent: z.number().min(0).max(100).optional(),
  }),
  /** Final outcome; repeated until the server acknowledges it with command.result.ack. */
  "command.result": commandOutcomeSchema,
  /** The storage policy version the agent now follows. */
  "policy.applied": z.object({ version: z.number().int() }),
  /** Inventory snapshot of the agent's targets; sent only while the tenant's policy is "cloud". */
  inventory: z.object({
    collected_at: epochMsSchema,
    items: z.array(z.object({ kind: z.string().max(64), target: z.string().max(64), key: z.string().max(256), data: z.record(z.string(), z.unknown()) })).max(20_000),
  }),
  /** Aggregates only (counts, health), for "local" tenants with sync enabled. */
  telemetry: z.object({ collected_at: epochMsSchema, counts: z.record(z.string(), z.number()), healthy_targets: z.number().int(), unhealthy_targets: z.number().int() }),
  /** Answer to a `request` from the control plane. */
  response: z.object({ request_id: z.string().max(64), ok: z.boolean(), data: z.unknown().optional(), error: errorBodySchema.optional() }),
  /** Something changed on a target (SyncThing folder state, device connected…); relayed to SSE. */
  event: z.object({
    source: z.enum(["syncthing", "proxmox"]),
    target: z.string().max(64),
    type: z.string().max(100),
    time: z.string().max(64),
    data: z.record(z.string(), z.unknown()),
  }),
};

export type AgentToServerType = keyof typeof AGENT_TO_SERVER;
export type AgentToServer<T extends AgentToServerType = AgentToServerType> = {
  [K in T]: { type: K; payload: z.infer<(typeof AGENT_TO_SERVER)[K]> };
}[T];
