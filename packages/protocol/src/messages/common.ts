import { z } from "zod";
import { errorBodySchema } from "../errors.js";

export const commandIdSchema = z.string().uuid();

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
  started_at: z.number().int().optional(),
  finished_at: z.number().int(),
});
export type CommandOutcome = z.infer<typeof commandOutcomeSchema>;
