import { sqliteFile, type Config } from "../config.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Logger } from "../logger.js";
import type { Store } from "./types.js";

export async function openStore(config: Config, log?: Logger): Promise<Store> {
  switch (config.DATA_BACKEND) {
    case "sqlite":
      return new SqliteStore(sqliteFile(config));
    case "supabase": {
      const { SupabaseStore } = await import("./supabase/supabase-store.js");
      return SupabaseStore.connect({ url: config.SUPABASE_URL!, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY!, ...(log ? { log } : {}) });
    }
  }
}
