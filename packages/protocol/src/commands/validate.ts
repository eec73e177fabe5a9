import type { z } from "zod";
import { flattenIssues, type FieldIssue } from "../frame.js";
import { COMMANDS, isCommandName, type CommandName } from "./catalog.js";

export type ParamsCheck =
  | { ok: true; name: CommandName; params: unknown }
  | { ok: false; code: "UNKNOWN_COMMAND" | "INVALID_PARAMS"; message: string; details: FieldIssue[] };

/**
 * How deep command data (params, a result, error details) may nest: schemas and JSON.stringify
 * walk it recursively, and a deeper value would exhaust the stack.
 */
export const MAX_DATA_DEPTH = 64;

/** The keys down to the first value nested `limit` levels deep; the recursion stops there, so it cannot exhaust the stack. */
function tooDeep(value: unknown, limit: number): string[] | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if (limit === 0) return [];
  for (const key of Object.keys(value)) {
    const below = tooDeep((value as Record<string, unknown>)[key], limit - 1);
    if (below) return [key, ...below];
  }
  return undefined;
}

/** The dotted path under `root` to the first value nested deeper than MAX_DATA_DEPTH levels; undefined when there is none. */
export function pathTooDeep(value: unknown, root: string): string | undefined {
  const keys = tooDeep(value, MAX_DATA_DEPTH);
  return keys ? [root, ...keys].join(".") : undefined;
}

/** Where an outcome's result or error details nest too deep to be handled (see MAX_DATA_DEPTH). */
export function outcomeTooDeep(outcome: { result?: unknown; error?: { details?: unknown } | null }): string | undefined {
  return pathTooDeep(outcome.result, "result") ?? pathTooDeep(outcome.error?.details, "error.details");
}

/** Checks a command request against the catalog; both the control plane (before queueing) and the agent (before running) use it. */
export function validateCommandParams(name: string, params: unknown): ParamsCheck {
  if (!isCommandName(name)) {
    const known = Object.keys(COMMANDS).sort().join(", ");
    return { ok: false, code: "UNKNOWN_COMMAND", message: `Unknown command "${name}"`, details: [{ path: "name", message: `not in the catalog; known: ${known}` }] };
  }
  const deep = pathTooDeep(params, "params");
  if (deep) {
    return { ok: false, code: "INVALID_PARAMS", message: `Invalid params for "${name}"`, details: [{ path: deep, message: `nested deeper than ${MAX_DATA_DEPTH} levels` }] };
  }
  const schema: z.ZodType = COMMANDS[name].params;
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) {
    return { ok: false, code: "INVALID_PARAMS", message: `Invalid params for "${name}"`, details: flattenIssues(parsed.error, "params") };
  }
  return { ok: true, name, params: parsed.data };
}
