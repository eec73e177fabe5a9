import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startChild, type Child } from "./child.js";

// Unlocking with a password creates the login collection without a GUI prompt.
const SESSION_SCRIPT = 'eval "$(printf keyring-test-password | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; exec "$@"';

/**
 * A real Secret Service: gnome-keyring on a private D-Bus session bus. Every command runs in
 * its own bus session; the keyring files persist in `dataHome`, so secrets written by one
 * command are read by the next, as on a real desktop or server login.
 */
export function secretService() {
  const dataHome = mkdtempSync(join(tmpdir(), "botmox-keyring-"));
  const env = (extra: Record<string, string | undefined>) => {
    const merged: Record<string, string | undefined> = { ...extra, HOME: dataHome, XDG_DATA_HOME: join(dataHome, "data"), XDG_RUNTIME_DIR: dataHome };
    delete merged.DBUS_SESSION_BUS_ADDRESS;
    return merged;
  };
  const children: Child[] = [];
  return {
    run: (command: string[], extra: Record<string, string | undefined>) => run("dbus-run-session", ["--", "bash", "-c", SESSION_SCRIPT, "keyring-session", ...command], env(extra)),
    start(command: string[], extra: Record<string, string | undefined>): Child {
      const child = startChild("dbus-run-session", ["--", "bash", "-c", SESSION_SCRIPT, "keyring-session", ...command], env(extra), { processGroup: true });
      children.push(child);
      return child;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(children.map((child) => child.kill("SIGKILL")));
      rmSync(dataHome, { recursive: true, force: true });
    },
  };
}
