import type { SupabaseClient } from "@supabase/supabase-js";
import { DEFAULT_STORAGE_POLICY, isUuid, type CommandStatus, type StoragePolicy } from "@botmox/protocol";
import type {
  AgentRecord,
  AgentSessionPatch,
  ApiKeyRecord,
  AuditEntry,
  CommandPatch,
  CommandRecord,
  InventoryItem,
  Millis,
  NewAuditEntry,
  NewCommand,
  PurgeCounts,
  Role,
  Store,
  Tenant,
  TransitionInput,
} from "../types.js";
import { createServiceClient } from "./client.js";
import { fromPostgrest, isUnavailable, type PostgrestFailure } from "./errors.js";
import { agentFromRow, apiKeyFromRow, auditFromRow, commandFromRow, iso, policyFromRow, tenantFromRow, type Row } from "./rows.js";
import { probeSupabase } from "./probe.js";
import { API_KEY_COLUMNS } from "../row-mappers.js";

type Answer<T> = { data: T | null; error: PostgrestFailure["error"] | null; status: number };
type Retryable<T> = { retry(enabled: boolean): PromiseLike<Answer<T>> };

const HEALTH_TIMEOUT_MS = 3_000;
/** Rows asked for per page of a listing (at most PostgREST's max_rows, or pages come back short). */
const PAGE_ROWS = 1_000;
/** Commands one expiry sweep call ends; well under max_rows, so its answer is never cut short. */
const EXPIRE_BATCH = 500;
const SESSION_TIMES = new Set(["last_seen_at", "connected_at"]);

/**
 * The store on Supabase: tables read through PostgREST, every atomic write one SQL function
 * (supabase/migrations) called with rpc(). One long-lived service-role client, no auth session.
 * Ids from URLs are checked first: PostgreSQL refuses a malformed uuid where SQLite finds nothing.
 */
export class SupabaseStore implements Store {
  readonly kind = "supabase" as const;

  private constructor(private readonly db: SupabaseClient) {}

  /** Checks the settings against the running Supabase; throws a clear error when they cannot work. */
  static async connect(options: { url: string; serviceRoleKey: string; log?: { warn(details: object, message: string): void } }): Promise<SupabaseStore> {
    const db = createServiceClient(options.url, options.serviceRoleKey);
    await probeSupabase(db, options);
    return new SupabaseStore(db);
  }

  /**
   * Awaits a supabase-js call and returns its data, or throws the error the API should answer with.
   * supabase-js's own retries (up to 7 s of backoff on a network error) are off: an unreachable
   * Supabase must turn into a prompt 503 with Retry-After, and the callers own their retries.
   */
  private async run<T>(operation: string, call: Retryable<T>): Promise<T> {
    const answer = await call.retry(false);
    if (answer.error) throw fromPostgrest(operation, { error: answer.error, status: answer.status });
    return answer.data as T;
  }

  /**
   * Every row of a listing. PostgREST cuts each answer at its max_rows (1,000 on Supabase), so it is
   * read page by page until a page comes back empty (a page may be shorter than asked for).
   */
  private async allRows(operation: string, page: (from: number, to: number) => Retryable<Row[]>): Promise<Row[]> {
    const rows: Row[] = [];
    for (;;) {
      const next = await this.run<Row[]>(operation, page(rows.length, rows.length + PAGE_ROWS - 1));
      if (next.length === 0) return rows;
      rows.push(...next);
    }
  }

  async health(): Promise<{ ok: true } | { ok: false; message: string }> {
    const answer = await this.db.from("tenants").select("id", { head: true }).limit(1).abortSignal(AbortSignal.timeout(HEALTH_TIMEOUT_MS)).retry(false);
    if (!answer.error) return { ok: true };
    const failure = { error: answer.error, status: answer.status };
    return { ok: false, message: isUnavailable(failure) ? `Supabase cannot be reached: ${answer.error.message}` : answer.error.message };
  }

  /** Each call settles once PostgREST has committed it. */
  committed(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.db.removeAllChannels();
  }

  async createTenant(name: string): Promise<Tenant> {
    return tenantFromRow(await this.run<Row>("create_tenant", this.db.rpc("create_tenant", { p_name: name })));
  }

  async getTenant(id: string): Promise<Tenant | null> {
    if (!isUuid(id)) return null;
    const row = await this.run<Row | null>("getTenant", this.db.from("tenants").select("*").eq("id", id).maybeSingle());
    return row ? tenantFromRow(row) : null;
  }

