import type { StoragePolicy } from "@botmox/protocol";
import type { AgentRecord, ApiKeyRecord, AuditEntry, CommandRecord, Millis, Tenant } from "../types.js";

/** A row as PostgREST (or to_jsonb in an RPC) returns it: timestamptz as ISO 8601 text. */
export type Row = Record<string, unknown>;

export const iso = (ms: Millis): string => new Date(ms).toISOString();
const millis = (value: unknown): Millis => Date.parse(value as string);
const millisOrNull = (value: unknown): Millis | null => (value === null || value === undefined ? null : millis(value));

export function tenantFromRow(row: Row): Tenant {
  return { id: row.id as string, name: row.name as string, created_at: millis(row.created_at) };
}

export function apiKeyFromRow(row: Row): ApiKeyRecord {
  return {
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    role: row.role as ApiKeyRecord["role"],
    key_prefix: row.key_prefix as string,
    created_at: millis(row.created_at),
    revoked_at: millisOrNull(row.revoked_at),
  };
}

export function agentFromRow(row: Row): AgentRecord {
  return {
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    name: (row.name as string | null) ?? null,
    public_key: (row.public_key as string | undefined) ?? "",
    status: row.status as AgentRecord["status"],
    hostname: (row.hostname as string | null) ?? null,
    version: (row.version as string | null) ?? null,
    platform: (row.platform as string | null) ?? null,
    arch: (row.arch as string | null) ?? null,
    capabilities: (row.capabilities as string[] | null) ?? [],
    last_seen_at: millisOrNull(row.last_seen_at),
    connected_at: millisOrNull(row.connected_at),
    session_id: (row.session_id as string | null) ?? null,
    created_at: millis(row.created_at),
    revoked_at: millisOrNull(row.revoked_at),
    policy_version_applied: row.policy_version_applied === null || row.policy_version_applied === undefined ? null : Number(row.policy_version_applied),
  };
}

export function commandFromRow(row: Row): CommandRecord {
  return {
    id: row.id as string,
    tenant_id: row.tenant_id as string,
    agent_id: row.agent_id as string,
    name: row.name as string,
    params: row.params ?? null,
    status: row.status as CommandRecord["status"],
    result: row.result ?? null,
    error: (row.error as CommandRecord["error"]) ?? null,
    actor: row.actor as string,
    idempotency_key: (row.idempotency_key as string | null) ?? null,
    request_hash: (row.request_hash as string | null) ?? null,
    timeout_ms: row.timeout_ms as number,
    created_at: millis(row.created_at),
    dispatched_at: millisOrNull(row.dispatched_at),
    started_at: millisOrNull(row.started_at),
    finished_at: millisOrNull(row.finished_at),
    expires_at: millis(row.expires_at),
    cancel_requested_at: millisOrNull(row.cancel_requested_at),
    attempts: row.attempts as number,
  };
}

export function auditFromRow(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    tenant_id: row.tenant_id as string,
    actor: row.actor as string,
    action: row.action as string,
    target_type: row.target_type as string,
    target_id: (row.target_id as string | null) ?? null,
    details: row.details ?? null,
    created_at: millis(row.created_at),
  };
}

export function policyFromRow(row: Row): StoragePolicy {
  return {
    secrets: "local-only",
    operational: row.operational as StoragePolicy["operational"],
    sync: { enabled: row.sync_enabled === true },
    updated_at: millis(row.updated_at),
    updated_by: (row.updated_by as string | null) ?? null,
  };
}
