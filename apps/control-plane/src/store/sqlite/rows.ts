import { rowMappers } from "../row-mappers.js";

/** SQLite keeps JSON as text and times as epoch milliseconds. */
export const { agent: agentFromRow, command: commandFromRow, audit: auditFromRow } = rowMappers({
  json: (value) => JSON.parse(value as string),
  time: (value) => value as number,
});

/** The columns `commandFromValues` reads, in order: raw rows spare the driver building an object per row. */
export const COMMAND_COLUMNS =
  "id, tenant_id, agent_id, name, params, status, result, error, actor, idempotency_key, request_hash, timeout_ms, created_at, dispatched_at, started_at, finished_at, expires_at, cancel_requested_at, attempts";

export function commandFromValues(v: unknown[]) {
  return commandFromRow({
    id: v[0],
    tenant_id: v[1],
    agent_id: v[2],
    name: v[3],
    params: v[4],
    status: v[5],
    result: v[6],
    error: v[7],
    actor: v[8],
    idempotency_key: v[9],
    request_hash: v[10],
    timeout_ms: v[11],
    created_at: v[12],
    dispatched_at: v[13],
    started_at: v[14],
    finished_at: v[15],
    expires_at: v[16],
    cancel_requested_at: v[17],
    attempts: v[18],
  });
}
