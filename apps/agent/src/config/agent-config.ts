import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/** config.json in the agent home: where to connect and who we are. Holds no secret. */
export const agentConfigSchema = z.object({
  /** Random per-installation id; namespaces this agent's entries in the OS keychain. */
  instance_id: z.uuid(),
  server: z.url().optional(),
  agent_id: z.uuid().optional(),
  tenant_id: z.uuid().optional(),
  /** PEM file of a custom CA for the control plane's TLS certificate. */
  ca_file: z.string().optional(),
  paired_at: z.string().optional(),
  targets: z.record(z.string(), z.unknown()).default({}),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/**
 * The CA file for the control plane's certificate: BOTMOX_CA_FILE (empty means unset, as in the
 * env schema), else the one saved at pairing. Reads the raw variable, so doctor can honour it
 * even when another variable makes the environment invalid.
 */
export function controlPlaneCaFile(env: { BOTMOX_CA_FILE?: string | undefined }, config: AgentConfig): string | undefined {
  return env.BOTMOX_CA_FILE || config.ca_file;
}

export function configPath(home: string): string {
  return join(home, "config.json");
}

export function loadAgentConfig(home: string): AgentConfig {
  let raw: string;
  try {
    raw = readFileSync(configPath(home), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { instance_id: randomUUID(), targets: {} };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${configPath(home)} is not valid JSON (${(err as Error).message}); fix it, or remove it and pair again`);
  }
  const parsed = agentConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${configPath(home)} is not a valid agent config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

/** Atomic replace, owner-only permissions. */
export function saveAgentConfig(home: string, config: AgentConfig): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const tmp = `${configPath(home)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, configPath(home));
}

export interface PairedConfig extends AgentConfig {
  server: string;
  agent_id: string;
  tenant_id: string;
}

export function requirePaired(config: AgentConfig, home: string): PairedConfig {
  if (!config.server || !config.agent_id || !config.tenant_id) {
    throw new Error(`This agent is not paired (no server/agent id in ${configPath(home)}). Run: botmox-agent pair --server URL --code CODE`);
  }
  return config as PairedConfig;
}
