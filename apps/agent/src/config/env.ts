import { MAX_TIMER_MS } from "@botmox/protocol";
import { z } from "zod";

/** Environment of `botmox-agent`. Parsed in main(), never at import time. */
export const agentEnvSchema = z.object({
  /** Config, journal and (file vault) directory; default: the OS's per-user location. */
  BOTMOX_AGENT_HOME: z.string().optional(),
  /** keychain (OS keychain, default) or file (AES-256-GCM file keyed by BOTMOX_VAULT_PASSPHRASE). */
  BOTMOX_VAULT: z.enum(["keychain", "file"]).default("keychain"),
  /** Passphrase of the file vault; required with BOTMOX_VAULT=file (or BOTMOX_VAULT_PASSPHRASE_FILE). */
  BOTMOX_VAULT_PASSPHRASE: z.string().optional(),
  /** File whose first line is the passphrase: what services use, so no unit file holds it. */
  BOTMOX_VAULT_PASSPHRASE_FILE: z.string().optional(),
  /** PEM file of the CA that signed the control plane's certificate (else the system store). */
  BOTMOX_CA_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Commands run at once; the control plane never sends more. */
  BOTMOX_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(32),
  /** On SIGTERM, how long running commands may finish before they are aborted. */
  BOTMOX_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Reconnect backoff: first ceiling and cap (full jitter between 0 and the ceiling). */
  BOTMOX_RECONNECT_BASE_MS: z.coerce.number().int().min(10).max(MAX_TIMER_MS).default(500),
  BOTMOX_RECONNECT_CAP_MS: z.coerce.number().int().min(100).max(MAX_TIMER_MS).default(30_000),
  /** How often the inventory of the targets is refreshed (and after each change). */
  BOTMOX_INVENTORY_INTERVAL_MS: z.coerce.number().int().min(500).max(MAX_TIMER_MS).default(60_000),
  /**
   * A result the control plane has not acknowledged this long after it was sent (its store was
   * unreachable, say) is sent again while connected; repeats are harmless.
   */
  BOTMOX_RESULT_RESEND_MS: z.coerce.number().int().min(100).max(MAX_TIMER_MS).default(15_000),
  /** How long acknowledged results stay in the local journal. */
  BOTMOX_JOURNAL_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /**
   * Exit code of `run` when the control plane refuses the agent for good (revoked, say). A service
   * manager that restarts every non-zero exit (launchd's KeepAlive) is given 0, so it lets it be.
   */
  BOTMOX_REFUSED_EXIT_CODE: z.coerce.number().int().min(0).max(255).default(3),
}).superRefine((env, ctx) => {
  if (env.BOTMOX_VAULT === "file" && !env.BOTMOX_VAULT_PASSPHRASE && !env.BOTMOX_VAULT_PASSPHRASE_FILE) {
    ctx.addIssue({ code: "custom", path: ["BOTMOX_VAULT_PASSPHRASE"], message: "is required when BOTMOX_VAULT=file (or set BOTMOX_VAULT_PASSPHRASE_FILE)" });
  }
});

export type AgentEnv = z.infer<typeof agentEnvSchema>;

export function parseAgentEnv(env: Record<string, string | undefined>): AgentEnv {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = agentEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new Error(`Invalid environment:\n${parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n")}`);
  }
  return parsed.data;
}
