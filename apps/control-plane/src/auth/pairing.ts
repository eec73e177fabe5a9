import type { Store } from "../store/types.js";
import { generatePairingCode, sha256Hex } from "./secrets.js";

/** How long a pairing code may live at most: it is a 40-bit secret. */
export const MAX_PAIRING_TTL_MS = 24 * 3_600_000;

export function isPairingTtl(ttlMs: number): boolean {
  return Number.isSafeInteger(ttlMs) && ttlMs >= 1_000 && ttlMs <= MAX_PAIRING_TTL_MS;
}

/** A one-time pairing code; only its hash is stored. */
export async function createPairingCode(store: Store, tenantId: string, ttlMs: number, createdBy: string): Promise<{ code: string; expires_at: string }> {
  if (!isPairingTtl(ttlMs)) throw new RangeError(`A pairing code lives 1 s to 24 h, not ${ttlMs} ms`);
  const code = generatePairingCode();
  const expiresAt = Date.now() + ttlMs;
  await store.createPairing({ tenant_id: tenantId, code_hash: sha256Hex(code), expires_at: expiresAt, created_by: createdBy });
  return { code, expires_at: new Date(expiresAt).toISOString() };
}
