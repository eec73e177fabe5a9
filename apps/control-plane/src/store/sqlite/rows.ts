import { rowMappers } from "../row-mappers.js";

/** SQLite keeps JSON as text and times as epoch milliseconds. */
export const { agent: agentFromRow, command: commandFromRow, audit: auditFromRow } = rowMappers({
  json: (value) => JSON.parse(value as string),
  time: (value) => value as number,
});

/** The command columns in the order raw rows list them: raw rows spare the driver building an object per row. */
const COMMAND_FIELDS = [
  "id", "tenant_id", "agent_id", "name", "params", "status", "result", "error", "actor", "idempotency_key", "request_hash",
  "timeout_ms", "created_at", "dispatched_at", "started_at", "finished_at", "expires_at", "cancel_requested_at", "attempts",
] as const;

export const COMMAND_COLUMNS = COMMAND_FIELDS.join(", ");

/** A command from a raw row selected with COMMAND_COLUMNS. */
export function commandFromValues(values: readonly unknown[]) {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < COMMAND_FIELDS.length; i++) row[COMMAND_FIELDS[i]!] = values[i];
  return commandFromRow(row);
}
