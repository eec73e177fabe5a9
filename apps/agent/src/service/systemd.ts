import { SERVICE_DESCRIPTION, environmentOf, type ServiceSpec } from "./service-spec.js";

const quote = (value: string) => (/[\s"\\]/.test(value) ? `"${value.replace(/(["\\])/g, "\\$1")}"` : value);

/**
 * A systemd unit: restarts on failure (but not after exit 3, "revoked": restarting cannot help),
 * and the sandboxing options that leave the agent only its home writable.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const env = Object.entries(environmentOf(spec)).map(([key, value]) => `Environment=${quote(`${key}=${value}`)}`);
  const system = !spec.user;
  return [
    "[Unit]",
    `Description=${SERVICE_DESCRIPTION}`,
    "Documentation=https://botmox.io/docs/agent",
    "Wants=network-online.target",
    "After=network-online.target",
    "StartLimitIntervalSec=300",
    "StartLimitBurst=10",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${spec.command.map(quote).join(" ")} run`,
    ...env,
    ...(system && spec.runAs ? [`User=${spec.runAs}`] : []),
    "Restart=on-failure",
    "RestartSec=5s",
    "RestartPreventExitStatus=3",
    "TimeoutStopSec=30s",
    "KillSignal=SIGTERM",
    "NoNewPrivileges=yes",
    "PrivateTmp=yes",
    "ProtectSystem=strict",
    ...(system ? ["ProtectHome=read-only"] : []),
    // ProtectSystem=strict makes everything else read-only, for user units too (the home included).
    `ReadWritePaths=${quote(spec.home)}`,
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RestrictNamespaces=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "SystemCallArchitectures=native",
    "UMask=0077",
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ].join("\n");
}
