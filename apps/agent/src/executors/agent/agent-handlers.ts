import { hostname, platform, arch, uptime } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { CURRENT_PROTOCOL_VERSION } from "@botmox/protocol";
import { AGENT_VERSION } from "../../version.js";
import type { CommandHandler } from "../handler.js";

const processStartedAt = Date.now();

export function agentHandlers(capabilities: () => string[]): {
  "agent.ping": CommandHandler<"agent.ping">;
  "agent.info": CommandHandler<"agent.info">;
  "agent.echo": CommandHandler<"agent.echo">;
} {
  return {
    "agent.ping": async () => ({ pong: true, agent_time: new Date().toISOString() }),
    "agent.info": async () => ({
      version: AGENT_VERSION,
      protocol_version: CURRENT_PROTOCOL_VERSION,
      platform: platform(),
      arch: arch(),
      hostname: hostname(),
      uptime_s: Math.round((Date.now() - processStartedAt) / 1000),
      host_uptime_s: Math.round(uptime()),
      node_version: process.version,
      capabilities: capabilities(),
    }),
    "agent.echo": async (params, ctx) => {
      if (params.delay_ms > 0) await sleep(params.delay_ms, undefined, { signal: ctx.signal });
      return params.data === undefined ? {} : { data: params.data };
    },
  };
}
