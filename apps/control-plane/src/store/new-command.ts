import type { CommandRecord, NewCommand } from "./types.js";

/** The row a store inserts for a new command, queued or (with a free agent slot) already dispatched. */
export function newCommandRecord(command: NewCommand, dispatchNow: boolean): CommandRecord {
  return {
    ...command,
    status: dispatchNow ? "dispatched" : "queued",
    result: null,
    error: null,
    dispatched_at: dispatchNow ? command.created_at : null,
    started_at: null,
    finished_at: null,
    cancel_requested_at: null,
    attempts: dispatchNow ? 1 : 0,
  };
}
