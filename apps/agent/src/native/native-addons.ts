import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentHome } from "../config/home.js";
import { AGENT_VERSION } from "../version.js";

export type NativeAddon = "better_sqlite3.node" | "keyring.node";

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

function seaModule(): SeaModule | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const sea = getBuiltin?.("node:sea") as SeaModule | undefined;
  return sea?.isSea() ? sea : undefined;
}

export function isSingleExecutable(): boolean {
  return seaModule() !== undefined;
}

/**
 * Where the native addons a single executable carries are written (they must be files to be
 * loaded): inside the agent's home, the one place a sandboxed service may write.
 */
function cacheRoot(): string {
  return join(agentHome(process.env), "native");
}

/**
 * In a single executable: writes the embedded addon to `<home>/native/<version>/<sha256>/<name>` once
 * (private directory, atomic rename) and returns its path; an existing file is used only if its
 * hash still matches. Outside a single executable: undefined (normal module resolution applies).
 */
export function nativeAddonPath(name: NativeAddon): string | undefined {
  const sea = seaModule();
  if (!sea) return undefined;
  const bytes = Buffer.from(sea.getRawAsset(name));
  const digest = createHash("sha256").update(bytes).digest("hex");
  const dir = join(cacheRoot(), AGENT_VERSION, digest.slice(0, 16));
  const file = join(dir, name);
  if (existsSync(file) && createHash("sha256").update(readFileSync(file)).digest("hex") === digest) return file;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o500 });
  renameSync(tmp, file);
  return file;
}

const loaded = new Map<NativeAddon, unknown>();

/** Loads an embedded native addon once (single executable only: its require() cannot load files). */
export function loadNativeAddon<T>(name: NativeAddon): T {
  if (loaded.has(name)) return loaded.get(name) as T;
  const path = nativeAddonPath(name);
  if (!path) throw new Error(`${name} is only embedded in the single-executable build`);
  const module = { exports: {} as T };
  process.dlopen(module, path);
  loaded.set(name, module.exports);
  return module.exports;
}

/** Options for better-sqlite3 so it uses the addon carried by a single executable. */
export function sqliteOptions(): { nativeBinding?: object } {
  return isSingleExecutable() ? { nativeBinding: loadNativeAddon<object>("better_sqlite3.node") } : {};
}
