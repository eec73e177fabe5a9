import type { CommandStatus, ErrorBody, StoragePolicy } from "@botmox/protocol";

/** Times are epoch milliseconds inside the control plane; the HTTP layer renders ISO 8601. */
export type Millis = number;
export type Role = "admin" | "operator" | "viewer";
export const ROLES: readonly Role[] = ["admin", "operator", "viewer"];

export interface Tenant {
  id: string;
  name: string;
  created_at: Millis;
}

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  role: Role;
  key_prefix: string;
  created_at: Millis;
  revoked_at: Millis | null;
}

export type AgentStatus = "online" | "offline" | "revoked";

export interface AgentRecord {
  id: string;
  tenant_id: string;
  name: string | null;
  public_key: string;
  status: AgentStatus;
  hostname: string | null;
  version: string | null;
  platform: string | null;
  arch: string | null;
  capabilities: string[];
  last_seen_at: Millis | null;
  connected_at: Millis | null;
  session_id: string | null;
  created_at: Millis;
  revoked_at: Millis | null;
  policy_version_applied: number | null;
}

export type AgentSessionPatch = Partial<
  Pick<AgentRecord, "status" | "hostname" | "version" | "platform" | "arch" | "capabilities" | "last_seen_at" | "connected_at" | "session_id" | "policy_version_applied">
> & {
  /** The control plane instance holding the session (see endStaleSessions). */
  instance_id?: string;
};

export interface InventoryItem {
  kind: string;
  target: string;
  key: string;
  data: Record<string, unknown>;
}

/** Rows removed when a tenant's operational data is purged (cloud → local). */
export interface PurgeCounts {
  command_results: number;
  command_params: number;
  /** Errors cut down to their code (the details stay on the agent). */
  command_errors: number;
  inventory: number;
  events: number;
  telemetry: number;
}

export interface CommandRecord {
  id: string;
  tenant_id: string;
  agent_id: string;
  name: string;
  params: unknown;
  status: CommandStatus;
  result: unknown;
  error: ErrorBody | null;
  actor: string;
  idempotency_key: string | null;
  request_hash: string | null;
  timeout_ms: number;
  created_at: Millis;
  dispatched_at: Millis | null;
  started_at: Millis | null;
  finished_at: Millis | null;
  expires_at: Millis;
  cancel_requested_at: Millis | null;
  attempts: number;
}

export type NewCommand = Pick<
  CommandRecord,
  "id" | "tenant_id" | "agent_id" | "name" | "params" | "actor" | "idempotency_key" | "request_hash" | "timeout_ms" | "created_at" | "expires_at"
>;

/** Fields a guarded transition may set besides the status. */
export interface CommandPatch {
  result?: unknown;
  error?: ErrorBody | null;
  dispatched_at?: Millis;
  started_at?: Millis;
  finished_at?: Millis;
  cancel_requested_at?: Millis;
  clear_params?: boolean;
  /** "local" tenants: keep the envelope only (result dropped, params cleared). */
  envelope_only?: boolean;
  attempts_increment?: number;
}

export interface TransitionInput {
  id: string;
  from: readonly CommandStatus[];
  to: CommandStatus;
  patch?: CommandPatch;
  actor: string;
  /** When set, the transition only applies to a command of this agent (results from a session). */
  agent_id?: string;
  /**
   * Settle as soon as this process's reads see the change, possibly before it is durable
   * (`committed()` tells when it is). For outcomes the agent keeps until they are acknowledged.
   */
  settleBeforeCommit?: boolean;
}

export interface AuditEntry {
  id: number;
  tenant_id: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  details: unknown;
  created_at: Millis;
}

export type NewAuditEntry = Omit<AuditEntry, "id" | "created_at"> & { created_at?: Millis };

/**
 * The one storage interface of the control plane. Everything that must be atomic is one
 * method here (and one SQL function in Supabase). Implementations: store/sqlite, store/supabase.
 */
export interface Store {
  readonly kind: "sqlite" | "supabase";
  health(): Promise<{ ok: true } | { ok: false; message: string }>;
  close(): Promise<void>;
  /** Settles once every write made so far is durable; rejects if one of them was lost. */
  committed(): Promise<void>;

  createTenant(name: string): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | null>;

