import type { Store } from "../store/types.js";
import { pairingCodeHash } from "./pairing-key.js";
import { generatePairingCode } from "./secrets.js";

/** How long a pairing code may live at most: it is a 40-bit secret. */
export const MAX_PAIRING_TTL_MS = 24 * 3_600_000;

export function isPairingTtl(ttlMs: number): boolean {
  return Number.isSafeInteger(ttlMs) && ttlMs >= 1_000 && ttlMs <= MAX_PAIRING_TTL_MS;
}

/** One-time pairing codes; the store keeps only their keyed hashes (see pairing-key.ts). */
export class PairingCodes {
  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
  ) {}

  async create(tenantId: string, ttlMs: number, createdBy: string): Promise<{ code: string; expires_at: string }> {
    if (!isPairingTtl(ttlMs)) throw new RangeError(`A pairing code lives 1 s to 24 h, not ${ttlMs} ms`);
    const code = generatePairingCode();
    const expiresAt = Date.now() + ttlMs;
    await this.store.createPairing({ tenant_id: tenantId, code_hash: pairingCodeHash(this.key, code), expires_at: expiresAt, created_by: createdBy });
    return { code, expires_at: new Date(expiresAt).toISOString() };
  }

  /** Consumes a well-formed, normalized code and registers the agent; the store's errors say why a code is refused. */
  register(input: { code: string; public_key: string; hostname: string | null; now: number }): Promise<{ agent_id: string; tenant_id: string }> {
    return this.store.registerAgent({ code_hash: pairingCodeHash(this.key, input.code), public_key: input.public_key, hostname: input.hostname, now: input.now });
  }
}
