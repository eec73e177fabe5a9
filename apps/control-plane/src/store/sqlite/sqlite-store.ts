import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DEFAULT_STORAGE_POLICY, commandStatusSchema, type CommandStatus, type StoragePolicy } from "@botmox/protocol";
import { ApiError } from "../../errors/api-error.js";
import type {
  AgentRecord,
  AgentSessionPatch,
  ApiKeyRecord,
  AuditEntry,
  CommandPatch,
  CommandRecord,
  InventoryItem,
  Millis,
  PurgeCounts,
  NewAuditEntry,
  NewCommand,
  Role,
  Store,
  Tenant,
  TransitionInput,
} from "../types.js";
import { Checkpointer } from "./checkpointer.js";
import { BUSY_TIMEOUT_MS, GroupCommit } from "./group-commit.js";
import { API_KEY_COLUMNS } from "../row-mappers.js";
import { migrate } from "./migrations.js";
import { restrictToOwner } from "./owner-only.js";
import { COMMAND_COLUMNS, agentFromRow, auditFromRow, commandFromRow, commandFromValues } from "./rows.js";
import { newCommandRecord } from "../new-command.js";
import { KEPT_ON_AGENT_MESSAGE } from "../envelope-error.js";

type Row = Record<string, unknown>;
/** One command's status change as the transition statement applies it. */
type CommandChange = { id: string; to: CommandStatus; patch: CommandPatch; agent_id: string | null; actor: string };
const toJson = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/** Embedded store: one SQLite file in WAL mode, migrated on open. */
export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly writes: GroupCommit;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly stmt: ReturnType<SqliteStore["prepare"]>;
  /** One UPDATE per set of allowed current statuses: a literal IN list is much cheaper than a bound JSON array. */
  private readonly transitions = new Map<string, Database.Statement>();

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    if (file !== ":memory:") restrictToOwner(file);
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(this.db);
    if (file !== ":memory:") {
      // Checkpoints (and their fsync) happen in a worker; the big auto-checkpoint is only a safety net.
      this.db.pragma("wal_autocheckpoint = 20000");
      this.checkpointer = new Checkpointer(file, createRequire(import.meta.url).resolve("better-sqlite3"));
    }
    this.writes = new GroupCommit(this.db);
    this.stmt = this.prepare();
  }

  private transitionStatement(from: readonly CommandStatus[]): Database.Statement {
    const key = from.join(",");
    let statement = this.transitions.get(key);
    if (!statement) {
      const allowed = from.map((status) => {
        if (!commandStatusSchema.options.includes(status)) throw new Error(`Unknown command status ${status}`);
        return `'${status}'`;
      });
      // Parameters in the order transitionValues() lists them.
      statement = this.db.prepare(`UPDATE commands SET status = ?,
          result = CASE WHEN ? THEN NULL WHEN ? THEN ? ELSE result END,
          error = CASE WHEN ? THEN ? ELSE error END,
          dispatched_at = COALESCE(?, dispatched_at),
          started_at = COALESCE(?, started_at),
          finished_at = COALESCE(?, finished_at),
          cancel_requested_at = COALESCE(?, cancel_requested_at),
          params = CASE WHEN ? OR ? THEN NULL ELSE params END,
          attempts = attempts + ?,
          last_actor = ?
        WHERE id = ? AND (? IS NULL OR agent_id = ?) AND status IN (${allowed.join(", ")})`);
      this.transitions.set(key, statement);
    }
    return statement;
  }

  /** Applies a patch when the command is in one of the `from` statuses; the updated command, or null. */
  private updateCommand(from: readonly CommandStatus[], change: CommandChange): CommandRecord | null {
    // UPDATE then a primary-key read is cheaper than UPDATE … RETURNING * in SQLite.
    if (this.transitionStatement(from).run(...transitionValues(change)).changes === 0) return null;
    return this.readCommand(change.id);
  }

  private readCommand(id: string): CommandRecord | null {
    const values = this.stmt.getCommand.get(id) as unknown[] | undefined;
    return values ? commandFromValues(values) : null;
  }

  private prepare() {
    const db = this.db;
    return {
      getCommand: db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`).raw(true),
      insertAudit: db.prepare(
        "INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      // Positional parameters on the per-command statements: binding by name costs a property lookup each.
      insertCommand: db.prepare(`INSERT INTO commands (id, tenant_id, agent_id, name, params, status, actor, idempotency_key, request_hash,
        timeout_ms, created_at, dispatched_at, expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      byIdempotencyKey: db.prepare("SELECT * FROM commands WHERE tenant_id = ? AND idempotency_key = ?"),
      claim: db.prepare(`UPDATE commands SET status = 'dispatched', dispatched_at = @now, attempts = attempts + 1, last_actor = 'system'
        WHERE rowid IN (SELECT rowid FROM commands WHERE agent_id = @agent_id AND status = 'queued' AND expires_at > @now
                     ORDER BY rowid LIMIT @limit) RETURNING *`),
      active: db.prepare(`SELECT * FROM commands WHERE agent_id = ? AND status IN ('dispatched', 'running') ORDER BY rowid`),
      unheardCancels: db.prepare(
        "SELECT id FROM commands WHERE agent_id = ? AND status = 'expired' AND dispatched_at IS NOT NULL AND cancel_requested_at IS NOT NULL ORDER BY rowid",
      ),
      expire: db.prepare(`UPDATE commands SET status = 'expired', finished_at = @now, error = @error, last_actor = 'system'
        WHERE status IN ('queued', 'dispatched') AND expires_at <= @now RETURNING *`),
      getAgent: db.prepare("SELECT * FROM agents WHERE id = ?"),
      commandState: db.prepare("SELECT status, last_actor FROM commands WHERE id = ?"),
    };
  }

  async health(): Promise<{ ok: true } | { ok: false; message: string }> {
    try {
      this.db.prepare("SELECT 1").get();
      return { ok: true };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  }

  committed(): Promise<void> {
    return this.writes.committed();
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    this.writes.flush();
    this.db.close();
  }

  /** A write of several statements: all or nothing, inside the group's transaction. */
  private atomically<T>(write: () => T): Promise<T> {
    return this.writes.run(this.db.transaction(write));
  }

  private audit(entry: NewAuditEntry): void {
    this.stmt.insertAudit.run(
      entry.tenant_id,
      entry.actor,
      entry.action,
      entry.target_type,
      entry.target_id,
      toJson(entry.details),
      entry.created_at ?? Date.now(),
    );
  }

  createTenant(name: string): Promise<Tenant> {
    const tenant: Tenant = { id: randomUUID(), name, created_at: Date.now() };
    return this.atomically(() => {
      this.db.prepare("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)").run(tenant.id, tenant.name, tenant.created_at);
      this.audit({ tenant_id: tenant.id, actor: "system", action: "tenant.created", target_type: "tenant", target_id: tenant.id, details: { name } });
      return tenant;
    });
  }

  async getTenant(id: string): Promise<Tenant | null> {
    return (this.db.prepare("SELECT * FROM tenants WHERE id = ?").get(id) as Tenant | undefined) ?? null;
  }

  createApiKey(input: { tenant_id: string; role: Role; key_hash: string; key_prefix: string; actor?: string }): Promise<ApiKeyRecord> {
    const record: ApiKeyRecord = { id: randomUUID(), tenant_id: input.tenant_id, role: input.role, key_prefix: input.key_prefix, created_at: Date.now(), revoked_at: null };
    return this.atomically(() => {
      this.db
        .prepare("INSERT INTO api_keys (id, tenant_id, role, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(record.id, record.tenant_id, record.role, input.key_hash, record.key_prefix, record.created_at);
      this.audit({ tenant_id: input.tenant_id, actor: input.actor ?? "system", action: "api_key.created", target_type: "api_key", target_id: record.id, details: { role: input.role, key_prefix: input.key_prefix } });
      return record;
    });
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return this.db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`).all(tenantId) as ApiKeyRecord[];
  }

  revokeApiKey(input: { tenant_id: string; id: string; actor: string; now: Millis }): Promise<ApiKeyRecord | null> {
    return this.atomically(() => {
      const revoked = this.db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL").run(input.now, input.id, input.tenant_id).changes === 1;
      const key = this.db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ? AND tenant_id = ?`).get(input.id, input.tenant_id) as ApiKeyRecord | undefined;
      if (revoked && key) {
        this.audit({ tenant_id: input.tenant_id, actor: input.actor, action: "api_key.revoked", target_type: "api_key", target_id: key.id, details: { role: key.role, key_prefix: key.key_prefix } });
      }
      return key ?? null;
    });
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = this.db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?`).get(keyHash);
    return (row as ApiKeyRecord | undefined) ?? null;
  }

  createPairing(input: { tenant_id: string; code_hash: string; expires_at: Millis; created_by: string }): Promise<void> {
    const id = randomUUID();
    const now = Date.now();
    return this.atomically(() => {
      this.db
        .prepare("INSERT INTO pairings (id, tenant_id, code_hash, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(id, input.tenant_id, input.code_hash, input.expires_at, input.created_by, now);
      this.audit({ tenant_id: input.tenant_id, actor: input.created_by, action: "pairing.created", target_type: "pairing", target_id: id, details: { expires_at: input.expires_at } });
    });
  }

  registerAgent(input: { code_hash: string; public_key: string; hostname: string | null; now: Millis }): Promise<{ agent_id: string; tenant_id: string }> {
    return this.atomically(() => {
      const pairing = this.db.prepare("SELECT * FROM pairings WHERE code_hash = ?").get(input.code_hash) as Row | undefined;
      if (!pairing || pairing.consumed_at !== null) throw new ApiError("PAIRING_CODE_INVALID", "Pairing code is unknown or was already used", [{ path: "code", message: "unknown or already used" }]);
      if ((pairing.expires_at as number) <= input.now) throw new ApiError("PAIRING_CODE_EXPIRED", "Pairing code has expired; create a new one", [{ path: "code", message: "expired" }]);
      const agentId = randomUUID();
      const tenantId = pairing.tenant_id as string;
      this.db
        .prepare("INSERT INTO agents (id, tenant_id, public_key, hostname, created_at) VALUES (?, ?, ?, ?, ?)")
        .run(agentId, tenantId, input.public_key, input.hostname, input.now);
      this.db.prepare("UPDATE pairings SET consumed_at = ?, agent_id = ? WHERE id = ?").run(input.now, agentId, pairing.id);
      this.audit({ tenant_id: tenantId, actor: `agent:${agentId}`, action: "agent.registered", target_type: "agent", target_id: agentId, details: { hostname: input.hostname, pairing_id: pairing.id } });
      return { agent_id: agentId, tenant_id: tenantId };
    });
  }

  async getAgent(id: string): Promise<AgentRecord | null> {
    const row = this.stmt.getAgent.get(id) as Row | undefined;
    return row ? agentFromRow(row) : null;
  }

  async listAgents(tenantId: string): Promise<AgentRecord[]> {
    return (this.db.prepare("SELECT * FROM agents WHERE tenant_id = ? ORDER BY created_at, id").all(tenantId) as Row[]).map(agentFromRow);
  }

  updateAgentSession(id: string, patch: AgentSessionPatch): Promise<void> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return Promise.resolve();
    const sets = entries.map(([key]) => `${key} = @${key}`).join(", ");
    const values = Object.fromEntries(entries.map(([key, value]) => [key, key === "capabilities" ? JSON.stringify(value) : value]));
    return this.writes.run(() => {
      // A revoked agent stays revoked whatever a late session update says.
      this.db.prepare(`UPDATE agents SET ${sets} WHERE id = @id AND status != 'revoked'`).run({ ...values, id });
    });
  }

  endAgentSession(id: string, sessionId: string, at: Millis): Promise<void> {
    return this.writes.run(() => {
      this.db
        .prepare("UPDATE agents SET status = 'offline', last_seen_at = ?, session_id = NULL WHERE id = ? AND session_id = ? AND status != 'revoked'")
        .run(at, id, sessionId);
    });
  }

  /** The SQLite file has one owner: every agent recorded online is this instance's. */
  endStaleSessions(): Promise<number> {
    return this.writes.run(() => this.db.prepare("UPDATE agents SET status = 'offline', session_id = NULL WHERE status = 'online'").run().changes);
  }

  revokeAgent(input: { tenant_id: string; agent_id: string; actor: string; now: Millis }): Promise<AgentRecord | null> {
    return this.atomically(() => {
      const row = this.db
        .prepare("UPDATE agents SET status = 'revoked', revoked_at = COALESCE(revoked_at, @now), session_id = NULL WHERE id = @id AND tenant_id = @tenant RETURNING *")
        .get({ now: input.now, id: input.agent_id, tenant: input.tenant_id }) as Row | undefined;
      if (!row) return null;
      this.audit({ tenant_id: input.tenant_id, actor: input.actor, action: "agent.revoked", target_type: "agent", target_id: input.agent_id, details: null });
      return agentFromRow(row);
    });
  }

  recordAgentNonce(input: { agent_id: string; nonce: string; expires_at: Millis; now: Millis }): Promise<boolean> {
    return this.writes.run(() => {
      this.db.prepare("DELETE FROM agent_nonces WHERE agent_id = ? AND expires_at <= ?").run(input.agent_id, input.now);
      const inserted = this.db
        .prepare("INSERT OR IGNORE INTO agent_nonces (agent_id, nonce, expires_at) VALUES (?, ?, ?)")
        .run(input.agent_id, input.nonce, input.expires_at);
      return inserted.changes === 1;
    });
  }

  async revokedAgentsWithUnfinishedCommands(): Promise<Array<{ tenant_id: string; agent_id: string }>> {
    return this.db
      .prepare(
        // Through the partial indexes of unfinished commands: a revoked agent's history is not read at every start.
        `SELECT a.tenant_id, a.id AS agent_id FROM agents a
          WHERE a.status = 'revoked'
            AND (EXISTS (SELECT 1 FROM commands c INDEXED BY commands_queued WHERE c.agent_id = a.id AND c.status = 'queued')
              OR EXISTS (SELECT 1 FROM commands c INDEXED BY commands_in_flight WHERE c.agent_id = a.id AND c.status IN ('dispatched', 'running')))`,
      )
      .all() as Array<{ tenant_id: string; agent_id: string }>;
  }

  enqueueCommand(command: NewCommand, options: { dispatchNow?: boolean } = {}): Promise<{ command: CommandRecord; created: boolean }> {
    return this.writes.run(() => {
      if (command.idempotency_key !== null) {
        const existing = this.stmt.byIdempotencyKey.get(command.tenant_id, command.idempotency_key) as Row | undefined;
        if (existing) return { command: commandFromRow(existing), created: false };
      }
      const r = newCommandRecord(command, options.dispatchNow ?? false);
      this.stmt.insertCommand.run(r.id, r.tenant_id, r.agent_id, r.name, toJson(r.params), r.status, r.actor, r.idempotency_key, r.request_hash, r.timeout_ms, r.created_at, r.dispatched_at, r.expires_at, r.attempts);
      return { command: r, created: true };
    });
  }

  async getCommand(id: string): Promise<CommandRecord | null> {
    return this.readCommand(id);
  }

  async listCommands(input: { tenant_id: string; agent_id: string; limit: number; status?: CommandStatus }): Promise<CommandRecord[]> {
    const rows = input.status
      ? this.db
          .prepare("SELECT * FROM commands WHERE tenant_id = ? AND agent_id = ? AND status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?")
          .all(input.tenant_id, input.agent_id, input.status, input.limit)
      : this.db
          .prepare("SELECT * FROM commands WHERE tenant_id = ? AND agent_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?")
          .all(input.tenant_id, input.agent_id, input.limit);
    return (rows as Row[]).map(commandFromRow);
  }

  claimCommands(input: { agent_id: string; limit: number; now: Millis }): Promise<CommandRecord[]> {
    if (input.limit <= 0) return Promise.resolve([]);
    return this.writes.run(() => {
      const rows = (this.stmt.claim.all(input) as Row[]).map(commandFromRow);
      return rows.sort((a, b) => a.created_at - b.created_at);
    });
  }

  async activeCommands(agentId: string): Promise<CommandRecord[]> {
    return (this.stmt.active.all(agentId) as Row[]).map(commandFromRow);
  }

  async unheardCancels(agentId: string): Promise<string[]> {
    return (this.stmt.unheardCancels.all(agentId) as Array<{ id: string }>).map((row) => row.id);
  }

  transitionCommand(input: TransitionInput): Promise<CommandRecord | null> {
    const change = () => this.updateCommand(input.from, { id: input.id, to: input.to, patch: input.patch ?? {}, agent_id: input.agent_id ?? null, actor: input.actor });
    return input.settleBeforeCommit ? this.writes.apply(change) : this.writes.run(change);
  }

  patchCommand(input: { id: string; patch: CommandPatch }): Promise<CommandRecord | null> {
    return this.writes.run(() => {
      const current = this.stmt.commandState.get(input.id) as { status: CommandStatus; last_actor: string } | undefined;
      if (!current) return null;
      return this.updateCommand([current.status], { id: input.id, to: current.status, patch: input.patch, agent_id: null, actor: current.last_actor });
    });
  }

  expireCommands(now: Millis): Promise<CommandRecord[]> {
    return this.writes.run(() => {
      const error = JSON.stringify({ code: "COMMAND_EXPIRED", message: "The agent did not pick the command up before it expired" });
      return (this.stmt.expire.all({ now, error }) as Row[]).map(commandFromRow);
    });
  }

  async getStoragePolicy(tenantId: string): Promise<StoragePolicy> {
    const row = this.db.prepare("SELECT * FROM storage_policies WHERE tenant_id = ?").get(tenantId) as Row | undefined;
    if (!row) return { ...DEFAULT_STORAGE_POLICY };
    return { secrets: "local-only", operational: row.operational as "cloud" | "local", sync: { enabled: row.sync_enabled === 1 }, updated_at: row.updated_at as number, updated_by: (row.updated_by as string | null) ?? null };
  }

  putStoragePolicy(input: { tenant_id: string; policy: StoragePolicy; actor: string; previous: StoragePolicy }): Promise<void> {
    return this.atomically(() => {
      this.db
        .prepare(`INSERT INTO storage_policies (tenant_id, operational, sync_enabled, updated_at, updated_by) VALUES (@tenant_id, @operational, @sync, @updated_at, @updated_by)
          ON CONFLICT (tenant_id) DO UPDATE SET operational = excluded.operational, sync_enabled = excluded.sync_enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by`)
        .run({ tenant_id: input.tenant_id, operational: input.policy.operational, sync: input.policy.sync.enabled ? 1 : 0, updated_at: input.policy.updated_at, updated_by: input.policy.updated_by });
      const brief = (policy: StoragePolicy) => ({ operational: policy.operational, sync: policy.sync });
      this.audit({ tenant_id: input.tenant_id, actor: input.actor, action: "storage_policy.updated", target_type: "tenant", target_id: input.tenant_id, details: { from: brief(input.previous), to: brief(input.policy) } });
    });
  }

  purgeOperational(input: { tenant_id: string; actor: string }): Promise<PurgeCounts> {
    return this.atomically(() => {
      const tenant = input.tenant_id;
      const counts: PurgeCounts = {
        command_results: this.db.prepare("UPDATE commands SET result = NULL WHERE tenant_id = ? AND result IS NOT NULL").run(tenant).changes,
        command_params: this.db.prepare("UPDATE commands SET params = NULL WHERE tenant_id = ? AND params IS NOT NULL AND status NOT IN ('queued', 'dispatched', 'running')").run(tenant).changes,
        command_errors: this.db
          .prepare(
            "UPDATE commands SET error = json_object('code', json_extract(error, '$.code'), 'message', ?, 'details', json_object('kept_on_agent', json('true'))) WHERE tenant_id = ? AND error IS NOT NULL AND json_extract(error, '$.details.kept_on_agent') IS NOT 1",
          )
          .run(KEPT_ON_AGENT_MESSAGE, tenant).changes,
        inventory: this.db.prepare("DELETE FROM inventory WHERE tenant_id = ?").run(tenant).changes,
        events: this.db.prepare("DELETE FROM events WHERE tenant_id = ?").run(tenant).changes,
        telemetry: this.db.prepare("DELETE FROM telemetry WHERE tenant_id = ?").run(tenant).changes,
      };
      this.audit({ tenant_id: tenant, actor: input.actor, action: "operational_data.purged", target_type: "tenant", target_id: tenant, details: counts });
      return counts;
    });
  }

  replaceInventory(input: { tenant_id: string; agent_id: string; items: InventoryItem[]; collected_at: Millis }): Promise<void> {
    return this.atomically(() => {
      this.db.prepare("DELETE FROM inventory WHERE agent_id = ?").run(input.agent_id);
      const insert = this.db.prepare("INSERT OR REPLACE INTO inventory (tenant_id, agent_id, kind, target, key, data, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      for (const item of input.items) insert.run(input.tenant_id, input.agent_id, item.kind, item.target, item.key, JSON.stringify(item.data), input.collected_at);
    });
  }

  async listInventory(input: { tenant_id: string; agent_id: string }): Promise<Array<InventoryItem & { collected_at: Millis }>> {
    const rows = this.db.prepare("SELECT * FROM inventory WHERE tenant_id = ? AND agent_id = ? ORDER BY kind, target, key").all(input.tenant_id, input.agent_id) as Row[];
    return rows.map((row) => ({ kind: row.kind as string, target: row.target as string, key: row.key as string, data: JSON.parse(row.data as string) as Record<string, unknown>, collected_at: row.collected_at as number }));
  }

  appendEvent(input: { tenant_id: string; agent_id: string; source: string; target: string; type: string; data: Record<string, unknown>; created_at: Millis }): Promise<void> {
    return this.writes.run(() => {
      this.db
        .prepare("INSERT INTO events (tenant_id, agent_id, source, target, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(input.tenant_id, input.agent_id, input.source, input.target, input.type, JSON.stringify(input.data), input.created_at);
    });
  }

  putTelemetry(input: { tenant_id: string; agent_id: string; data: Record<string, unknown>; updated_at: Millis }): Promise<void> {
    return this.writes.run(() => {
      this.db.prepare("INSERT OR REPLACE INTO telemetry (agent_id, tenant_id, data, updated_at) VALUES (?, ?, ?, ?)").run(input.agent_id, input.tenant_id, JSON.stringify(input.data), input.updated_at);
    });
  }

  async getTelemetry(agentId: string): Promise<{ data: Record<string, unknown>; updated_at: Millis } | null> {
    const row = this.db.prepare("SELECT data, updated_at FROM telemetry WHERE agent_id = ?").get(agentId) as Row | undefined;
    return row ? { data: JSON.parse(row.data as string) as Record<string, unknown>, updated_at: row.updated_at as number } : null;
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.writes.run(() => this.audit(entry));
  }

  async listAudit(input: { tenant_id: string; limit: number; after_id?: number }): Promise<AuditEntry[]> {
    const rows = this.db
      .prepare("SELECT * FROM audit_log WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?")
      .all(input.tenant_id, input.after_id ?? 0, input.limit) as Row[];
    return rows.map(auditFromRow);
  }
}

/** Values for a transition statement, in its parameter order. */
function transitionValues(change: CommandChange): unknown[] {
  const { patch } = change;
  const envelopeOnly = patch.envelope_only ? 1 : 0;
  return [
    change.to,
    envelopeOnly,
    patch.result !== undefined ? 1 : 0,
    toJson(patch.result),
    patch.error !== undefined ? 1 : 0,
    toJson(patch.error),
    patch.dispatched_at ?? null,
    patch.started_at ?? null,
    patch.finished_at ?? null,
    patch.cancel_requested_at ?? null,
    patch.clear_params ? 1 : 0,
    envelopeOnly,
    patch.attempts_increment ?? 0,
    change.actor,
    change.id,
    change.agent_id,
    change.agent_id,
  ];
}
