import { existsSync, readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "../support/child.js";
import { pairAgent, startControlPlane } from "../support/botmox.js";
import { secretService } from "../support/keyring.js";
import { AGENT_CLI } from "../support/paths.js";

// Base64 of the PKCS#8 DER header of an Ed25519 private key: any stored key in clear starts with it.
const PKCS8_ED25519_PREFIX = "MC4CAQAwBQYDK2VwBCIEI";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe("vaults", () => {
  test("keychain vault against a real Secret Service: pair, restart in a new session, run a command; no key on disk", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using keyring = secretService();
    const home = mkdtempSync(join(tmpdir(), "botmox-agent-keychain-"));
    try {
      const env = { PATH: process.env.PATH, BOTMOX_AGENT_HOME: home, BOTMOX_VAULT: "keychain", LOG_LEVEL: "debug" };
      const pairing = await tenant.api.post("/api/v1/agents/pairings");
      const paired = await keyring.run([process.execPath, AGENT_CLI, "pair", "--server", cp.url, "--code", pairing.body.code], env);
      expect(paired.code, paired.output).toBe(0);
      const agentId = JSON.parse(paired.stdout).agent_id as string;
      expect(JSON.parse(paired.stdout).vault).toContain("OS keychain");

      const agent = keyring.start([process.execPath, AGENT_CLI, "run"], env);
      await agent.waitForLog((line) => line.msg === "connected to control plane");
      const ping = await tenant.api.post(`/api/v1/agents/${agentId}/commands?wait=5`, { name: "agent.ping" });
      expect(ping.body.status).toBe("succeeded");
      await agent.kill("SIGKILL");

      for (const file of filesUnder(home)) expect(readFileSync(file, "latin1"), file).not.toContain(PKCS8_ED25519_PREFIX);
      const doctor = await keyring.run([process.execPath, AGENT_CLI, "doctor"], env);
      expect(doctor.code, doctor.output).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("with no Secret Service reachable, pair says so clearly, does not fall back to the kernel keyring and does not burn the pairing code", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const home = mkdtempSync(join(tmpdir(), "botmox-agent-nokeychain-"));
    try {
      const pairing = await tenant.api.post("/api/v1/agents/pairings");
      const env = { PATH: process.env.PATH, HOME: home, BOTMOX_AGENT_HOME: home, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus" };
      const failed = await run(process.execPath, [AGENT_CLI, "pair", "--server", cp.url, "--code", pairing.body.code], { ...env, BOTMOX_VAULT: "keychain" });
      expect(failed.code).toBe(1);
      expect(failed.output).toContain("No OS keychain is reachable");
      expect(failed.output).toContain("BOTMOX_VAULT=file");
      // The Secret Service was asked and nothing else: no quiet fallback to the kernel keyring, which a reboot wipes.
      expect(failed.output).toMatch(/DBus error/);

      const withFile = await run(process.execPath, [AGENT_CLI, "pair", "--server", cp.url, "--code", pairing.body.code], { ...env, BOTMOX_VAULT: "file", BOTMOX_VAULT_PASSPHRASE: "a passphrase" });
      expect(withFile.code, withFile.output).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("a pair that fails leaves no file vault behind: a retry may use another passphrase; the server's reason is shown", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    const home = mkdtempSync(join(tmpdir(), "botmox-agent-retry-"));
    try {
      const env = { PATH: process.env.PATH, HOME: home, BOTMOX_AGENT_HOME: home, BOTMOX_VAULT: "file" };
      const typo = await run(process.execPath, [AGENT_CLI, "pair", "--server", cp.url, "--code", "garbage"], { ...env, BOTMOX_VAULT_PASSPHRASE: "first try" });
      expect(typo.code).toBe(1);
      expect(typo.output).toContain("code: must look like BMX-XXXX-XXXX");
      expect(existsSync(join(home, "vault.enc"))).toBe(false);

      const pairing = await tenant.api.post("/api/v1/agents/pairings");
      const retry = await run(process.execPath, [AGENT_CLI, "pair", "--server", cp.url, "--code", pairing.body.code], { ...env, BOTMOX_VAULT_PASSPHRASE: "second try" });
      expect(retry.code, retry.output).toBe(0);

      // Run later without BOTMOX_VAULT=file, on a machine with a keychain: told about the file vault, not to pair again.
      await using keyring = secretService();
      const forgot = await keyring.run([process.execPath, AGENT_CLI, "doctor"], { PATH: process.env.PATH, BOTMOX_AGENT_HOME: home });
      expect(forgot.code).toBe(1);
      expect(forgot.output).toContain(`this home has a file vault (${join(home, "vault.enc")}): set BOTMOX_VAULT=file`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("file vault: encrypted at rest, and a wrong passphrase fails clearly", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    for (const file of filesUnder(agent.home)) expect(readFileSync(file, "latin1"), file).not.toContain(PKCS8_ED25519_PREFIX);

    const wrong = await agent.cli(["run"], { BOTMOX_VAULT_PASSPHRASE: "not the passphrase" });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain("passphrase (BOTMOX_VAULT_PASSPHRASE) is wrong");
    const missing = await agent.cli(["run"], { BOTMOX_VAULT_PASSPHRASE: "" });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("BOTMOX_VAULT_PASSPHRASE");

    const doctor = await agent.cli(["doctor"], { BOTMOX_VAULT_PASSPHRASE: "not the passphrase" });
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.stdout).checks.find((check: { name: string }) => check.name === "vault")).toMatchObject({ ok: false });
  });
});
