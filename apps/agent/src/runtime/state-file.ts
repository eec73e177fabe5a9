import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What a running agent tells `botmox-agent status` about itself. */
export interface RunState {
  pid: number;
  started_at: string;
  connected: boolean;
  session_id: string | null;
  changed_at: string;
}

const file = (home: string) => join(home, "state.json");

export function writeRunState(home: string, state: RunState): void {
  const tmp = `${file(home)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state) + "\n");
  renameSync(tmp, file(home));
}

export function readRunState(home: string): RunState | null {
  try {
    return JSON.parse(readFileSync(file(home), "utf8")) as RunState;
  } catch {
    return null;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
