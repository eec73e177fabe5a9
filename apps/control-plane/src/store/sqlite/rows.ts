import type { AgentRecord, AuditEntry, CommandRecord, Role } from "../types.js";

type Row = Record<string, unknown>;

const json = (value: unknown): unknown => (value === null || value === undefined ? null : JSON.parse(value as string));

export function agentFromRow(row: Row): AgentRecord {
  return {
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    name: (row.name as string | null) ?? null,
    public_key: row.public_key as string,
    status: row.status as AgentRecord["status"],
    hostname: (row.hostname as string | null) ?? null,
    version: (row.version as string | null) ?? null,
    platform: (row.platform as string | null) ?? null,
    arch: (row.arch as string | null) ?? null,
    capabilities: (json(row.capabilities) as string[] | null) ?? [],
    last_seen_at: (row.last_seen_at as number | null) ?? null,
    connected_at: (row.connected_at as number | null) ?? null,
    session_id: (row.session_id as string | null) ?? null,
    created_at: row.created_at as number,
    revoked_at: (row.revoked_at as number | null) ?? null,
    policy_version_applied: (row.policy_version_applied as number | null) ?? null,
  };
}

export function commandFromRow(row: Row): CommandRecord {
  return {
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    agent_id: row.agent_id as string,
    name: row.name as string,
    params: json(row.params),
    status: row.status as CommandRecord["status"],
    result: json(row.result),
    error: json(row.error) as CommandRecord["error"],
    actor: row.actor as string,
    idempotency_key: (row.idempotency_key as string | null) ?? null,
    request_hash: (row.request_hash as string | null) ?? null,
    timeout_ms: row.timeout_ms as number,
    created_at: row.created_at as number,
    dispatched_at: (row.dispatched_at as number | null) ?? null,
    started_at: (row.started_at as number | null) ?? null,
    finished_at: (row.finished_at as number | null) ?? null,
    expires_at: row.expires_at as number,
    cancel_requested_at: (row.cancel_requested_at as number | null) ?? null,
    attempts: row.attempts as number,
  };
}

export function auditFromRow(row: Row): AuditEntry {
  return {
    id: row.id as number,
    tenant_id: row.tenant_id as string,
    actor: row.actor as string,
    action: row.action as string,
    target_type: row.target_type as string,
    target_id: (row.target_id as string | null) ?? null,
    details: json(row.details),
    created_at: row.created_at as number,
  };
}

export function roleOf(value: unknown): Role {
  return value as Role;
}
