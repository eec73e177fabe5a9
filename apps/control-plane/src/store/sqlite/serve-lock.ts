import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/**
 * One `botmox-cp serve` per SQLite data directory: the store takes whatever sessions it finds
 * online at start for its own previous run's, so a second server would mark the first one's agents
 * offline. An exclusive SQLite lock held for the life of the process (the OS releases it however
 * the process ends); the admin commands do not take it. Returns the release.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dir, "serve.lock"), { timeout: 0 });
  try {
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if (!/^SQLITE_BUSY/.test((err as { code?: string }).code ?? "")) throw err;
    throw new Error(`Another botmox-cp serve is already using ${dir}; stop it first or give this one its own BOTMOX_DATA_DIR`);
  }
  return () => db.close();
}
