import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { AUTH_HEADERS, upgradeSigningString } from "@botmox/protocol";

export interface AgentKeyPair {
  /** PKCS#8 DER, base64: what the vault stores. */
  privateKeyBase64: string;
  /** Raw 32-byte Ed25519 public key, base64: what the control plane stores. */
  publicKeyBase64: string;
}

export function generateAgentKeyPair(): AgentKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  return {
    privateKeyBase64: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    publicKeyBase64: spki.subarray(spki.length - 32).toString("base64"),
  };
}

export function loadPrivateKey(privateKeyBase64: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(privateKeyBase64, "base64"), format: "der", type: "pkcs8" });
}

/** Headers proving possession of the private key for one upgrade request; never reusable (fresh nonce). */
export function signedUpgradeHeaders(agentId: string, privateKey: KeyObject, path: string, now = Date.now()): Record<string, string> {
  const nonce = randomBytes(18).toString("base64url");
  const signature = sign(null, Buffer.from(upgradeSigningString({ agentId, timestamp: now, nonce, path })), privateKey);
  return {
    [AUTH_HEADERS.agentId]: agentId,
    [AUTH_HEADERS.timestamp]: String(now),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signature.toString("base64"),
  };
}
