import { createHmac, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config.js";

const KEY_BYTES = 32;

/**
 * The key pairing codes are hashed with. A code has 40 bits, so a plain hash found in a copy of
 * the store gives a live code away in minutes of guessing; keyed, the copy alone is worthless.
 * The key never sits in the store: on Supabase it is derived from the service-role key, on the
 * embedded store it is a 0600 file next to the database. Changing it voids codes not yet used.
 */
export function pairingCodeKey(config: Pick<Config, "DATA_BACKEND" | "BOTMOX_DATA_DIR" | "SUPABASE_SERVICE_ROLE_KEY">): Buffer {
  if (config.DATA_BACKEND === "supabase") return createHmac("sha256", config.SUPABASE_SERVICE_ROLE_KEY!).update("botmox pairing codes v1").digest();
  return keyFile(resolve(config.BOTMOX_DATA_DIR, "pairing-code.key"));
}

/** Hash of a (normalized) pairing code under the key: what the store keeps and looks up. */
export function pairingCodeHash(key: Buffer, code: string): string {
  return createHmac("sha256", key).update(code).digest("hex");
}

/** Reads the key file, making it first if there is none. Several processes may race to make it: one wins, all read its key. */
function keyFile(file: string): Buffer {
  mkdirSync(resolve(file, ".."), { recursive: true, mode: 0o700 });
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, `${randomBytes(KEY_BYTES).toString("hex")}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file); // atomic: fails if another process made the file first
  } catch (err) {
    if ((err as { code?: string }).code !== "EEXIST") throw err;
  } finally {
    rmSync(draft, { force: true });
  }
  const text = readFileSync(file, "utf8").trim();
  const key = Buffer.from(text, "hex");
  if (!/^[0-9a-f]+$/i.test(text) || key.length !== KEY_BYTES) {
    throw new Error(`${file} is not a pairing-code key (${KEY_BYTES * 2} hex characters). Move it away to make a new one; pairing codes not yet used then stop working.`);
  }
  return key;
}
