import { join } from "node:path";
import { FileVault } from "./file-vault.js";
import { KeychainVault } from "./keychain-vault.js";
import { VaultError, type Vault } from "./vault.js";

/** BOTMOX_VAULT=keychain (default) or file (with BOTMOX_VAULT_PASSPHRASE). */
export function openVault(home: string, instanceId: string, env: Record<string, string | undefined> = process.env): Vault {
  const kind = env.BOTMOX_VAULT ?? "keychain";
  if (kind === "keychain") return new KeychainVault(instanceId);
  if (kind === "file") return new FileVault(join(home, "vault.enc"), env.BOTMOX_VAULT_PASSPHRASE ?? "");
  throw new VaultError("VAULT_UNAVAILABLE", `BOTMOX_VAULT must be "keychain" or "file", not "${kind}"`);
}
