import { existsSync, readFileSync } from "node:fs";
import { agentDataFiles } from "../config/home.js";
import { FileVault } from "./file-vault.js";
import { KeychainVault } from "./keychain-vault.js";
import { VaultError, type Vault } from "./vault.js";

/** The vault BOTMOX_VAULT asks for; unset or empty means the keychain, as in the agent's env schema. */
export function vaultKind(env: Record<string, string | undefined>): string {
  return env.BOTMOX_VAULT || "keychain";
}

/** BOTMOX_VAULT=keychain (default) or file (with BOTMOX_VAULT_PASSPHRASE). */
export function openVault(home: string, instanceId: string, env: Record<string, string | undefined> = process.env): Vault {
  const kind = vaultKind(env);
  if (kind === "keychain") return new KeychainVault(instanceId);
  if (kind === "file") return new FileVault(agentDataFiles(home).fileVault, passphrase(env));
  throw new VaultError("VAULT_UNAVAILABLE", `BOTMOX_VAULT must be "keychain" or "file", not "${kind}"`);
}

function passphrase(env: Record<string, string | undefined>): string {
  if (env.BOTMOX_VAULT_PASSPHRASE) return env.BOTMOX_VAULT_PASSPHRASE;
  if (!env.BOTMOX_VAULT_PASSPHRASE_FILE) return "";
  try {
    return readFileSync(env.BOTMOX_VAULT_PASSPHRASE_FILE, "utf8").split(/\r?\n/, 1)[0] ?? "";
  } catch (err) {
    throw new VaultError("VAULT_LOCKED", `Cannot read BOTMOX_VAULT_PASSPHRASE_FILE: ${(err as Error).message}`);
  }
}

/** Why no private key was found, with the likely fix: a home paired with the file vault, run without BOTMOX_VAULT=file. */
export function missingKeyMessage(home: string, location: string, env: Record<string, string | undefined>): string {
  const fileVault = agentDataFiles(home).fileVault;
  if (vaultKind(env) !== "file" && existsSync(fileVault)) {
    return `No private key in the vault (${location}), but this home has a file vault (${fileVault}): set BOTMOX_VAULT=file and its BOTMOX_VAULT_PASSPHRASE rather than pairing again`;
  }
  return `No private key in the vault (${location}); pair this agent again`;
}
