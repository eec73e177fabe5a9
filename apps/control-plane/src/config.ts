import { hostname } from "node:os";
import { resolve } from "node:path";
import { DEFAULT_HEARTBEAT_MS } from "@botmox/protocol";
import { MAX_PAIRING_TTL_MS } from "./auth/pairing.js";
import { z } from "zod";

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Environment of `botmox-cp serve`. Parsed in main(), never at import time. */
export const configSchema = z
  .object({
    /** TCP port of the HTTP API and the agent gateway. */
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** Interface to bind; 0.0.0.0 to accept connections from other machines. */
    HOST: z.string().min(1).default("127.0.0.1"),
    /** Where the embedded store keeps its SQLite file. */
    BOTMOX_DATA_DIR: z.string().min(1).default("./.botmox/control-plane"),
    /** Storage backend: embedded SQLite (default) or Supabase. */
    DATA_BACKEND: z.enum(["sqlite", "supabase"]).default("sqlite"),
    /**
     * Names this server in the store as the one holding an agent's session, so that at start it
     * marks offline only the agents it left online. Keep it stable across restarts; default host:PORT.
     */
    BOTMOX_INSTANCE_ID: z.string().min(1).max(200).optional(),
    /** pino level. */
    LOG_LEVEL: logLevel.default("info"),
    /** Base URL agents and operators use to reach this server; put into pairing URIs. Derived from the request when unset. */
    PUBLIC_URL: z.url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" }).optional(),
    /** WebSocket ping interval; an agent silent for two intervals is dropped. */
    HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_HEARTBEAT_MS),
    /** Lifetime of a pairing code. */
    PAIRING_TTL_MS: z.coerce.number().int().min(1_000).max(MAX_PAIRING_TTL_MS).default(15 * 60_000),
    /** Agent upgrades authenticated at once before new ones are told to retry later. */
    MAX_PENDING_HANDSHAKES: z.coerce.number().int().min(1).default(256),
    /** Event streams send a keep-alive this often (below any proxy's idle timeout) and check the reader's credentials again. */
    SSE_KEEPALIVE_MS: z.coerce.number().int().min(1_000).max(300_000).default(15_000),
    /** How long a connection may stay silent before its request (or upgrade) is complete. */
    HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
    /** Supabase project URL (DATA_BACKEND=supabase). */
    SUPABASE_URL: z.url().optional(),
    /** Supabase service-role key (DATA_BACKEND=supabase). Never logged. */
    SUPABASE_SERVICE_ROLE_KEY: z.string().min(20).optional(),
    /** Operators may sign in with a Supabase Auth JWT: the project's HS256 JWT secret... */
    SUPABASE_JWT_SECRET: z.string().min(32, "SUPABASE_JWT_SECRET must be at least 32 characters (the project's JWT secret)").optional(),
    /** ...or its JWKS endpoint (asymmetric signing keys), e.g. https://PROJECT.supabase.co/auth/v1/.well-known/jwks.json. */
    SUPABASE_JWKS_URL: z.url().optional(),
    /** The `aud` operator JWTs must carry. */
    SUPABASE_JWT_AUDIENCE: z.string().min(1).default("authenticated"),
  })
  .superRefine((config, ctx) => {
    if (config.SUPABASE_JWT_SECRET && config.SUPABASE_JWKS_URL) {
      ctx.addIssue({ code: "custom", path: ["SUPABASE_JWKS_URL"], message: "set SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL, not both" });
    }
    if (config.DATA_BACKEND !== "supabase") return;
    for (const key of ["SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"] as const) {
      if (!config[key]) ctx.addIssue({ code: "custom", path: [key], message: `${key} is required when DATA_BACKEND=supabase` });
    }
    const keyProblem = config.SUPABASE_SERVICE_ROLE_KEY && serviceRoleKeyProblem(config.SUPABASE_SERVICE_ROLE_KEY);
    if (keyProblem) ctx.addIssue({ code: "custom", path: ["SUPABASE_SERVICE_ROLE_KEY"], message: keyProblem });
  });

/** Why a value cannot be a Supabase service-role key (a JWT with role service_role, or an sb_secret_ key), if it cannot. */
function serviceRoleKeyProblem(key: string): string | undefined {
  if (key.startsWith("sb_secret_")) return undefined;
  const parts = key.split(".");
  if (parts.length !== 3) return "must be the project's service_role JWT (three dot-separated parts) or an sb_secret_ key";
  let role: unknown;
  try {
    role = (JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { role?: unknown }).role;
  } catch {
    return "is not a readable JWT (its payload is not base64url JSON)";
  }
  return role === "service_role" ? undefined : `is a JWT for role ${JSON.stringify(role ?? null)}, not service_role (the anon key cannot run the control plane)`;
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export function instanceId(config: Pick<Config, "BOTMOX_INSTANCE_ID" | "PORT">): string {
  return config.BOTMOX_INSTANCE_ID ?? `${hostname()}:${config.PORT}`;
}

export function sqliteFile(config: Pick<Config, "BOTMOX_DATA_DIR">): string {
  return resolve(config.BOTMOX_DATA_DIR, "control-plane.db");
}
