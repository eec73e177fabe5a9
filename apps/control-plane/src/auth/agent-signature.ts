import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { AUTH_HEADERS, MAX_CLOCK_SKEW_MS, upgradeSigningString } from "@botmox/protocol";

// DER prefix of an Ed25519 SubjectPublicKeyInfo; followed by the 32 raw key bytes.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function publicKeyFromBase64(raw: string): KeyObject {
  const bytes = Buffer.from(raw, "base64");
  if (bytes.length !== 32) throw new Error("public_key must be 32 bytes of Ed25519 key, base64-encoded");
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), format: "der", type: "spki" });
}

export interface SignedUpgrade {
  agentId: string;
  timestamp: number;
  nonce: string;
  signature: Buffer;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Reads the four auth headers; returns a reason when one is missing or malformed. */
export function readSignedUpgrade(headers: HeaderBag): SignedUpgrade | { error: string } {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const agentId = one(AUTH_HEADERS.agentId);
  const timestamp = Number(one(AUTH_HEADERS.timestamp));
  const nonce = one(AUTH_HEADERS.nonce);
  const signature = one(AUTH_HEADERS.signature);
  if (!agentId || !/^[0-9a-f-]{36}$/i.test(agentId)) return { error: `missing or malformed ${AUTH_HEADERS.agentId}` };
  if (!Number.isSafeInteger(timestamp)) return { error: `missing or malformed ${AUTH_HEADERS.timestamp}` };
  if (!nonce || nonce.length < 16 || nonce.length > 128) return { error: `missing or malformed ${AUTH_HEADERS.nonce}` };
  if (!signature) return { error: `missing ${AUTH_HEADERS.signature}` };
  return { agentId, timestamp, nonce, signature: Buffer.from(signature, "base64") };
}

/** Why the upgrade's timestamp is refused, or undefined: checked before anything costs a store read. */
export function clockSkewProblem(upgrade: SignedUpgrade, now: number): string | undefined {
  if (Math.abs(now - upgrade.timestamp) <= MAX_CLOCK_SKEW_MS) return undefined;
  return `timestamp is ${Math.round((upgrade.timestamp - now) / 1000)} s away from server time (check the agent's clock)`;
}

export function verifyUpgradeSignature(upgrade: SignedUpgrade, publicKey: KeyObject, path: string, now: number): { ok: true } | { ok: false; reason: string } {
  const skew = clockSkewProblem(upgrade, now);
  if (skew) return { ok: false, reason: skew };
  const message = Buffer.from(upgradeSigningString({ agentId: upgrade.agentId, timestamp: upgrade.timestamp, nonce: upgrade.nonce, path }));
  if (!verify(null, message, publicKey, upgrade.signature)) return { ok: false, reason: "signature does not verify" };
  return { ok: true };
}
