import Database from "better-sqlite3";
import { join } from "node:path";

/** Every table and column of the control plane's SQLite store, searched for each marker. */
export function scanControlPlaneDb(dataDir: string, markers: string[]): Record<string, string[]> {
  const db = new Database(join(dataDir, "control-plane.db"), { readonly: true, fileMustExist: true });
  try {
    const hits: Record<string, string[]> = {};
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
        for (const [column, value] of Object.entries(row)) {
          const text = value === null ? "" : String(value);
          for (const marker of markers) if (text.includes(marker)) (hits[marker] ??= []).push(`${table}.${column}`);
        }
      }
    }
    return hits;
  } finally {
    db.close();
  }
}
