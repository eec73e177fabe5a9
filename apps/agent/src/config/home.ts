import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The agent's directory for config, journal, inventory cache and (file vault) secrets. BOTMOX_AGENT_HOME wins;
 * otherwise the OS's per-user location, so a customer never has to choose one.
 */
export function agentHome(env: Record<string, string | undefined> = process.env, platform = process.platform): string {
  if (env.BOTMOX_AGENT_HOME) return resolve(env.BOTMOX_AGENT_HOME);
  if (platform === "win32") return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "Bot-Mox", "agent");
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "Bot-Mox Agent");
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "botmox-agent");
}

/** The agent's SQLite files in its home: the command journal, and the inventory cache beside it. */
export function agentDataFiles(home: string): { journal: string; inventory: string; fileVault: string } {
  return { journal: join(home, "journal.db"), inventory: join(home, "inventory.db"), fileVault: join(home, "vault.enc") };
}