  async createApiKey(input: { tenant_id: string; role: Role; key_hash: string; key_prefix: string; actor?: string }): Promise<ApiKeyRecord> {
    const row = await this.run<Row>(
      "create_api_key",
      this.db.rpc("create_api_key", { p_tenant_id: input.tenant_id, p_role: input.role, p_key_hash: input.key_hash, p_key_prefix: input.key_prefix, p_actor: input.actor ?? "system" }),
    );
    return apiKeyFromRow(row);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    if (!isUuid(tenantId)) return [];
    const rows = await this.run<Row[]>("listApiKeys", this.db.from("api_keys").select(API_KEY_COLUMNS).eq("tenant_id", tenantId).order("created_at").order("id"));
    return rows.map(apiKeyFromRow);
  }

  async revokeApiKey(input: { tenant_id: string; id: string; actor: string; now: Millis }): Promise<ApiKeyRecord | null> {
    if (!isUuid(input.tenant_id) || !isUuid(input.id)) return null;
    const row = await this.run<Row | null>("revoke_api_key", this.db.rpc("revoke_api_key", { p_tenant_id: input.tenant_id, p_id: input.id, p_actor: input.actor, p_now: iso(input.now) }));
    return row ? apiKeyFromRow(row) : null;
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = await this.run<Row | null>("findApiKeyByHash", this.db.from("api_keys").select(API_KEY_COLUMNS).eq("key_hash", keyHash).maybeSingle());
    return row ? apiKeyFromRow(row) : null;
  }

  async createPairing(input: { tenant_id: string; code_hash: string; expires_at: Millis; created_by: string }): Promise<void> {
    await this.run("create_pairing", this.db.rpc("create_pairing", { p_tenant_id: input.tenant_id, p_code_hash: input.code_hash, p_expires_at: iso(input.expires_at), p_created_by: input.created_by }));
  }

  async registerAgent(input: { code_hash: string; public_key: string; hostname: string | null; now: Millis }): Promise<{ agent_id: string; tenant_id: string }> {
    const rows = await this.run<Array<{ agent_id: string; tenant_id: string }>>(
      "register_agent",
      this.db.rpc("register_agent", { p_code_hash: input.code_hash, p_public_key: input.public_key, p_hostname: input.hostname, p_now: iso(input.now) }),
    );
    return rows[0]!;
  }

  async getAgent(id: string): Promise<AgentRecord | null> {
    if (!isUuid(id)) return null;
    const row = await this.run<Row | null>("getAgent", this.db.from("agents").select("*").eq("id", id).maybeSingle());
    return row ? agentFromRow(row) : null;
  }

  async listAgents(tenantId: string): Promise<AgentRecord[]> {
    const rows = await this.allRows("listAgents", (from, to) => this.db.from("agents").select("*").eq("tenant_id", tenantId).order("created_at").order("id").range(from, to));
    return rows.map(agentFromRow);
  }

