import { flattenIssues } from "@botmox/protocol";
import type { z } from "zod";
import { ApiError } from "../errors/api-error.js";

/** Parses a part of the request; a failure is a 400 naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "params"): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    throw new ApiError("BAD_REQUEST", `Invalid request ${where}`, flattenIssues(parsed.error, where === "body" ? "" : where));
  }
  return parsed.data;
}
