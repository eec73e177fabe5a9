import { createHash, randomBytes, randomInt } from "node:crypto";

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Operator API keys: `bmx_` + 40 base62 characters (~238 bits). Only the SHA-256 is stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let body = "";
  for (const byte of randomBytes(40)) body += alphabet[byte % 62];
  const key = `bmx_${body}`;
  return { key, prefix: key.slice(0, 10), hash: sha256Hex(key) };
}

// Crockford base32 without I, L, O, U: nothing to misread when typed from a screen.
const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** One-time pairing code `BMX-XXXX-XXXX` (40 bits, short-lived, stored hashed). */
export function generatePairingCode(): string {
  const chars = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]);
  return `BMX-${chars.slice(0, 4).join("")}-${chars.slice(4).join("")}`;
}

/** Accepts the code as typed: any case, with or without dashes, O/I/L read as 0/1/1. */
export function normalizePairingCode(input: string): string {
  const raw = input.trim().toUpperCase().replace(/^BMX-?/, "").replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return `BMX-${raw.slice(0, 4)}-${raw.slice(4)}`;
}

export function isWellFormedPairingCode(code: string): boolean {
  return /^BMX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/.test(code);
}
