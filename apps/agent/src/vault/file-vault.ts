import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { VaultError, type Vault } from "./vault.js";

const fileSchema = z.object({
  format: z.literal("botmox-vault-v1"),
  kdf: z.object({ name: z.literal("scrypt"), salt: z.string(), N: z.number(), r: z.number(), p: z.number() }),
  iv: z.string(),
  tag: z.string(),
  ciphertext: z.string(),
});

const KDF = { N: 1 << 15, r: 8, p: 1 };

/** AES-256-GCM encrypted JSON map, key derived from a passphrase with scrypt. For hosts without a keychain. */
export class FileVault implements Vault {
  readonly kind = "file" as const;
  readonly location: string;
  private cache: { key: Buffer; salt: Buffer; secrets: Record<string, string>; stamp: string } | undefined;

  constructor(
    private readonly path: string,
    private readonly passphrase: string,
  ) {
    if (!passphrase) throw new VaultError("VAULT_LOCKED", "BOTMOX_VAULT=file needs BOTMOX_VAULT_PASSPHRASE");
    this.location = `encrypted file ${path}`;
  }

  /** Another process (botmox-agent targets add) may have changed the file: re-read it when it did. */
  private open(): { key: Buffer; salt: Buffer; secrets: Record<string, string>; stamp: string } {
    const stamp = fileStamp(this.path);
    if (this.cache && this.cache.stamp === stamp) return this.cache;
    let raw: string;
    try {
      raw = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      const salt = randomBytes(16);
      return (this.cache = { salt, key: derive(this.passphrase, salt), secrets: {}, stamp });
    }
    const parsed = fileSchema.safeParse(safeJson(raw));
    if (!parsed.success) throw new VaultError("VAULT_CORRUPT", `${this.path} is not a Bot-Mox vault file`);
    const file = parsed.data;
    const salt = Buffer.from(file.kdf.salt, "base64");
    const key = this.cache && this.cache.salt.equals(salt) ? this.cache.key : derive(this.passphrase, salt, file.kdf);
    let plaintext: string;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(file.iv, "base64"));
      decipher.setAuthTag(Buffer.from(file.tag, "base64"));
      plaintext = Buffer.concat([decipher.update(Buffer.from(file.ciphertext, "base64")), decipher.final()]).toString("utf8");
    } catch {
      throw new VaultError("VAULT_LOCKED", `Cannot open ${this.path}: the passphrase (BOTMOX_VAULT_PASSPHRASE) is wrong or the file was altered`);
    }
    return (this.cache = { salt, key, secrets: JSON.parse(plaintext) as Record<string, string>, stamp });
  }

  private save(state: { key: Buffer; salt: Buffer; secrets: Record<string, string>; stamp: string }): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", state.key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(state.secrets), "utf8"), cipher.final()]);
    const file: z.infer<typeof fileSchema> = {
      format: "botmox-vault-v1",
      kdf: { name: "scrypt", salt: state.salt.toString("base64"), ...KDF },
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      ciphertext: ciphertext.toString("base64"),
    };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(file) + "\n", { mode: 0o600 });
    renameSync(tmp, this.path);
    state.stamp = fileStamp(this.path);
  }

  async get(name: string): Promise<string | null> {
    return this.open().secrets[name] ?? null;
  }

  async set(name: string, value: string): Promise<void> {
    const state = this.open();
    state.secrets[name] = value;
    this.save(state);
  }

  async delete(name: string): Promise<boolean> {
    const state = this.open();
    if (!(name in state.secrets)) return false;
    delete state.secrets[name];
    this.save(state);
    return true;
  }

  async values(): Promise<string[]> {
    return Object.values(this.open().secrets);
  }
}

function fileStamp(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  } catch {
    return "absent";
  }
}

function derive(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number } = KDF): Buffer {
  return scryptSync(passphrase, salt, 32, { ...params, maxmem: 256 * params.N * params.r });
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
