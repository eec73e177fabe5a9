import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AGENT_CLI } from "../../../../test/support/paths.js";
import { launchdPlist } from "./launchd.js";
import { describePlan, installPlan, uninstallPlan } from "./plan.js";
import { carriedEnvironment, type ServiceSpec } from "./service-spec.js";
import { systemdUnit } from "./systemd.js";

const dir = mkdtempSync(join(tmpdir(), "service-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec: ServiceSpec = {
  command: [process.execPath, "/opt/bot mox/agent.js"],
  home: "/var/lib/botmox-agent",
  vault: "file",
  passphraseFile: "/etc/botmox/passphrase",
  user: false,
  runAs: "botmox",
};

describe("service environment", () => {
  test("keeps the proxy and the tuning of the installing shell, never the passphrase or anything else", () => {
    const carried = carriedEnvironment({
      HTTPS_PROXY: "http://proxy.lan:3128",
      no_proxy: "localhost",
      BOTMOX_MAX_IN_FLIGHT: "8",
      LOG_LEVEL: "debug",
      BOTMOX_VAULT_PASSPHRASE: "secret",
      AWS_SECRET_ACCESS_KEY: "other",
      HOME: "/root",
    });
    expect(carried).toEqual({ HTTPS_PROXY: "http://proxy.lan:3128", no_proxy: "localhost", BOTMOX_MAX_IN_FLIGHT: "8", LOG_LEVEL: "debug" });
    const unit = systemdUnit({ ...spec, carried });
    expect(unit).toContain("Environment=HTTPS_PROXY=http://proxy.lan:3128");
    expect(unit).toContain("Environment=BOTMOX_MAX_IN_FLIGHT=8");
    expect(launchdPlist({ ...spec, carried })).toContain("<key>HTTPS_PROXY</key>");
    // launchd restarts any non-zero exit: a revoked agent must exit 0 there, or it is restarted forever.
    expect(launchdPlist(spec)).toMatch(/<key>BOTMOX_REFUSED_EXIT_CODE<\/key>\s*<string>0<\/string>/);
  });

  test("a proxy URL with credentials is refused rather than written in plaintext", () => {
    expect(() => carriedEnvironment({ HTTPS_PROXY: "http://user:pw@proxy.lan:3128" })).toThrow(/HTTPS_PROXY carries credentials/);
  });
});

describe("systemd unit", () => {
  test("passes systemd-analyze verify", () => {
    const unit = join(dir, "botmox-agent.service");
    // verify needs ExecStart's program to exist; the test's own node binary does.
    writeFileSync(unit, systemdUnit({ ...spec, command: [process.execPath] }));
    const verify = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    expect(verify.error).toBeUndefined();
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);
  });

  test("restarts on failure but not after a revocation, sandboxes everything but the home, holds no secret", () => {
    const unit = systemdUnit(spec);
    expect(unit).toContain(`ExecStart=${process.execPath} "/opt/bot mox/agent.js" run`);
    expect(unit).toContain("Restart=on-failure");
    expect(unit).toContain("RestartPreventExitStatus=3");
    expect(unit).toContain("ProtectSystem=strict");
    expect(unit).toContain("ReadWritePaths=/var/lib/botmox-agent");
    expect(unit).toContain("User=botmox");
    expect(unit).toContain("Environment=BOTMOX_VAULT_PASSPHRASE_FILE=/etc/botmox/passphrase");
    expect(unit).not.toMatch(/BOTMOX_VAULT_PASSPHRASE=/);
    const userUnit = systemdUnit({ ...spec, user: true });
    expect(userUnit).toContain("WantedBy=default.target");
    // ProtectSystem=strict holds for user units too: without this the home would be read-only.
    expect(userUnit).toContain("ReadWritePaths=/var/lib/botmox-agent");
  });

  test("service install --passphrase-file works with the file vault and no passphrase in the environment", () => {
    const passphrase = join(dir, "passphrase");
    writeFileSync(passphrase, "secret passphrase\n", { mode: 0o600 });
    const home = join(dir, "home");
    mkdirSync(home, { recursive: true });
    const ids = { instance_id: randomUUID(), agent_id: randomUUID(), tenant_id: randomUUID() };
    writeFileSync(join(home, "config.json"), JSON.stringify({ ...ids, server: "https://cp.example", paired_at: new Date().toISOString(), targets: {} }));
    const env = { PATH: process.env.PATH, HOME: dir, BOTMOX_AGENT_HOME: home, BOTMOX_VAULT: "file" };
    const install = spawnSync(process.execPath, [AGENT_CLI, "service", "install", "--user", "--dry-run", "--passphrase-file", passphrase], { env, encoding: "utf8" });
    expect(install.stderr).toBe("");
    expect(install.status).toBe(0);
    expect(install.stdout).toContain(`BOTMOX_VAULT_PASSPHRASE_FILE=${passphrase}`);
    expect(install.stdout).not.toContain("secret passphrase");

    const loose = join(dir, "loose-passphrase");
    writeFileSync(loose, "secret passphrase\n", { mode: 0o644 });
    for (const [file, complaint] of [[loose, "chmod 600"], [join(dir, "missing"), "cannot be read"]] as const) {
      const refused = spawnSync(process.execPath, [AGENT_CLI, "service", "install", "--user", "--dry-run", "--passphrase-file", file], { env, encoding: "utf8" });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(complaint);
    }
    const noAction = spawnSync(process.execPath, [AGENT_CLI, "service"], { env: { ...env, BOTMOX_VAULT: "keychain" }, encoding: "utf8" });
    expect(noAction.status).toBe(2);
  });
});

describe("launchd and Windows", () => {
  test("the plist runs the agent at load, keeps it alive after failures, and escapes XML", () => {
    const plist = launchdPlist({ ...spec, home: "/Users/a&b/Bot-Mox" });
    expect(plist).toContain("<string>io.botmox.agent</string>");
    expect(plist).toContain("<string>/opt/bot mox/agent.js</string>\n    <string>run</string>");
    expect(plist).toContain("<key>SuccessfulExit</key>\n    <false/>");
    expect(plist).toContain("/Users/a&amp;b/Bot-Mox");
    const check = spawnSync("python3", ["-c", "import plistlib,sys; plistlib.loads(sys.stdin.buffer.read())"], { input: plist });
    expect(check.status).toBe(0);
  });
});

describe("plans", () => {
  test("each platform installs to its usual place and uninstall reverses it", () => {
    expect(installPlan(spec, "linux").files[0]!.path).toBe("/etc/systemd/system/botmox-agent.service");
    expect(installPlan({ ...spec, user: true }, "linux").commands[1]).toEqual(["systemctl", "--user", "enable", "--now", "botmox-agent"]);
    expect(installPlan(spec, "darwin").files[0]!.path).toBe("/Library/LaunchDaemons/io.botmox.agent.plist");
    expect(installPlan({ ...spec, user: true }, "darwin", 501).commands[0]).toEqual(["launchctl", "bootstrap", "gui/501", expect.stringContaining("LaunchAgents")]);
    expect(uninstallPlan(false, "linux").remove).toEqual(["/etc/systemd/system/botmox-agent.service"]);
    expect(() => installPlan(spec, "aix")).toThrow(/not supported/);
    expect(() => installPlan(spec, "win32")).toThrow(/Service Control Manager.*WinSW/);
    expect(uninstallPlan(false, "win32").commands).toEqual([["sc.exe", "stop", "botmox-agent"], ["sc.exe", "delete", "botmox-agent"]]);
    expect(describePlan(installPlan(spec, "linux"))).toContain("# would run: systemctl enable --now botmox-agent");
  });
});
