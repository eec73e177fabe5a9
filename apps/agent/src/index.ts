export { startAgent, type AgentRuntime } from "./runtime/agent-runtime.js";
export { Journal } from "./journal/journal.js";
export { ExecutorError } from "./executors/executor-error.js";
export { AGENT_VERSION } from "./version.js";
