/** What every OS service definition is generated from. */
export interface ServiceSpec {
  /** Absolute path of the agent executable (single binary, or node + script). */
  command: string[];
  home: string;
  vault: "keychain" | "file";
  /** Only for BOTMOX_VAULT=file: path of a file holding the passphrase (never the passphrase itself). */
  passphraseFile?: string;
  user: boolean;
  /** Account to run a system service as (Linux); defaults to the installing user. */
  runAs?: string;
}

export const SERVICE_NAME = "botmox-agent";
export const SERVICE_LABEL = "io.botmox.agent";
export const SERVICE_DESCRIPTION = "Bot-Mox agent: outbound tunnel to the Bot-Mox control plane";

export function environmentOf(spec: ServiceSpec): Record<string, string> {
  return {
    BOTMOX_AGENT_HOME: spec.home,
    BOTMOX_VAULT: spec.vault,
    ...(spec.passphraseFile ? { BOTMOX_VAULT_PASSPHRASE_FILE: spec.passphraseFile } : {}),
  };
}
