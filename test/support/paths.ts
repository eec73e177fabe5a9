import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CP_CLI = fileURLToPath(new URL("../../apps/control-plane/dist/cli.js", import.meta.url));
export const AGENT_CLI = fileURLToPath(new URL("../../apps/agent/dist/cli.js", import.meta.url));
