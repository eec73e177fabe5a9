import type { Vault } from "./vault.js";

/** A vault in a Map, for tests of what uses a vault; `entries` shows what it holds. */
export function memoryVault(): Vault & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    kind: "file",
    location: "memory",
    entries,
    get: async (name) => entries.get(name) ?? null,
    set: async (name, value) => void entries.set(name, value),
    delete: async (name) => entries.delete(name),
    values: async () => [...entries.values()],
  };
}
