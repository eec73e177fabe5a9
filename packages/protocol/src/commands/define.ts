import type { z } from "zod";

export interface CommandSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  description: string;
  params: P;
  result: R;
  /** Execution timeout used when the operator gives none. */
  defaultTimeoutMs: number;
  /** Whether the command changes the world (VM state, SyncThing config); read-only ones are safe to retry. */
  mutating: boolean;
}

export function defineCommand<P extends z.ZodType, R extends z.ZodType>(spec: CommandSpec<P, R>): CommandSpec<P, R> {
  return spec;
}
