import type { TokenGrant } from "../auth.js";
import type { PveState } from "../state.js";
import type { Tasks } from "../tasks.js";

export interface SimulatorTimings {
  /** Duration of power tasks (start, stop, …). */
  powerMs: number;
  /** Duration of a clone task. */
  cloneMs: number;
  /** How long a clone holds the source's config-file lock; overlapping clones fail with "can't lock file". */
  cloneFileLockMs: number;
  /** Other tasks (template, delete, snapshot, config, resize). */
  taskMs: number;
}

export interface HandlerContext {
  params: Record<string, string | number | boolean>;
  grant: TokenGrant;
  user: string;
  state: PveState;
  tasks: Tasks;
  timings: SimulatorTimings;
}

export type Handler = (ctx: HandlerContext) => unknown;

export const str = (ctx: HandlerContext, name: string) => String(ctx.params[name]);
export const num = (ctx: HandlerContext, name: string) => Number(ctx.params[name]);
