import { PveError } from "./errors.js";
import type { TaskFailureRule } from "./tasks.js";

/** Make matching API calls fail the way PVE would have answered (failure injection). */
export interface FailureRule {
  method?: string;
  /** The path below /api2/json (`/nodes/pve1/qemu/100/status/start`): a pattern, or that exact path or its template. */
  path: RegExp | string;
  /** HTTP status (default 500). */
  status?: number;
  /** PVE's message, e.g. "VM is locked (backup)". */
  message: string;
  /** Per-parameter errors for a 400. */
  errors?: Record<string, string>;
  /** Fail only this many matching calls (default: all). */
  times?: number;
  /** Fail a matching call with this probability (default 1). */
  probability?: number;
}

/** The injected failure for this call, if a rule matches (consuming one of its `times`). */
export function injectedFailure(rules: FailureRule[], method: string, path: string, template: string): PveError | undefined {
  for (const rule of rules) {
    if (rule.method && rule.method.toUpperCase() !== method) continue;
    if (rule.times !== undefined && rule.times <= 0) continue;
    const matches = typeof rule.path === "string" ? rule.path === path || rule.path === template : rule.path.test(path);
    if (!matches) continue;
    if (Math.random() >= (rule.probability ?? 1)) return undefined;
    if (rule.times !== undefined) rule.times--;
    const message = rule.message.endsWith("\n") ? rule.message : `${rule.message}\n`;
    return new PveError(rule.status ?? 500, message, rule.errors);
  }
  return undefined;
}

/**
 * A network fault, not an answer of PVE: a matching call is carried out, then the connection
 * drops before the answer goes out (a pveproxy restart, a NAT or load balancer losing the flow).
 */
export interface LostAnswerRule {
  method?: string;
  /** The path below /api2/json: a pattern, or that exact path. */
  path: RegExp | string;
  /** Lose only this many answers (default: all). */
  times?: number;
}

/** Whether this call's answer is to be lost (consuming one of the rule's `times`). */
export function answerLost(rules: LostAnswerRule[], method: string, path: string): boolean {
  for (const rule of rules) {
    if (rule.method && rule.method.toUpperCase() !== method) continue;
    if (rule.times !== undefined && rule.times <= 0) continue;
    if (typeof rule.path === "string" ? rule.path !== path : !rule.path.test(path)) continue;
    if (rule.times !== undefined) rule.times--;
    return true;
  }
  return false;
}

/**
 * A CLI spec: `[METHOD ]PATH_REGEX=STATUS:MESSAGE[;times=N][;p=P]`, e.g.
 * `POST /clone$=500:can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout;times=2`.
 */
export function parseFailureSpec(spec: string): FailureRule {
  const [head = "", ...options] = spec.split(";");
  const match = /^(?:(GET|POST|PUT|DELETE)\s+)?(\S+?)=(\d{3}):(.*)$/i.exec(head);
  if (!match) throw new Error(`invalid --fail spec '${spec}' (want [METHOD ]PATH_REGEX=STATUS:MESSAGE[;times=N][;p=P])`);
  const rule: FailureRule = { path: new RegExp(match[2]!), status: Number(match[3]), message: match[4]!, ...(match[1] ? { method: match[1].toUpperCase() } : {}) };
  for (const option of options) {
    const [key, value] = option.split("=");
    if (key === "times") rule.times = Number(value);
    else if (key === "p") rule.probability = Number(value);
    else throw new Error(`invalid --fail option '${option}'`);
  }
  return rule;
}

/** A CLI spec for a failing task: `TYPE[:VMID]=EXITSTATUS[;times=N][;p=P]`, e.g. `qmstart:102=start failed: QEMU exited with code 1`. */
export function parseTaskFailureSpec(spec: string): TaskFailureRule {
  const [head = "", ...options] = spec.split(";");
  const match = /^([a-z]+)(?::(\d+))?=(.+)$/i.exec(head);
  if (!match) throw new Error(`invalid --fail-task spec '${spec}' (want TYPE[:VMID]=EXITSTATUS[;times=N][;p=P])`);
  const rule: TaskFailureRule = { type: match[1]!, exitstatus: match[3]!, ...(match[2] ? { id: match[2] } : {}) };
  for (const option of options) {
    const [key, value] = option.split("=");
    if (key === "times") rule.times = Number(value);
    else if (key === "p") rule.probability = Number(value);
    else throw new Error(`invalid --fail-task option '${option}'`);
  }
  return rule;
}
