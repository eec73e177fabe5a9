import Database from "better-sqlite3";
import { sqliteOptions } from "../native/native-addons.js";

export interface InventoryItem {
  kind: string;
  target: string;
  key: string;
  data: Record<string, unknown>;
}

export type StoredInventoryItem = InventoryItem & { collected_at: number };

/** The agent's own copy of its targets' inventory: the only copy for "local" tenants. */
export class InventoryStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, sqliteOptions() as Database.Options);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`CREATE TABLE IF NOT EXISTS inventory (
      kind TEXT NOT NULL, target TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, collected_at INTEGER NOT NULL,
      PRIMARY KEY (kind, target, key)) WITHOUT ROWID`);
  }

  /** The whole inventory becomes `items`; those read now get `collectedAt`, carried-over ones keep when they were read. */
  replace(items: Array<InventoryItem & { collected_at?: number }>, collectedAt: number): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM inventory").run();
      const insert = this.db.prepare("INSERT OR REPLACE INTO inventory (kind, target, key, data, collected_at) VALUES (?, ?, ?, ?, ?)");
      for (const item of items) insert.run(item.kind, item.target, item.key, JSON.stringify(item.data), item.collected_at ?? collectedAt);
    })();
  }

  all(): StoredInventoryItem[] {
    return this.rows(this.db.prepare("SELECT * FROM inventory ORDER BY kind, target, key").all());
  }

  /** What `target` answered last time it answered. */
  ofTarget(target: string): StoredInventoryItem[] {
    return this.rows(this.db.prepare("SELECT * FROM inventory WHERE target = ? ORDER BY kind, key").all(target));
  }

  private rows(rows: unknown[]): StoredInventoryItem[] {
    return (rows as Array<Record<string, unknown>>).map((row) => ({
      kind: row.kind as string,
      target: row.target as string,
      key: row.key as string,
      data: JSON.parse(row.data as string) as Record<string, unknown>,
      collected_at: row.collected_at as number,
    }));
  }

  close(): void {
    this.db.close();
  }
}