  /** Audited as `actor` (default "system"). */
  createApiKey(input: { tenant_id: string; role: Role; key_hash: string; key_prefix: string; actor?: string }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** The tenant's keys, oldest first (never their hashes). */
  listApiKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Stamps revoked_at (audited) unless already revoked; null when the tenant has no such key. */
  revokeApiKey(input: { tenant_id: string; id: string; actor: string; now: Millis }): Promise<ApiKeyRecord | null>;

  createPairing(input: { tenant_id: string; code_hash: string; expires_at: Millis; created_by: string }): Promise<void>;
  /** Consumes the code and creates the agent; throws ApiError PAIRING_CODE_INVALID / PAIRING_CODE_EXPIRED. */
  registerAgent(input: { code_hash: string; public_key: string; hostname: string | null; now: Millis }): Promise<{ agent_id: string; tenant_id: string }>;

  getAgent(id: string): Promise<AgentRecord | null>;
  listAgents(tenantId: string): Promise<AgentRecord[]>;
  updateAgentSession(id: string, patch: AgentSessionPatch): Promise<void>;
  /**
   * Records the agent offline, seen last at `at`, if `sessionId` is still its session: a newer
   * connection's record (written meanwhile, perhaps ahead of this one) stays.
   */
  endAgentSession(id: string, sessionId: string, at: Millis): Promise<void>;
  /**
   * At start no session of this instance is live yet: agents it left recorded online lost their
   * session when the previous process ended without saying so. Marks them offline; returns how many.
   */
  endStaleSessions(instanceId: string): Promise<number>;
  revokeAgent(input: { tenant_id: string; agent_id: string; actor: string; now: Millis }): Promise<AgentRecord | null>;
  /** Revoked agents that still have commands not final: a revoke cut short (a crash) leaves them, and they are ended at start. */
  revokedAgentsWithUnfinishedCommands(): Promise<Array<{ tenant_id: string; agent_id: string }>>;
  /** Records a handshake nonce; false when this agent already used it (a replay). */
  recordAgentNonce(input: { agent_id: string; nonce: string; expires_at: Millis; now: Millis }): Promise<boolean>;

  /**
   * Inserts a command; with an idempotency key already used in the tenant, returns the existing one and created=false.
   * `dispatchNow` inserts it already dispatched (attempt 1) for an agent with a free slot and no backlog: one write instead of two.
   */
  enqueueCommand(command: NewCommand, options?: { dispatchNow?: boolean }): Promise<{ command: CommandRecord; created: boolean }>;
  getCommand(id: string): Promise<CommandRecord | null>;
  listCommands(input: { tenant_id: string; agent_id: string; limit: number; status?: CommandStatus }): Promise<CommandRecord[]>;
  /** Atomically moves up to `limit` queued, unexpired commands of the agent to dispatched (attempts + 1), oldest first. */
  claimCommands(input: { agent_id: string; limit: number; now: Millis }): Promise<CommandRecord[]>;
  /** Commands already sent to the agent and not final (dispatched, running): redelivered on reconnect. */
  activeCommands(agentId: string): Promise<CommandRecord[]>;
  /**
   * Ids of commands that expired after they were sent and whose cancel the agent has not heard:
   * it may be running them, so the cancel goes out when it reconnects.
   */
  unheardCancels(agentId: string): Promise<string[]>;
  /**
   * Guarded status change, audited; null when the command is not in one of `from`. A command that
   * goes from dispatched straight to a final state (finished before its acceptance arrived) gets
   * the `command.running` audit entry too.
   */
  transitionCommand(input: TransitionInput): Promise<CommandRecord | null>;
  /** Sets a field without a status change (cancel requests, redelivery attempts). */
  patchCommand(input: { id: string; patch: CommandPatch }): Promise<CommandRecord | null>;
  /** Queued or dispatched commands whose expires_at passed become expired; returns them. */
  expireCommands(now: Millis): Promise<CommandRecord[]>;

  getStoragePolicy(tenantId: string): Promise<StoragePolicy>;
  putStoragePolicy(input: { tenant_id: string; policy: StoragePolicy; actor: string; previous: StoragePolicy }): Promise<void>;
  /** Deletes the tenant's operational data: command results and params, inventory, events, telemetry. */
  purgeOperational(input: { tenant_id: string; actor: string }): Promise<PurgeCounts>;
  replaceInventory(input: { tenant_id: string; agent_id: string; items: InventoryItem[]; collected_at: Millis }): Promise<void>;
  listInventory(input: { tenant_id: string; agent_id: string }): Promise<Array<InventoryItem & { collected_at: Millis }>>;
  appendEvent(input: { tenant_id: string; agent_id: string; source: string; target: string; type: string; data: Record<string, unknown>; created_at: Millis }): Promise<void>;
  putTelemetry(input: { tenant_id: string; agent_id: string; data: Record<string, unknown>; updated_at: Millis }): Promise<void>;
  getTelemetry(agentId: string): Promise<{ data: Record<string, unknown>; updated_at: Millis } | null>;

  appendAudit(entry: NewAuditEntry): Promise<void>;
  listAudit(input: { tenant_id: string; limit: number; after_id?: number }): Promise<AuditEntry[]>;
}
