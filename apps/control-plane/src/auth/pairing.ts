import type { Store } from "../store/types.js";
import { generatePairingCode, sha256Hex } from "./secrets.js";

/** A one-time pairing code; only its hash is stored. */
export async function createPairingCode(store: Store, tenantId: string, ttlMs: number, createdBy: string): Promise<{ code: string; expires_at: string }> {
  const code = generatePairingCode();
  const expiresAt = Date.now() + ttlMs;
  await store.createPairing({ tenant_id: tenantId, code_hash: sha256Hex(code), expires_at: expiresAt, created_by: createdBy });
  return { code, expires_at: new Date(expiresAt).toISOString() };
}
