import { readFileSync } from "node:fs";

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in microseconds; undefined off Linux. */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

/** Measures the CPU each named process spends while `work` runs, per unit of work done. */
export async function cpuPerUnit(pids: Record<string, number | undefined>, work: () => Promise<number>): Promise<Record<string, number>> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid)]));
  const selfBefore = process.cpuUsage();
  const units = await work();
  const self = process.cpuUsage(selfBefore);
  const perUnit: Record<string, number> = { load_generator: Math.round((self.user + self.system) / units) };
  for (const [name, pid] of Object.entries(pids)) {
    const start = before[name];
    const end = cpuMicros(pid);
    if (start !== undefined && end !== undefined) perUnit[name] = Math.round((end - start) / units);
  }
  return perUnit;
}
