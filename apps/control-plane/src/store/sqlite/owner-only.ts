import { chmodSync, statSync } from "node:fs";

/**
 * Earlier versions left the database readable by every local user (0644): it holds tenants'
 * commands and results and the hashes of keys and pairing codes. Files of ours are made 0600
 * (the umask covers new ones); someone else's are left alone.
 */
export function restrictToOwner(databaseFile: string): void {
  if (process.platform === "win32") return;
  for (const path of [databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`]) {
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") continue; // not there (yet)
      throw err;
    }
    if (stat.uid === process.getuid?.() && (stat.mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
}
