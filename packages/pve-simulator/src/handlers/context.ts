import type { Caller } from "../auth.js";
import { checkPrivileges, hasPrivilege } from "../auth.js";
import { paramError } from "../errors.js";
import { FileLocks } from "../flock.js";
import type { PveState } from "../state.js";
import type { TaskRun, Tasks } from "../tasks.js";
import type { Value } from "../validate.js";

export interface SimulatorTimings {
  /** Power tasks (start, stop, reset, suspend, resume, reboot). */
  powerMs: number;
  /** A graceful shutdown (default: powerMs). */
  shutdownMs?: number;
  /** A clone task (disk copy or linked clone). */
  cloneMs: number;
  /** Other tasks: template, destroy, snapshots, async config, resize. */
  taskMs: number;
  /**
   * Contention injection, off by default (0): hold the clone source's config lock exclusively
   * for this long in the API call before forking, as a stricter PVE would, so overlapping clones
   * of one template fail with "can't lock file … got timeout". PVE 9 itself takes a shared lock.
   */
  cloneFileLockMs: number;
  /** `lock_config`'s wait for a VM's config flock (PVE: 10 s). */
  configLockTimeoutMs: number;
  /** The clone worker's wait for the source and target flocks (PVE: 1 s). */
  cloneLockTimeoutMs: number;
}

export const DEFAULT_TIMINGS: SimulatorTimings = { powerMs: 150, cloneMs: 400, taskMs: 150, cloneFileLockMs: 0, configLockTimeoutMs: 10_000, cloneLockTimeoutMs: 1_000 };

export interface HandlerContext {
  /** Validated parameters, typed (path, query and body together). */
  params: Record<string, Value>;
  caller: Caller;
  state: PveState;
  tasks: Tasks;
  timings: SimulatorTimings;
}

export type Handler = (ctx: HandlerContext) => unknown;

export const str = (ctx: HandlerContext, name: string) => String(ctx.params[name]);
export const num = (ctx: HandlerContext, name: string) => Number(ctx.params[name]);
export const opt = (ctx: HandlerContext, name: string) => (ctx.params[name] === undefined ? undefined : String(ctx.params[name]));

/** The user id as PVE's RPC environment has it (for a token: USER@REALM!TOKENID). */
export const authuser = (ctx: HandlerContext) => ctx.caller.tokenId;

/** Options only root@pam may pass ("Only root may use this option."); a token is never root@pam. */
export function rootOnly(ctx: HandlerContext, ...names: string[]): void {
  for (const name of names) if (ctx.params[name] && authuser(ctx) !== "root@pam") throw paramError({ [name]: "Only root may use this option." });
}

export const check = (ctx: HandlerContext, path: string, privileges: string[], any = false) => checkPrivileges(ctx.caller.grant, path, privileges, any);
export const allowed = (ctx: HandlerContext, path: string, privilege: string) => hasPrivilege(ctx.caller.grant, path, privilege);

/** `$rpcenv->fork_worker(type, id, user, code)` on the request's node. */
export function worker(ctx: HandlerContext, type: string, id: string | number, run: (task: TaskRun) => Promise<void> | void): string {
  return ctx.tasks.start({ node: str(ctx, "node"), type, id, user: authuser(ctx), run });
}

/** `PVE::QemuConfig->lock_config_full($vmid, timeout, code)` (or lock_config_shared). */
export function lockConfig<T>(ctx: HandlerContext, vmid: number, work: () => Promise<T> | T, options: { shared?: boolean; timeoutMs?: number } = {}): Promise<T> {
  return ctx.state.locks.with(str(ctx, "node"), FileLocks.qemuConf(vmid), { shared: options.shared ?? false, timeoutMs: options.timeoutMs ?? ctx.timings.configLockTimeoutMs }, work);
}
