import { realpathSync, statSync, type Stats } from "node:fs";
import { resolve } from "node:path";
import type { AgentConfig } from "../config/agent-config.js";
import type { AgentEnv } from "../config/env.js";
import { applyPlan } from "./apply.js";
import { describePlan, installPlan, uninstallPlan } from "./plan.js";
import { carriedEnvironment, type ServiceSpec } from "./service-spec.js";
import { UsageError } from "../cli/usage-error.js";

/** The command line that starts this same agent: the single executable, or node plus this script. */
export function selfCommand(): string[] {
  const isSingleExecutable = !process.argv[1] || realpathSync(process.execPath) === realpathSync(resolve(process.argv[1]));
  return isSingleExecutable ? [process.execPath] : [process.execPath, realpathSync(process.argv[1]!)];
}

export function serviceCommand(input: {
  action: string | undefined;
  home: string;
  config: AgentConfig;
  env: AgentEnv;
  user: boolean;
  dryRun: boolean;
  passphraseFile?: string;
}): string {
  if (input.action === "install") {
    if (!input.config.agent_id) throw new Error("Pair this agent first (botmox-agent pair --server URL --code CODE); a service of an unpaired agent would only fail");
    const passphraseFile = input.passphraseFile ?? input.env.BOTMOX_VAULT_PASSPHRASE_FILE;
    if (input.env.BOTMOX_VAULT === "file" && !passphraseFile) {
      throw new Error("With BOTMOX_VAULT=file the service needs --passphrase-file FILE (readable only by the service account); the passphrase itself is never written into a service definition");
    }
    if (passphraseFile) checkPassphraseFile(passphraseFile);
    const spec: ServiceSpec = {
      command: selfCommand(),
      home: input.home,
      vault: input.env.BOTMOX_VAULT,
      user: input.user,
      ...(passphraseFile ? { passphraseFile: resolve(passphraseFile) } : {}),
      ...(process.env.USER && process.env.USER !== "root" ? { runAs: process.env.USER } : {}),
      carried: carriedEnvironment(process.env),
    };
    const plan = installPlan(spec);
    if (input.dryRun) return describePlan(plan);
    applyPlan(plan);
    return `installed and started the ${plan.platform} service`;
  }
  if (input.action === "uninstall") {
    const plan = uninstallPlan(input.user);
    if (input.dryRun) return describePlan(plan);
    applyPlan(plan, { ignoreCommandFailures: true });
    return `removed the ${plan.platform} service`;
  }
  throw new UsageError('service needs "install" or "uninstall"');
}

/** The service would only crash-loop on a file it cannot read; one others can read gives the vault away. */
function checkPassphraseFile(file: string): void {
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch (err) {
    throw new Error(`--passphrase-file ${file} cannot be read: ${(err as Error).message}`);
  }
  if (!stat.isFile() || stat.size === 0) throw new Error(`--passphrase-file ${file} must be a file holding the vault's passphrase`);
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    throw new Error(`--passphrase-file ${file} can be read by others (mode ${(stat.mode & 0o777).toString(8)}); it unlocks the vault: chmod 600 it`);
  }
}
