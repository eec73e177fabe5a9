import { posix, win32 } from "node:path";
import { ExecutorError } from "../executor-error.js";

/** A Windows path (C:\… or \\server\share) is judged by Windows rules, anything else by POSIX ones. */
const flavour = (path: string) => (/^[A-Za-z]:[\\/]|^\\\\/.test(path) ? win32 : posix);

/** The path, absolute and without "." or ".." segments, or undefined when it is not absolute. */
export function normalizeFolderRoot(path: string): string | undefined {
  const style = flavour(path);
  return style.isAbsolute(path) ? style.resolve(path) : undefined;
}

function inside(path: string, root: string): boolean {
  const style = flavour(root);
  if (flavour(path) !== style) return false;
  const fold = (value: string) => (style === win32 ? value.toLowerCase() : value);
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
  if (!roots.some((root) => inside(normal, root))) throw refuse(`${normal} is outside the folder roots of target "${target}": ${roots.join(", ")}`);
  const home = normalizeFolderRoot(input.agentHome);
  if (home && (inside(normal, home) || inside(home, normal))) throw refuse(`${normal} overlaps the agent's own files (${home}), which are never shared`);
  return normal;
}
