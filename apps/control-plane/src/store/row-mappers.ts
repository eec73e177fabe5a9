import type { AgentRecord, AuditEntry, CommandRecord, Millis } from "./types.js";

export type Row = Record<string, unknown>;

/** The columns of an API key that leave the store: never its hash. */
export const API_KEY_COLUMNS = "id, tenant_id, role, key_prefix, created_at, revoked_at";

/** How a backend hands back JSON columns and timestamps (SQLite: text and epoch ms; PostgREST: parsed JSON and ISO 8601). */
export interface ColumnDecoding {
  json(value: unknown): unknown;
  time(value: unknown): Millis;
}

/** Row → record mappers shared by both stores; only the decoding of JSON and time columns differs. */
export function rowMappers({ json, time }: ColumnDecoding) {
  const maybe = <T>(value: unknown, decode: (value: unknown) => T): T | null => (value === null || value === undefined ? null : decode(value));
  const text = (value: unknown): string | null => (value as string | null | undefined) ?? null;

  const agent = (row: Row): AgentRecord => ({
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    name: text(row.name),
    public_key: (row.public_key as string | undefined) ?? "",
    status: row.status as AgentRecord["status"],
    hostname: text(row.hostname),
    version: text(row.version),
    platform: text(row.platform),
    arch: text(row.arch),
    capabilities: (maybe(row.capabilities, json) as string[] | null) ?? [],
    last_seen_at: maybe(row.last_seen_at, time),
    connected_at: maybe(row.connected_at, time),
    session_id: text(row.session_id),
    created_at: time(row.created_at),
    revoked_at: maybe(row.revoked_at, time),
    policy_version_applied: maybe(row.policy_version_applied, Number),
  });

  const command = (row: Row): CommandRecord => ({
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    agent_id: row.agent_id as string,
    name: row.name as string,
    params: maybe(row.params, json),
    status: row.status as CommandRecord["status"],
    result: maybe(row.result, json),
    error: maybe(row.error, json) as CommandRecord["error"],
    actor: row.actor as string,
    idempotency_key: text(row.idempotency_key),
    request_hash: text(row.request_hash),
    timeout_ms: row.timeout_ms as number,
    created_at: time(row.created_at),
    dispatched_at: maybe(row.dispatched_at, time),
    started_at: maybe(row.started_at, time),
    finished_at: maybe(row.finished_at, time),
    expires_at: time(row.expires_at),
    cancel_requested_at: maybe(row.cancel_requested_at, time),
    attempts: row.attempts as number,
  });

  const audit = (row: Row): AuditEntry => ({
    id: Number(row.id),
    tenant_id: row.tenant_id as string,
    actor: row.actor as string,
    action: row.action as string,
    target_type: row.target_type as string,
    target_id: text(row.target_id),
    details: maybe(row.details, json),
    created_at: time(row.created_at),
  });

  return { agent, command, audit };
}
