import { z } from "zod";
import { errorBodySchema } from "../errors.js";
import { MAX_TIMER_MS } from "../limits.js";

export const commandIdSchema = z.string().uuid();

/** Milliseconds since 1970 that a Date can hold: anything else would be stored and then fail every read. */
export const epochMsSchema = z.number().int().min(0).max(8_640_000_000_000_000);
/** A delay Node's timers can wait for: a longer one fires after 1 ms. */
export const timerMsSchema = z.number().int().positive().max(MAX_TIMER_MS);

export const finalCommandStatusSchema = z.enum(["succeeded", "failed", "cancelled", "expired"]);
export const commandStatusSchema = z.enum(["queued", "dispatched", "running", "succeeded", "failed", "cancelled", "expired"]);
export type CommandStatus = z.infer<typeof commandStatusSchema>;
export type FinalCommandStatus = z.infer<typeof finalCommandStatusSchema>;

export const FINAL_STATUSES: readonly CommandStatus[] = finalCommandStatusSchema.options;
export function isFinalStatus(status: CommandStatus): status is FinalCommandStatus {
  return FINAL_STATUSES.includes(status);
}

export const commandOutcomeSchema = z.object({
  id: commandIdSchema,
  status: z.enum(["succeeded", "failed", "cancelled"]),
  result: z.unknown().optional(),
  error: errorBodySchema.optional(),
  started_at: epochMsSchema.optional(),
  finished_at: epochMsSchema,
});
export type CommandOutcome = z.infer<typeof commandOutcomeSchema>;

/** The outcome as a failure that says why its result or error could not be kept; its times stay. */
export function withheldOutcome(outcome: CommandOutcome, code: string, message: string): CommandOutcome {
  return {
    id: outcome.id,
    status: "failed",
    ...(outcome.started_at !== undefined ? { started_at: outcome.started_at } : {}),
    finished_at: outcome.finished_at,
    error: { code, message },
  };
}
