export { startAgent, type AgentRuntime } from "./runtime/agent-runtime.js";
export { Journal } from "./journal/journal.js";
export { ExecutorError } from "./executors/executor-error.js";
export { AGENT_VERSION } from "./version.js";
export { pair } from "./cli/pair.js";
export { openVault } from "./vault/open-vault.js";
export { loadAgentConfig, saveAgentConfig, requirePaired } from "./config/agent-config.js";
export { parseAgentEnv } from "./config/env.js";
