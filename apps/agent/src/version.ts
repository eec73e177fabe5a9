import { createRequire } from "node:module";

/** The agent's version, from its package.json (or the value baked into a single-executable build). */
export const AGENT_VERSION: string = (() => {
  const baked = (globalThis as { __BOTMOX_AGENT_VERSION__?: string }).__BOTMOX_AGENT_VERSION__;
  if (baked) return baked;
  try {
    return (createRequire(import.meta.url)("../package.json") as { version: string }).version;
  } catch {
    return "0.0.0-unknown";
  }
})();
