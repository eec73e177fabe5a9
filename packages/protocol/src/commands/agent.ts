import { z } from "zod";
import { defineCommand } from "./define.js";

export const agentCommands = {
  "agent.ping": defineCommand({
    description: "Round trip to the agent; returns its clock.",
    params: z.object({}).strict(),
    result: z.object({ pong: z.literal(true), agent_time: z.string().describe("ISO 8601 time on the agent") }),
    defaultTimeoutMs: 10_000,
    mutating: false,
  }),
  "agent.info": defineCommand({
    description: "Version, platform and capabilities of the agent.",
    params: z.object({}).strict(),
    result: z.object({
      version: z.string(),
      protocol_version: z.number().int(),
      platform: z.string(),
      arch: z.string(),
      hostname: z.string(),
      uptime_s: z.number().describe("Seconds since the agent process started"),
      host_uptime_s: z.number(),
      node_version: z.string(),
      capabilities: z.array(z.string()),
    }),
    defaultTimeoutMs: 10_000,
    mutating: false,
  }),
  "agent.echo": defineCommand({
    description: "Returns `data` after `delay_ms`; honours cancel. Used by tests and benchmarks.",
    params: z
      .object({
        data: z.json().optional(),
        delay_ms: z.number().int().min(0).max(3_600_000).default(0),
      })
      .strict(),
    result: z.object({ data: z.json().optional() }),
    defaultTimeoutMs: 60_000,
    mutating: false,
  }),
};
