import type { TokenGrant } from "../auth.js";
import { PveState, type Vm } from "../state.js";
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

/**
 * A task that holds the VM's lock while it runs (PVE's `lock: snapshot`, `template`, …): other
 * operations on the VM fail with "VM is locked (…)" until it ends.
 */
export function lockedTask(ctx: HandlerContext, vm: Vm, input: { type: string; lock: string; run: (log: (line: string) => void) => void }): string {
  PveState.assertUnlocked(vm);
  vm.lock = input.lock;
  return ctx.tasks.start({
    node: vm.node,
    type: input.type,
    id: vm.vmid,
    user: ctx.user,
    durationMs: ctx.timings.taskMs,
    run: (log) => {
      delete vm.lock;
      input.run(log);
    },
  });
}
