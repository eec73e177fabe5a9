import { agentEnvSchema } from "../config/env.js";

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
  /** Settings kept from the shell it was installed from (see carriedEnvironment). */
  carried?: Record<string, string>;
}

export const SERVICE_NAME = "botmox-agent";
export const SERVICE_LABEL = "io.botmox.agent";
export const SERVICE_DESCRIPTION = "Bot-Mox agent: outbound tunnel to the Bot-Mox control plane";

const PROXY_VARIABLE = /^(https?|wss?|all|no)_proxy$/i;
/**
 * The agent's settings a service does not take from the installing shell: the definition sets
 * home and vault itself, a passphrase never goes into one, the CA file was saved at pairing, and
 * the exit code on refusal is the service manager's business. Every other setting is tuning.
 */
const NOT_CARRIED = new Set(["BOTMOX_AGENT_HOME", "BOTMOX_VAULT", "BOTMOX_VAULT_PASSPHRASE", "BOTMOX_VAULT_PASSPHRASE_FILE", "BOTMOX_CA_FILE", "BOTMOX_REFUSED_EXIT_CODE"]);
const TUNING_VARIABLES = Object.keys(agentEnvSchema.shape).filter((key) => !NOT_CARRIED.has(key));

/**
 * What a service keeps from the shell it is installed from, since it does not inherit it: the
 * proxy (pairing worked through it, so must the tunnel) and the agent's tuning. A proxy URL with
 * credentials is refused: a service definition would hold them in plaintext.
 */
export function carriedEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const carried: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!value || !(PROXY_VARIABLE.test(key) || TUNING_VARIABLES.includes(key))) continue;
    if (PROXY_VARIABLE.test(key) && URL.canParse(value) && new URL(value).username) {
      throw new Error(`${key} carries credentials, which a service definition would hold in plaintext; install without them and give the service its proxy by a protected means (on Linux: systemctl edit ${SERVICE_NAME})`);
    }
    carried[key] = value;
  }
  return carried;
}

export function environmentOf(spec: ServiceSpec): Record<string, string> {
  return {
    ...spec.carried,
    BOTMOX_AGENT_HOME: spec.home,
    BOTMOX_VAULT: spec.vault,
    ...(spec.passphraseFile ? { BOTMOX_VAULT_PASSPHRASE_FILE: spec.passphraseFile } : {}),
  };
}
