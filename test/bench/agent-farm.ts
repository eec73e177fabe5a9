/**
 * Many real agent runtimes in one process (separate homes, journals, vaults and WebSockets),
 * so the throughput benchmark can run 50 agents on a 2-core machine. Paired with codes from
 * the control plane; prints `{"agents":[ids]}` once all are started; stops on SIGTERM.
 */
import { join } from "node:path";
import pino from "pino";
import { loadAgentConfig, openVault, pair, parseAgentEnv, requirePaired, saveAgentConfig, startAgent, type AgentRuntime } from "@botmox/agent";

const [url, apiKey, countArg, dir] = process.argv.slice(2);
const count = Number(countArg);
const vaultEnv = { BOTMOX_VAULT: "file", BOTMOX_VAULT_PASSPHRASE: "bench" };

async function main(): Promise<void> {
  const log = pino({ level: "warn" });
  const env = parseAgentEnv({ ...vaultEnv, BOTMOX_MAX_IN_FLIGHT: "64", LOG_LEVEL: "warn" });
  const runtimes: AgentRuntime[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const home = join(dir!, `agent-${i}`);
    const config = loadAgentConfig(home);
    const vault = openVault(home, config.instance_id, vaultEnv);
    const response = await fetch(`${url}/api/v1/agents/pairings`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` } });
    const { code } = (await response.json()) as { code: string };
    const paired = requirePaired(await pair({ server: url!, code, config, vault }), home);
    saveAgentConfig(home, paired);
    runtimes.push(await startAgent({ home, config: paired, env, vault, log }));
    ids.push(paired.agent_id);
  }
  console.log(JSON.stringify({ agents: ids }));
  process.once("SIGTERM", () => {
    Promise.all(runtimes.map((runtime) => runtime.stop())).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
