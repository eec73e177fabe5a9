import { loadAgentConfig, type AgentConfig } from "../config/agent-config.js";
import { agentDataFiles } from "../config/home.js";
import { readJournalCounts } from "../journal/journal.js";
import { vaultKind } from "../vault/open-vault.js";
import { isProcessAlive, readRunState } from "../runtime/state-file.js";
import { AGENT_VERSION } from "../version.js";

/**
 * What `botmox-agent status` prints. Whatever cannot be read (a corrupt config or journal) is
 * null and explained in `problems`, so a broken installation still gets a full JSON report.
 */
export function agentStatus(home: string, env: Record<string, string | undefined>): { report: Record<string, unknown>; ok: boolean } {
  const problems: string[] = [];
  const attempt = <T>(what: string, read: () => T): T | null => {
    try {
      return read();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
      return null;
    }
  };
  const config: AgentConfig | null = attempt("config", () => loadAgentConfig(home));
  const state = readRunState(home);
  const running = state !== null && isProcessAlive(state.pid);
  const journal = config?.agent_id ? attempt("journal", () => readJournalCounts(agentDataFiles(home).journal)) : null;
  const report = {
    version: AGENT_VERSION,
    home,
    paired: config ? Boolean(config.agent_id) : null,
    agent_id: config?.agent_id ?? null,
    tenant_id: config?.tenant_id ?? null,
    server: config?.server ?? null,
    vault: vaultKind(env),
    process: running ? { running: true, pid: state.pid, connected: state.connected, session_id: state.session_id, since: state.changed_at } : { running: false },
    journal,
    problems,
  };
  return { report, ok: problems.length === 0 };
}
