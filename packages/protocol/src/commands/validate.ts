import type { z } from "zod";
import { flattenIssues, type FieldIssue } from "../frame.js";
import { COMMANDS, isCommandName, type CommandName } from "./catalog.js";

export type ParamsCheck =
  | { ok: true; name: CommandName; params: unknown }
  | { ok: false; code: "UNKNOWN_COMMAND" | "INVALID_PARAMS"; message: string; details: FieldIssue[] };

/** Checks a command request against the catalog; both the control plane (before queueing) and the agent (before running) use it. */
export function validateCommandParams(name: string, params: unknown): ParamsCheck {
  if (!isCommandName(name)) {
    const known = Object.keys(COMMANDS).sort().join(", ");
    return { ok: false, code: "UNKNOWN_COMMAND", message: `Unknown command "${name}"`, details: [{ path: "name", message: `not in the catalog; known: ${known}` }] };
  }
  const schema: z.ZodType = COMMANDS[name].params;
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) {
    return { ok: false, code: "INVALID_PARAMS", message: `Invalid params for "${name}"`, details: flattenIssues(parsed.error, "params") };
  }
  return { ok: true, name, params: parsed.data };
}
