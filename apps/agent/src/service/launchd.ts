import { SERVICE_LABEL, environmentOf, type ServiceSpec } from "./service-spec.js";

const xml = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A launchd property list (LaunchAgent with --user, LaunchDaemon otherwise). */
export function launchdPlist(spec: ServiceSpec): string {
  const args = [...spec.command, "run"].map((arg) => `    <string>${xml(arg)}</string>`);
  // KeepAlive restarts every non-zero exit; a refusal for good (revoked) must stop the agent for good.
  const env = Object.entries({ ...environmentOf(spec), BOTMOX_REFUSED_EXIT_CODE: "0" }).map(([key, value]) => `    <key>${xml(key)}</key>\n    <string>${xml(value)}</string>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${SERVICE_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args.join("\n")}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
${env.join("\n")}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${xml(spec.home)}/agent.log</string>
  <key>StandardErrorPath</key>
  <string>${xml(spec.home)}/agent.log</string>
</dict>
</plist>
`;
}
