import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, type ApiClient } from "./api.js";
import { run, startChild, type Child } from "./child.js";
import { AGENT_CLI, CP_CLI } from "./paths.js";
import { freePort } from "./ports.js";
import { startPostgres } from "./postgres.js";
import { startPostgrest, type Postgrest } from "./postgrest.js";

const baseEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS });

export interface TenantHandle {
  tenantId: string;
  keys: { admin: string; operator: string; viewer: string };
  /** Client with the admin key. */
  api: ApiClient;
  as(role: "admin" | "operator" | "viewer"): ApiClient;
}

export interface ControlPlaneHandle {
  url: string;
  port: number;
  dataDir: string;
  child: Child;
  env: Record<string, string | undefined>;
  cli(args: string[]): Promise<{ code: number | null; stdout: string; output: string }>;
  tenant(name?: string): Promise<TenantHandle>;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL: nothing gets to clean up. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let testSupabase: Promise<Postgrest> | undefined;

/**
 * A throwaway PostgreSQL 15 with the migrations and the real PostgREST behind /rest/v1, started
 * once per test file and shared by its control planes (each works in tenants of its own).
 */
export function sharedSupabase(): Promise<Postgrest> {
  testSupabase ??= startPostgres().then(startPostgrest);
  return testSupabase;
}

/** Store settings for a control plane: DATA_BACKEND=supabase when the test run asks for it (BOTMOX_TEST_DATA_BACKEND). */
async function backendEnv(env: Record<string, string>): Promise<Record<string, string>> {
  const backend = env.DATA_BACKEND ?? process.env.BOTMOX_TEST_DATA_BACKEND ?? "sqlite";
  if (backend !== "supabase" || env.SUPABASE_URL) return { DATA_BACKEND: backend };
  const rest = await sharedSupabase();
  return { DATA_BACKEND: "supabase", SUPABASE_URL: rest.url, SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey };
}

export async function startControlPlane(env: Record<string, string> = {}): Promise<ControlPlaneHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), "botmox-cp-"));
  const port = await freePort();
  const fullEnv = { ...baseEnv(), PORT: String(port), HOST: "127.0.0.1", BOTMOX_DATA_DIR: dataDir, LOG_LEVEL: "debug", ...(await backendEnv(env)), ...env };
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    // BOTMOX_CP_PROFILE_DIR=dir: CPU profile of the control plane, written on a graceful stop.
    const profile = process.env.BOTMOX_CP_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BOTMOX_CP_PROFILE_DIR}`] : [];
    const child = startChild(process.execPath, [...profile, CP_CLI, "serve"], fullEnv);
    await child.waitForLog((line) => line.msg === "control plane listening");
    return child;
  };
  const handle: ControlPlaneHandle = {
    url,
    port,
    dataDir,
    env: fullEnv,
    child: await launch(),
    cli: (args) => run(process.execPath, [CP_CLI, ...args], fullEnv),
    async tenant(name = "tenant") {
      const created = await handle.cli(["tenants", "create", "--name", name]);
      if (created.code !== 0) throw new Error(created.output);
      const tenantId = (JSON.parse(created.stdout) as { tenant_id: string }).tenant_id;
      const key = async (role: string) => {
        const result = await handle.cli(["api-keys", "create", "--tenant", tenantId, "--role", role]);
        if (result.code !== 0) throw new Error(result.output);
        return (JSON.parse(result.stdout) as { api_key: string }).api_key;
      };
      const keys = { admin: await key("admin"), operator: await key("operator"), viewer: await key("viewer") };
      return { tenantId, keys, api: apiClient(url, keys.admin), as: (role) => apiClient(url, keys[role]) };
    },
    async stop() {
      await handle.child.kill("SIGTERM");
    },
    async kill() {
      await handle.child.kill("SIGKILL");
    },
    async restart() {
      handle.child = await launch();
    },
    async [Symbol.asyncDispose]() {
      await handle.child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

export interface AgentHandle {
  home: string;
  agentId: string;
  env: Record<string, string | undefined>;
  child: Child | undefined;
  cli(args: string[], extraEnv?: Record<string, string>, stdin?: string): Promise<{ code: number | null; stdout: string; output: string }>;
  /** Starts `botmox-agent run` and waits until it is connected. */
  start(extraEnv?: Record<string, string>, options?: { waitConnected?: boolean }): Promise<Child>;
  /** Every log line of every run of this agent so far. */
  allLogs(): Array<Record<string, unknown>>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Pairs a new agent (file vault unless told otherwise) with a fresh pairing code of the tenant. */
export async function pairAgent(cp: ControlPlaneHandle, tenant: TenantHandle, env: Record<string, string> = {}, server = cp.url): Promise<AgentHandle> {
  const home = mkdtempSync(join(tmpdir(), "botmox-agent-"));
  const fullEnv = {
    ...baseEnv(),
    BOTMOX_AGENT_HOME: home,
    BOTMOX_VAULT: "file",
    BOTMOX_VAULT_PASSPHRASE: "test-passphrase-for-the-file-vault",
    LOG_LEVEL: "debug",
    BOTMOX_RECONNECT_BASE_MS: "100",
    BOTMOX_RECONNECT_CAP_MS: "1000",
    ...env,
  };
  const pairing = await tenant.as("operator").post("/api/v1/agents/pairings");
  if (pairing.status !== 201) throw new Error(`pairing failed: ${JSON.stringify(pairing.body)}`);
  const paired = await run(process.execPath, [AGENT_CLI, "pair", "--server", server, "--code", pairing.body.code], fullEnv);
  if (paired.code !== 0) throw new Error(`botmox-agent pair failed: ${paired.output}`);
  const agentId = (JSON.parse(paired.stdout) as { agent_id: string }).agent_id;
  const runs: Child[] = [];
  const handle: AgentHandle = {
    home,
    agentId,
    env: fullEnv,
    child: undefined,
    cli: (args, extraEnv = {}, stdin) => run(process.execPath, [AGENT_CLI, ...args], { ...fullEnv, ...extraEnv }, stdin),
    async start(extraEnv = {}, options = {}) {
      const child = startChild(process.execPath, [AGENT_CLI, "run"], { ...fullEnv, ...extraEnv });
      runs.push(child);
      handle.child = child;
      if (options.waitConnected !== false) await child.waitForLog((line) => line.msg === "connected to control plane");
      return child;
    },
    allLogs: () => runs.flatMap((child) => child.logs()),
    async [Symbol.asyncDispose]() {
      await Promise.all(runs.map((child) => child.kill("SIGKILL")));
      rmSync(home, { recursive: true, force: true });
    },
  };
  return handle;
}

/** How many times the agent started each command, from its logs (all runs). */
export function executionCounts(agent: AgentHandle): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of agent.allLogs()) {
    if (line.msg === "command started") counts.set(line.command_id as string, (counts.get(line.command_id as string) ?? 0) + 1);
  }
  return counts;
}

export type CommandReply = { id: string; status: string; result: any; error: { code: string; message: string; details?: any } | null };

/** Sends commands to the agent through the API and waits for their final state. */
export function commander(tenant: TenantHandle, agent: AgentHandle, role: "admin" | "operator" = "admin") {
  return async (name: string, params: Record<string, unknown>, waitS = 60): Promise<CommandReply> =>
    (await tenant.as(role).post(`/api/v1/agents/${agent.agentId}/commands?wait=${waitS}`, { name, params })).body;
}
