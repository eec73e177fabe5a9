import type { Store } from "../types.js";

export const SupabaseStore = {
  async connect(_options: { url: string; serviceRoleKey: string }): Promise<Store> {
    throw new Error("DATA_BACKEND=supabase is not available in this build yet; use DATA_BACKEND=sqlite");
  },
};
