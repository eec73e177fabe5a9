import { homedir } from "node:os";
import { join } from "node:path";
import { launchdPlist } from "./launchd.js";
import { SERVICE_LABEL, SERVICE_NAME, type ServiceSpec } from "./service-spec.js";
import { systemdUnit } from "./systemd.js";

/** A Windows service must answer the Service Control Manager, which a plain process does not: sc.exe would register one that fails to start (error 1053). */
const WINDOWS_UNSUPPORTED =
  "Installing a Windows service is not supported yet: the agent does not speak the Service Control Manager protocol. " +
  'Run "botmox-agent.exe run" under a service wrapper (WinSW, NSSM) or as a Task Scheduler task at startup, with its BOTMOX_* variables set';

/** Files to write and commands to run: shown by --dry-run, carried out otherwise. */
export interface ServicePlan {
  platform: NodeJS.Platform;
  files: Array<{ path: string; content: string }>;
  remove: string[];
  commands: string[][];
}

export function installPlan(spec: ServiceSpec, platform: NodeJS.Platform = process.platform, uid = process.getuid?.() ?? 0): ServicePlan {
  switch (platform) {
    case "linux": {
      const path = spec.user ? join(homedir(), ".config", "systemd", "user", `${SERVICE_NAME}.service`) : `/etc/systemd/system/${SERVICE_NAME}.service`;
      const systemctl = spec.user ? ["systemctl", "--user"] : ["systemctl"];
      return { platform, files: [{ path, content: systemdUnit(spec) }], remove: [], commands: [[...systemctl, "daemon-reload"], [...systemctl, "enable", "--now", SERVICE_NAME]] };
    }
    case "darwin": {
      const path = spec.user ? join(homedir(), "Library", "LaunchAgents", `${SERVICE_LABEL}.plist`) : `/Library/LaunchDaemons/${SERVICE_LABEL}.plist`;
      const domain = spec.user ? `gui/${uid}` : "system";
      return { platform, files: [{ path, content: launchdPlist(spec) }], remove: [], commands: [["launchctl", "bootstrap", domain, path]] };
    }
    case "win32":
      throw new Error(WINDOWS_UNSUPPORTED);
    default:
      throw new Error(`Installing a service is not supported on ${platform}; run "botmox-agent run" under your init system`);
  }
}

export function uninstallPlan(user: boolean, platform: NodeJS.Platform = process.platform, uid = process.getuid?.() ?? 0): ServicePlan {
  switch (platform) {
    case "linux": {
      const path = user ? join(homedir(), ".config", "systemd", "user", `${SERVICE_NAME}.service`) : `/etc/systemd/system/${SERVICE_NAME}.service`;
      const systemctl = user ? ["systemctl", "--user"] : ["systemctl"];
      return { platform, files: [], remove: [path], commands: [[...systemctl, "disable", "--now", SERVICE_NAME], [...systemctl, "daemon-reload"]] };
    }
    case "darwin": {
      const path = user ? join(homedir(), "Library", "LaunchAgents", `${SERVICE_LABEL}.plist`) : `/Library/LaunchDaemons/${SERVICE_LABEL}.plist`;
      return { platform, files: [], remove: [path], commands: [["launchctl", "bootout", user ? `gui/${uid}` : "system", path]] };
    }
    case "win32":
      // Removes the service an earlier version registered (one that could not start).
      return { platform, files: [], remove: [], commands: [["sc.exe", "stop", SERVICE_NAME], ["sc.exe", "delete", SERVICE_NAME]] };
    default:
      throw new Error(`Services are not supported on ${platform}`);
  }
}

export function describePlan(plan: ServicePlan): string {
  const lines: string[] = [];
  for (const file of plan.files) lines.push(`# would write ${file.path}`, file.content.trimEnd(), "");
  for (const path of plan.remove) lines.push(`# would remove ${path}`);
  for (const command of plan.commands) lines.push(`# would run: ${command.map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(" ")}`);
  return lines.join("\n");
}
