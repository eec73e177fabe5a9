export interface Task {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  pid: number;
  pstart: number;
  starttime: number;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

let pid = 0x1000;

/** UPID tasks: they take time, write a log and end with exitstatus OK or an error text. */
export class Tasks {
  readonly all = new Map<string, Task>();

  start(input: { node: string; type: string; id: string | number; user: string; durationMs: number; run: (log: (line: string) => void) => void }): string {
    const starttime = Math.floor(Date.now() / 1000);
    pid++;
    const pstart = Math.floor(process.uptime() * 100);
    const hex = (value: number, width: number) => value.toString(16).toUpperCase().padStart(width, "0");
    const upid = `UPID:${input.node}:${hex(pid, 8)}:${hex(pstart, 8)}:${hex(starttime, 8)}:${input.type}:${input.id}:${input.user}:`;
    const task: Task = { upid, node: input.node, type: input.type, id: String(input.id), user: input.user, pid, pstart, starttime, status: "running", log: [] };
    this.all.set(upid, task);
    const log = (line: string) => task.log.push(line);
    setTimeout(() => {
      try {
        input.run(log);
        task.exitstatus = "OK";
        log("TASK OK");
      } catch (err) {
        const message = (err as Error).message;
        task.exitstatus = message;
        log(`TASK ERROR: ${message}`);
      }
      task.status = "stopped";
      task.endtime = Math.floor(Date.now() / 1000);
    }, input.durationMs).unref();
    return upid;
  }
}
