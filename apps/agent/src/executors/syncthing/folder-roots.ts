import { realpathSync } from "node:fs";
import { posix, win32 } from "node:path";
import { ExecutorError } from "../executor-error.js";

/** A Windows path (C:\… or \\server\share) is judged by Windows rules, anything else by POSIX ones. */
const flavour = (path: string) => (/^[A-Za-z]:[\\/]|^\\\\/.test(path) ? win32 : posix);

/** The path, absolute and without "." or ".." segments, or undefined when it is not absolute. */
export function normalizeFolderRoot(path: string): string | undefined {
  const style = flavour(path);
  return style.isAbsolute(path) ? style.resolve(path) : undefined;
}

/** Filesystems of Windows and (by default) macOS ignore case: so do comparisons of their paths. */
const caseBlind = (style: typeof posix) => style === win32 || process.platform === "darwin";

/**
 * The path with every symbolic link in its existing part resolved (what the filesystem means by
 * it), the part not created yet appended as is. A path of the other platform's kind is taken as
 * written: it names another machine's files, which this one cannot look at.
 */
function realFolderPath(path: string): string {
  const style = flavour(path);
  if ((style === win32) !== (process.platform === "win32")) return path;
  let existing = path;
  const missing: string[] = [];
  for (;;) {
    try {
      return style.join(realpathSync.native(existing), ...missing);
    } catch (err) {
      // Only a part not created yet is taken as written: one that cannot be followed (a link loop,
      // a directory this agent may not read) could point anywhere.
      const code = (err as { code?: string }).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        throw new ExecutorError("ST_PATH_NOT_ALLOWED", `${existing} cannot be resolved (${code}), so where ${path} leads cannot be judged`, { field: "path", path });
      }
      const parent = style.dirname(existing);
      if (parent === existing) return path;
      missing.unshift(style.basename(existing));
      existing = parent;
    }
  }
}

function inside(path: string, root: string): boolean {
  const style = flavour(root);
  if (flavour(path) !== style) return false;
  const fold = (value: string) => (caseBlind(style) ? value.toLowerCase() : value);
  const relative = style.relative(fold(root), fold(path));
  return relative === "" || (relative !== ".." && !relative.startsWith(`..${style.sep}`) && !style.isAbsolute(relative));
}

/**
 * A folder path SyncThing is asked to share must lie under one of the roots the customer allowed
 * for the target on this machine, and never hold the agent's own home (its vault): the control
 * plane, or whoever holds an operator key, could otherwise have SyncThing send any directory of
 * the host (/root/.ssh, /etc/pve/priv) to a device of theirs. Returns the normalized path.
 */
export function checkFolderPath(input: { target: string; path: string; roots: readonly string[] | undefined; agentHome: string }): string {
  const { target, path, roots = [] } = input;
  const refuse = (message: string) => new ExecutorError("ST_PATH_NOT_ALLOWED", message, { field: "path", path, folder_roots: roots });
  const normal = normalizeFolderRoot(path);
  if (!normal) throw refuse(`path must be absolute (got "${path}"); SyncThing would resolve it against its own working directory or home`);
  if (roots.length === 0) {
    throw refuse(`Target "${target}" allows no folder paths: add the directories SyncThing may share on this machine with \`botmox-agent targets add syncthing ${target} … --folder-root DIR\``);
  }
  // Judged by what the filesystem means: a link under a root may point anywhere (a device can sync one in).
  const real = realFolderPath(normal);
  if (!roots.some((root) => inside(real, realFolderPath(root)))) {
    throw refuse(`${normal}${real !== normal ? ` (that is ${real})` : ""} is outside the folder roots of target "${target}": ${roots.join(", ")}`);
  }
  const home = normalizeFolderRoot(input.agentHome);
  const realHome = home && realFolderPath(home);
  if (realHome && (inside(real, realHome) || inside(realHome, real))) throw refuse(`${normal} overlaps the agent's own files (${home}), which are never shared`);
  return real;
}
