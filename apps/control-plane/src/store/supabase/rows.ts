import type { StoragePolicy } from "@botmox/protocol";
import { rowMappers, type Row } from "../row-mappers.js";
import type { ApiKeyRecord, Millis, Tenant } from "../types.js";

export type { Row };

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

/** PostgREST hands JSON back parsed and timestamptz as ISO 8601 text. */
export const { agent: agentFromRow, command: commandFromRow, audit: auditFromRow } = rowMappers({ json: (value) => value, time: millis });

export function policyFromRow(row: Row): StoragePolicy {
  return {
    secrets: "local-only",
    operational: row.operational as StoragePolicy["operational"],
    sync: { enabled: row.sync_enabled === true },
    updated_at: millis(row.updated_at),
    updated_by: (row.updated_by as string | null) ?? null,
  };
}
