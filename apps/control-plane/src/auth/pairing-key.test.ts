import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { pairingCodeHash, pairingCodeKey } from "./pairing-key.js";

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "pairing-key-"));
  dirs.push(dir);
  return join(dir, "data");
};
const sqlite = (dir: string) => ({ DATA_BACKEND: "sqlite" as const, BOTMOX_DATA_DIR: dir, SUPABASE_SERVICE_ROLE_KEY: undefined });
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the key pairing codes are hashed with", () => {
  test("the embedded store's key is made once as an owner-only file, then every process reads the same one", () => {
    const dir = dataDir();
    const first = pairingCodeKey(sqlite(dir));
    expect(first).toHaveLength(32);
    if (process.platform !== "win32") expect(statSync(join(dir, "pairing-code.key")).mode & 0o777).toBe(0o600);
    expect(pairingCodeKey(sqlite(dir)).equals(first)).toBe(true);
    expect(readdirSync(dir)).toEqual(["pairing-code.key"]); // no draft left behind
    expect(pairingCodeKey(sqlite(dataDir())).equals(first)).toBe(false);
  });

  test("a damaged key file is refused with what to do, not replaced", () => {
    const dir = dataDir();
    pairingCodeKey(sqlite(dir));
    writeFileSync(join(dir, "pairing-code.key"), "not hex\n");
    expect(() => pairingCodeKey(sqlite(dir))).toThrow(/pairing-code\.key is not a pairing-code key \(64 hex characters\)\. Move it away to make a new one/);
  });

  test("on Supabase it follows the service-role key and writes nothing", () => {
    const dir = dataDir();
    const supabase = (serviceRoleKey: string) => ({ DATA_BACKEND: "supabase" as const, BOTMOX_DATA_DIR: dir, SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey });
    const key = pairingCodeKey(supabase("sb_secret_one_1234567890"));
    expect(pairingCodeKey(supabase("sb_secret_one_1234567890")).equals(key)).toBe(true);
    expect(pairingCodeKey(supabase("sb_secret_two_1234567890")).equals(key)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  test("a stored hash reveals nothing without the key: it is not the code's plain SHA-256, and another key gives another hash", () => {
    const code = "BMX-7K2Q-M9XD";
    const key = pairingCodeKey(sqlite(dataDir()));
    const hash = pairingCodeHash(key, code);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(pairingCodeHash(key, code));
    expect(hash).not.toBe(createHash("sha256").update(code).digest("hex"));
    expect(pairingCodeHash(pairingCodeKey(sqlite(dataDir())), code)).not.toBe(hash);
  });
});
