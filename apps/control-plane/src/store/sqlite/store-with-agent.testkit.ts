import { SqliteStore } from "./sqlite-store.js";

/** A real SQLite store in `file` with one tenant and one registered agent. */
export async function storeWithAgent(file: string) {
  const store = new SqliteStore(file);
  const tenant = await store.createTenant("t");
  await store.createPairing({ tenant_id: tenant.id, code_hash: "code", expires_at: Date.now() + 60_000, created_by: "test" });
  const { agent_id } = await store.registerAgent({ code_hash: "code", public_key: "k", hostname: null, now: Date.now() });
  return { store, tenant, agent_id };
}
