import { exitStatusOf } from "./errors.js";

export interface Task {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  /** Who started it, as the UPID has it: `root@pam!botmox` for a token. */
  user: string;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

/** What a worker gets: its log, warnings (which end the task in "WARNINGS: n") and time. */
export interface TaskRun {
  readonly task: Task;
  log(...lines: string[]): void;
  warn(line: string): void;
  sleep(ms: number): Promise<void>;
}

/** Which tasks a rule applies to. */
interface TaskMatch {
  /** Task type (`qmstart`, `qmclone`, …) or a pattern. */
  type?: string | RegExp;
  /** The task's id field (the VM id for qm* tasks). */
  id?: string | number;
  /** Only this many matching tasks (default: all). */
  times?: number;
}

/** Make matching tasks do their work and log these warnings, so they end in "WARNINGS: n" (a success for PVE). */
export interface TaskWarningRule extends TaskMatch {
  warnings: string[];
}

/** Make matching tasks end with this exitstatus instead of doing their work (failure injection). */
export interface TaskFailureRule extends TaskMatch {
  exitstatus: string;
  /** Lines logged before the error. */
  log?: string[];
  /** How long the failing task runs (default 20 ms). */
  afterMs?: number;
  /** Fail a matching task with this probability (default 1). */
  probability?: number;
}

// Fake process ids and a boot time, so UPIDs look like a real node's (pid, pstart in clock ticks).
let nextPid = 100_000 + Math.floor(Math.random() * 100_000);
const BOOT_MS = Date.now() - 3 * 86_400_000;
const hex = (value: number) => value.toString(16).toUpperCase().padStart(8, "0");

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** UPID tasks: they run asynchronously, write a log and end with exitstatus OK, WARNINGS: n or an error. */
export class Tasks {
  readonly all = new Map<string, Task>();

  constructor(
    readonly failures: TaskFailureRule[] = [],
    readonly warnings: TaskWarningRule[] = [],
  ) {}

  /** Forks a "worker" and returns its UPID at once, as `$rpcenv->fork_worker` does. */
  start(input: { node: string; type: string; id: string | number; user: string; run: (run: TaskRun) => Promise<void> | void }): string {
    const pid = nextPid++;
    const pstart = Math.floor((Date.now() - BOOT_MS) / 10);
    const starttime = Math.floor(Date.now() / 1000);
    const upid = `UPID:${input.node}:${hex(pid)}:${hex(pstart)}:${hex(starttime)}:${input.type}:${input.id}:${input.user}:`;
    const task: Task = { upid, node: input.node, pid, pstart, starttime, type: input.type, id: String(input.id), user: input.user, status: "running", log: [] };
    this.all.set(upid, task);
    let warnings = 0;
    const run: TaskRun = {
      task,
      log: (...lines) => task.log.push(...lines.flatMap((line) => line.split("\n"))),
      warn: (line) => {
        warnings++;
        task.log.push(`WARN: ${line}`);
      },
      sleep,
    };
    const injected = this.injectedFailure(task);
    const warned = injected ? undefined : matching(this.warnings, task);
    const work = injected
      ? async () => {
          for (const line of injected.log ?? []) run.log(line);
          await sleep(injected.afterMs ?? 20);
          throw new Error(injected.exitstatus);
        }
      : async () => {
          await input.run(run);
          for (const line of warned?.warnings ?? []) run.warn(line);
        };
    // Let the API call return its UPID before the worker does anything, as a forked worker would.
    void sleep(0)
      .then(work)
      .then(
        () => {
          task.exitstatus = warnings ? `WARNINGS: ${warnings}` : "OK";
          task.log.push(warnings ? `TASK WARNINGS: ${warnings}` : "TASK OK");
        },
        (err: unknown) => {
          task.exitstatus = exitStatusOf(err);
          task.log.push(`TASK ERROR: ${task.exitstatus}`);
        },
      )
      .finally(() => {
        task.status = "stopped";
        task.endtime = Math.floor(Date.now() / 1000);
      });
    return upid;
  }

  private injectedFailure(task: Task): TaskFailureRule | undefined {
    return matching(this.failures, task, (rule) => Math.random() < (rule.probability ?? 1));
  }
}

/** The first rule for this task that has uses left (and passes `accept`), which uses one up. */
function matching<R extends TaskMatch>(rules: R[], task: Task, accept: (rule: R) => boolean = () => true): R | undefined {
  const rule = rules.find(
    (candidate) =>
      (candidate.times === undefined || candidate.times > 0) &&
      (candidate.type === undefined || (typeof candidate.type === "string" ? candidate.type === task.type : candidate.type.test(task.type))) &&
      (candidate.id === undefined || String(candidate.id) === task.id),
  );
  if (!rule || !accept(rule)) return undefined;
  if (rule.times !== undefined) rule.times--;
  return rule;
}
