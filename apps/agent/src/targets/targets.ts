import { z } from "zod";
import { loadAgentConfig, saveAgentConfig } from "../config/agent-config.js";
import { ExecutorError } from "../executors/executor-error.js";
import type { Vault } from "../vault/vault.js";

export const syncthingTargetSchema = z.object({
  kind: z.literal("syncthing"),
  url: z.url(),
  /** The only directories (and their subdirectories) folders may be added or accepted in; absolute, normalized. */
  folder_roots: z.array(z.string().min(1)).optional(),
});
export const proxmoxTargetSchema = z.object({
  kind: z.literal("proxmox"),
  url: z.url(),
  /**
   * USER@REALM!TOKENID by PVE's own rule: the user may contain @ (alice@corp.com@oidc!bot), realm
   * and token name start with a letter. The token secret is in the vault.
   */
  token_id: z.string().regex(/^[^\s:/]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$/, "USER@REALM!TOKENID"),
  fingerprint: z.string().optional(),
  ca_file: z.string().optional(),
});
export const targetConfigSchema = z.discriminatedUnion("kind", [syncthingTargetSchema, proxmoxTargetSchema]);
export type TargetConfig = z.infer<typeof targetConfigSchema>;
export type TargetKind = TargetConfig["kind"];

export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/** The targets of a config that parse (one an older or newer version wrote otherwise is left out). */
export function parseTargets(targets: Record<string, unknown>): Array<{ name: string } & TargetConfig> {
  return Object.entries(targets).flatMap(([name, raw]) => {
    const parsed = targetConfigSchema.safeParse(raw);
    return parsed.success ? [{ name, ...parsed.data }] : [];
  });
}

/** The target of that name in `list`, if any; throws when it is of another kind (its credential must not be overwritten unasked). */
function sameKindTarget(list: ReturnType<typeof parseTargets>, name: string, kind: TargetKind): (TargetConfig & { name: string }) | undefined {
  const existing = list.find((target) => target.name === name);
  if (existing && existing.kind !== kind) {
    throw new Error(`"${name}" is already a ${existing.kind} target; remove it first (botmox-agent targets remove ${name}) or choose another name`);
  }
  return existing;
}
const secretName = (name: string) => `target.${name}.secret`;

/**
 * The infrastructure endpoints this agent may touch, by name. Connection details live in
 * config.json; each target's credential lives only in the vault. Re-read on every use, so
 * `botmox-agent targets add` takes effect in a running agent without a restart.
 */
export class Targets {
  constructor(
    readonly home: string,
    private readonly vault: Vault,
    /** Told every credential handed to a command (the running agent guards them from then on). */
    private readonly onSecret: (secret: string) => void = () => {},
  ) {}

  list(): Array<{ name: string } & TargetConfig> {
    return parseTargets(loadAgentConfig(this.home).targets);
  }

  async resolve<K extends TargetKind>(name: string, kind: K): Promise<{ config: Extract<TargetConfig, { kind: K }>; secret: string }> {
    const target = this.list().find((entry) => entry.name === name);
    if (!target || target.kind !== kind) {
      const known = this.list().filter((entry) => entry.kind === kind).map((entry) => entry.name);
      throw new ExecutorError("TARGET_NOT_FOUND", `No ${kind} target named "${name}" on this agent`, { known });
    }
    const secret = await this.vault.get(secretName(name));
    if (!secret) throw new ExecutorError("TARGET_NOT_FOUND", `The credential of target "${name}" is missing from the vault; add the target again`);
    this.onSecret(secret);
    const { name: _name, ...config } = target;
    return { config: config as Extract<TargetConfig, { kind: K }>, secret };
  }

  /** The target of that name, if any; throws when it is of another kind (its credential must not be overwritten unasked). */
  assertNameFor(name: string, kind: TargetKind): (TargetConfig & { name: string }) | undefined {
    return sameKindTarget(this.list(), name, kind);
  }

  /** Adds the target, or replaces one of the same kind (then `replaced`); another kind's name is refused. */
  async add(name: string, config: TargetConfig, secret: string): Promise<{ replaced: boolean }> {
    if (!TARGET_NAME.test(name)) throw new Error(`Target name "${name}" must be letters, digits, - and _ (up to 63)`);
    // Checked before the secret is stored: a bad config must not leave a target's old config with a new secret.
    const checked = targetConfigSchema.parse(config);
    const agentConfig = loadAgentConfig(this.home);
    const existing = sameKindTarget(parseTargets(agentConfig.targets), name, checked.kind);
    await this.vault.set(secretName(name), secret);
    saveAgentConfig(this.home, { ...agentConfig, targets: { ...agentConfig.targets, [name]: checked } });
    return { replaced: existing !== undefined };
  }

  async remove(name: string): Promise<boolean> {
    const agentConfig = loadAgentConfig(this.home);
    const existed = Object.hasOwn(agentConfig.targets, name);
    const { [name]: _removed, ...rest } = agentConfig.targets;
    saveAgentConfig(this.home, { ...agentConfig, targets: rest });
    const hadSecret = await this.vault.delete(secretName(name));
    return existed || hadSecret;
  }
}
