import type { CommandRecord, NewCommand } from "./types.js";

/** The row a store inserts for a new command, queued or (with a free agent slot) already dispatched. */
export function newCommandRecord(command: NewCommand, dispatchNow: boolean): CommandRecord {
  // Spelled out rather than spread: this runs for every command and a literal is much cheaper.
  return {
    id: command.id,
    tenant_id: command.tenant_id,
    agent_id: command.agent_id,
    name: command.name,
    params: command.params,
    status: dispatchNow ? "dispatched" : "queued",
    result: null,
    error: null,
    actor: command.actor,
    idempotency_key: command.idempotency_key,
    request_hash: command.request_hash,
    timeout_ms: command.timeout_ms,
    created_at: command.created_at,
    dispatched_at: dispatchNow ? command.created_at : null,
    started_at: null,
    finished_at: null,
    expires_at: command.expires_at,
    cancel_requested_at: null,
    attempts: dispatchNow ? 1 : 0,
  };
}
