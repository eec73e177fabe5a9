import { DEFAULT_TOKENS, startPveSimulator, type PveSimulator, type SimulatorOptions } from "@botmox/pve-simulator";
import type { AgentHandle } from "./botmox.js";

export const ROOT_TOKEN = "root@pam!botmox";
export const ROOT_SECRET = DEFAULT_TOKENS[ROOT_TOKEN]!.secret;

/** A simulator that cleans up after itself. */
export async function pveSimulator(options: SimulatorOptions = {}): Promise<PveSimulator & AsyncDisposable> {
  const sim = await startPveSimulator(options);
  return Object.assign(sim, { [Symbol.asyncDispose]: () => sim.close() });
}

/** `botmox-agent targets add proxmox` with the token secret on stdin. */
export function addProxmoxTarget(agent: AgentHandle, name: string, sim: PveSimulator, flags: string[] = ["--fingerprint", sim.fingerprint256], tokenId = ROOT_TOKEN, secret = ROOT_SECRET) {
  return agent.cli(["targets", "add", "proxmox", name, "--url", sim.url, "--token-id", tokenId, ...flags, "--secret-stdin"], {}, `${secret}\n`);
}
