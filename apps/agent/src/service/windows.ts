import { SERVICE_DESCRIPTION, SERVICE_NAME, environmentOf, type ServiceSpec } from "./service-spec.js";

const quote = (value: string) => `"${value.replace(/"/g, '\\"')}"`;

/**
 * sc.exe commands for a Windows service that restarts on failure. The service's environment
 * goes into its registry key (HKLM\SYSTEM\CurrentControlSet\Services\botmox-agent\Environment).
 */
export function windowsServiceCommands(spec: ServiceSpec): string[][] {
  const binPath = [...spec.command, "run"].map(quote).join(" ");
  const env = Object.entries(environmentOf(spec)).map(([key, value]) => `${key}=${value}`);
  return [
    ["sc.exe", "create", SERVICE_NAME, "binPath=", binPath, "start=", "auto", "DisplayName=", "Bot-Mox Agent"],
    ["sc.exe", "description", SERVICE_NAME, SERVICE_DESCRIPTION],
    ["sc.exe", "failure", SERVICE_NAME, "reset=", "86400", "actions=", "restart/5000/restart/5000/restart/30000"],
    ["reg.exe", "add", `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${SERVICE_NAME}`, "/v", "Environment", "/t", "REG_MULTI_SZ", "/d", env.join("\\0"), "/f"],
    ["sc.exe", "start", SERVICE_NAME],
  ];
}

export function windowsUninstallCommands(): string[][] {
  return [
    ["sc.exe", "stop", SERVICE_NAME],
    ["sc.exe", "delete", SERVICE_NAME],
  ];
}
