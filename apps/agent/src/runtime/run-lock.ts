import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sqliteOptions } from "../native/native-addons.js";
import { readRunState } from "./state-file.js";

/**
 * One `botmox-agent run` per home. A second one would take the first one's running commands for
 * interrupted ones and fight it for the agent's session. The lock is an exclusive SQLite lock held
 * for the life of the process: the OS releases it however the process ends. Returns the release.
 */
export function lockHome(home: string): () => void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const db = new Database(join(home, "run.lock"), { ...(sqliteOptions() as Database.Options), timeout: 0 });
  try {
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if (!/^SQLITE_BUSY/.test((err as { code?: string }).code ?? "")) throw err;
    const pid = readRunState(home)?.pid;
    throw new Error(`Another botmox-agent run${pid ? ` (pid ${pid})` : ""} is already using ${home}; stop it first (a service, perhaps) or give this one its own BOTMOX_AGENT_HOME`);
  }
  return () => db.close();
}
