import { flattenIssues } from "@botmox/protocol";
import type { z } from "zod";
import { ApiError } from "../errors/api-error.js";

/** Parses a part of the request; a failure is a 400 naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "params"): z.output<S> {
  if (where === "query") refuseRepeats(value);
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    throw new ApiError("BAD_REQUEST", `Invalid request ${where}`, flattenIssues(parsed.error, where === "body" ? "" : where));
  }
  return parsed.data;
}

/** No query parameter of this API takes several values: `?wait=1&wait=2` is a mistake worth naming. */
function refuseRepeats(query: unknown): void {
  const repeated = Object.entries((query ?? {}) as Record<string, unknown>).filter(([, value]) => Array.isArray(value));
  if (repeated.length > 0) {
    throw new ApiError("BAD_REQUEST", "Invalid request query", repeated.map(([name]) => ({ path: `query.${name}`, message: "given more than once" })));
  }
}