  async updateAgentSession(id: string, patch: AgentSessionPatch): Promise<void> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    // A revoked agent stays revoked whatever a late session update says (trigger agents_revocation_is_final).
    const values = Object.fromEntries(entries.map(([key, value]) => [key, SESSION_TIMES.has(key) && typeof value === "number" ? iso(value) : value]));
    await this.run("updateAgentSession", this.db.from("agents").update(values).eq("id", id));
  }

  async endAgentSession(id: string, sessionId: string, at: Millis): Promise<void> {
    const values = { status: "offline", last_seen_at: iso(at), session_id: null };
    await this.run("endAgentSession", this.db.from("agents").update(values).eq("id", id).eq("session_id", sessionId));
  }

  /** Other instances' sessions are theirs: only this instance's are ended. */
  async endStaleSessions(instanceId: string): Promise<number> {
    const rows = await this.run<Row[]>(
      "endStaleSessions",
      this.db.from("agents").update({ status: "offline", session_id: null }).eq("status", "online").eq("instance_id", instanceId).select("id"),
    );
    return rows.length;
  }

  async revokeAgent(input: { tenant_id: string; agent_id: string; actor: string; now: Millis }): Promise<AgentRecord | null> {
    if (!isUuid(input.agent_id) || !isUuid(input.tenant_id)) return null;
    const row = await this.run<Row | null>("revoke_agent", this.db.rpc("revoke_agent", { p_tenant_id: input.tenant_id, p_agent_id: input.agent_id, p_actor: input.actor, p_now: iso(input.now) }));
    return row ? agentFromRow(row) : null;
  }

  async revokedAgentsWithUnfinishedCommands(): Promise<Array<{ tenant_id: string; agent_id: string }>> {
    const rows = await this.allRows("revokedAgentsWithUnfinishedCommands", (from, to) =>
      this.db
        .from("agents")
        .select("id, tenant_id, commands!inner(id)")
        .eq("status", "revoked")
        .in("commands.status", ["queued", "dispatched", "running"])
        .limit(1, { referencedTable: "commands" })
        .order("id")
        .range(from, to),
    );
    return rows.map((row) => ({ tenant_id: row.tenant_id as string, agent_id: row.id as string }));
  }

  recordAgentNonce(input: { agent_id: string; nonce: string; expires_at: Millis; now: Millis }): Promise<boolean> {
    return this.run<boolean>("record_agent_nonce", this.db.rpc("record_agent_nonce", { p_agent_id: input.agent_id, p_nonce: input.nonce, p_expires_at: iso(input.expires_at), p_now: iso(input.now) }));
  }

  async enqueueCommand(command: NewCommand, options: { dispatchNow?: boolean } = {}): Promise<{ command: CommandRecord; created: boolean }> {
    const row = { ...command, created_at: iso(command.created_at), expires_at: iso(command.expires_at), status: options.dispatchNow ? "dispatched" : "queued" };
    const [answer] = await this.run<Array<{ command: Row; created: boolean }>>("enqueue_command", this.db.rpc("enqueue_command", { p_command: row, p_now: row.created_at }));
    return { command: commandFromRow(answer!.command), created: answer!.created };
  }

  async getCommand(id: string): Promise<CommandRecord | null> {
    if (!isUuid(id)) return null;
    const row = await this.run<Row | null>("getCommand", this.db.from("commands").select("*").eq("id", id).maybeSingle());
    return row ? commandFromRow(row) : null;
  }

  async listCommands(input: { tenant_id: string; agent_id: string; limit: number; status?: CommandStatus }): Promise<CommandRecord[]> {
    let query = this.db.from("commands").select("*").eq("tenant_id", input.tenant_id).eq("agent_id", input.agent_id);
    if (input.status) query = query.eq("status", input.status);
    const rows = await this.run<Row[]>("listCommands", query.order("created_at", { ascending: false }).order("id", { ascending: false }).limit(input.limit));
    return rows.map(commandFromRow);
  }

  async claimCommands(input: { agent_id: string; limit: number; now: Millis }): Promise<CommandRecord[]> {
    if (input.limit <= 0) return [];
    const rows = await this.run<Row[]>("claim_commands", this.db.rpc("claim_commands", { p_agent_id: input.agent_id, p_limit: input.limit, p_now: iso(input.now) }));
    return rows.map(commandFromRow);
  }

  async activeCommands(agentId: string): Promise<CommandRecord[]> {
    const rows = await this.run<Row[]>(
      "activeCommands",
      this.db.from("commands").select("*").eq("agent_id", agentId).in("status", ["dispatched", "running"]).order("created_at").order("id"),
    );
    return rows.map(commandFromRow);
  }

  async unheardCancels(agentId: string): Promise<string[]> {
    const rows = await this.run<Array<{ id: string }>>(
      "unheardCancels",
      this.db.from("commands").select("id").eq("agent_id", agentId).eq("status", "expired").not("dispatched_at", "is", null).not("cancel_requested_at", "is", null).order("created_at"),
    );
    return rows.map((row) => row.id);
  }

  async transitionCommand(input: TransitionInput): Promise<CommandRecord | null> {
    if (!isUuid(input.id)) return null;
    const row = await this.run<Row | null>(
      "transition_command",
      this.db.rpc("transition_command", { p_id: input.id, p_from: input.from, p_to: input.to, p_patch: patchArgument(input.patch ?? {}), p_actor: input.actor, p_agent_id: input.agent_id ?? null }),
    );
    return row ? commandFromRow(row) : null;
  }

  async patchCommand(input: { id: string; patch: CommandPatch }): Promise<CommandRecord | null> {
    // A transition to the current status changes fields without an audit entry; retried when the status moved meanwhile.
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.getCommand(input.id);
      if (!current) return null;
      const updated = await this.transitionCommand({ id: input.id, from: [current.status], to: current.status, patch: input.patch, actor: "system" });
      if (updated) return updated;
    }
    return this.getCommand(input.id);
  }

  /** In batches: a sweep that ended more than PostgREST returns would leave the rest unannounced. */
  async expireCommands(now: Millis): Promise<CommandRecord[]> {
    const expired: CommandRecord[] = [];
    for (;;) {
      const batch = await this.run<Row[]>("expire_commands", this.db.rpc("expire_commands", { p_now: iso(now), p_limit: EXPIRE_BATCH }));
      expired.push(...batch.map(commandFromRow));
      if (batch.length < EXPIRE_BATCH) return expired;
    }
  }

  async getStoragePolicy(tenantId: string): Promise<StoragePolicy> {
    const row = await this.run<Row | null>("getStoragePolicy", this.db.from("storage_policies").select("*").eq("tenant_id", tenantId).maybeSingle());
    return row ? policyFromRow(row) : { ...DEFAULT_STORAGE_POLICY };
  }

  async putStoragePolicy(input: { tenant_id: string; policy: StoragePolicy; actor: string; previous: StoragePolicy }): Promise<void> {
    const { policy } = input;
    await this.run(
      "put_storage_policy",
      this.db.rpc("put_storage_policy", { p_tenant_id: input.tenant_id, p_operational: policy.operational, p_sync_enabled: policy.sync.enabled, p_actor: input.actor, p_now: iso(policy.updated_at) }),
    );
  }

  purgeOperational(input: { tenant_id: string; actor: string }): Promise<PurgeCounts> {
    return this.run<PurgeCounts>("purge_operational", this.db.rpc("purge_operational", { p_tenant_id: input.tenant_id, p_actor: input.actor }));
  }

  async replaceInventory(input: { tenant_id: string; agent_id: string; items: InventoryItem[]; collected_at: Millis }): Promise<void> {
    await this.run("replace_inventory", this.db.rpc("replace_inventory", { p_tenant_id: input.tenant_id, p_agent_id: input.agent_id, p_items: input.items, p_updated_at: iso(input.collected_at) }));
  }

  async listInventory(input: { tenant_id: string; agent_id: string }): Promise<Array<InventoryItem & { collected_at: Millis }>> {
    if (!isUuid(input.agent_id)) return [];
    const rows = await this.allRows("listInventory", (from, to) =>
      this.db.from("inventory").select("kind, target, key, data, updated_at").eq("tenant_id", input.tenant_id).eq("agent_id", input.agent_id).order("kind").order("target").order("key").range(from, to),
    );
    return rows.map((row) => ({ kind: row.kind as string, target: row.target as string, key: row.key as string, data: row.data as Record<string, unknown>, collected_at: Date.parse(row.updated_at as string) }));
  }

  async appendEvent(input: { tenant_id: string; agent_id: string; source: string; target: string; type: string; data: Record<string, unknown>; created_at: Millis }): Promise<void> {
    await this.run("appendEvent", this.db.from("events").insert({ ...input, created_at: iso(input.created_at) }));
  }

  async putTelemetry(input: { tenant_id: string; agent_id: string; data: Record<string, unknown>; updated_at: Millis }): Promise<void> {
    await this.run("putTelemetry", this.db.from("telemetry").upsert({ ...input, updated_at: iso(input.updated_at) }, { onConflict: "agent_id" }));
  }

  async getTelemetry(agentId: string): Promise<{ data: Record<string, unknown>; updated_at: Millis } | null> {
    if (!isUuid(agentId)) return null;
    const row = await this.run<Row | null>("getTelemetry", this.db.from("telemetry").select("data, updated_at").eq("agent_id", agentId).maybeSingle());
    return row ? { data: row.data as Record<string, unknown>, updated_at: Date.parse(row.updated_at as string) } : null;
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    await this.run("appendAudit", this.db.from("audit_log").insert({ ...entry, created_at: iso(entry.created_at ?? Date.now()) }));
  }

  async listAudit(input: { tenant_id: string; limit: number; after_id?: number }): Promise<AuditEntry[]> {
    const rows = await this.run<Row[]>(
      "listAudit",
      this.db.from("audit_log").select("*").eq("tenant_id", input.tenant_id).gt("id", input.after_id ?? 0).order("id").limit(input.limit),
    );
    return rows.map(auditFromRow);
  }
}

/** CommandPatch in transition_command's terms: timestamps as ISO text, cleared params as null. */
function patchArgument(patch: CommandPatch): Record<string, unknown> {
  const argument: Record<string, unknown> = {};
  if (patch.envelope_only) {
    argument.result = null;
    argument.params = null;
  } else {
    if (patch.result !== undefined) argument.result = patch.result;
    if (patch.clear_params) argument.params = null;
  }
  if (patch.error !== undefined) argument.error = patch.error;
  for (const key of ["dispatched_at", "started_at", "finished_at", "cancel_requested_at"] as const) {
    if (patch[key] !== undefined) argument[key] = iso(patch[key]);
  }
  if (patch.attempts_increment) argument.attempts_increment = patch.attempts_increment;
  return argument;
}
