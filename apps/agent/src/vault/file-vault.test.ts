import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { FileVault } from "./file-vault.js";

const dirs: string[] = [];
function vaultPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "vault-"));
  dirs.push(dir);
  return join(dir, "vault.enc");
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("file vault", () => {
  test("secrets survive a reopen and are not readable on disk", async () => {
    const path = vaultPath();
    await new FileVault(path, "correct horse").set("proxmox.token", "s3cr3t-token-value");
    expect(readFileSync(path, "utf8")).not.toContain("s3cr3t-token-value");
    const reopened = new FileVault(path, "correct horse");
    expect(await reopened.get("proxmox.token")).toBe("s3cr3t-token-value");
    expect(await reopened.values()).toEqual(["s3cr3t-token-value"]);
    expect(await reopened.delete("proxmox.token")).toBe(true);
    expect(await reopened.get("proxmox.token")).toBeNull();
  });

  test("a wrong passphrase or a tampered file fails with a clear error and changes nothing", async () => {
    const path = vaultPath();
    await new FileVault(path, "right").set("k", "value-12345678");
    const before = readFileSync(path, "utf8");
    await expect(new FileVault(path, "wrong").get("k")).rejects.toThrow(/passphrase \(BOTMOX_VAULT_PASSPHRASE\) is wrong/);
    await expect(new FileVault(path, "wrong").set("k2", "v")).rejects.toThrow(/wrong/);
    expect(readFileSync(path, "utf8")).toBe(before);

    const file = JSON.parse(before);
    file.ciphertext = Buffer.from("tampered").toString("base64");
    writeFileSync(path, JSON.stringify(file));
    await expect(new FileVault(path, "right").get("k")).rejects.toThrow(/altered/);
  });

  // Regression: a running agent kept its first decrypted copy and never saw targets added by the CLI.
  test("stale cache: a secret written by another process is seen by an open vault", async () => {
    const path = vaultPath();
    const running = new FileVault(path, "pw");
    await running.set("agent.private_key", "key-material-123");
    expect(await running.get("target.pve.secret")).toBeNull();
    await new FileVault(path, "pw").set("target.pve.secret", "token-secret-456");
    expect(await running.get("target.pve.secret")).toBe("token-secret-456");
    expect((await running.values()).sort()).toEqual(["key-material-123", "token-secret-456"]);
  });

  test("no passphrase is refused up front", () => {
    expect(() => new FileVault(vaultPath(), "")).toThrow(/BOTMOX_VAULT_PASSPHRASE/);
  });
});
