import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { memoryVault } from "../vault/memory-vault.testkit.js";
import { Targets } from "./targets.js";

const home = mkdtempSync(join(tmpdir(), "targets-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));


describe("targets", () => {
  test("token ids as PVE accepts them, users with an @ included; the rest refused", async () => {
    const targets = new Targets(join(home, "ids"), memoryVault());
    const add = (token_id: string) => targets.add("pve", { kind: "proxmox", url: "https://pve.lan:8006", token_id, fingerprint: "AA" }, "secret");
    for (const id of ["root@pam!botmox", "alice@corp.com@oidc!bot", "svc-bot@pve!agent.1"]) await expect(add(id), id).resolves.toBeUndefined();
    for (const id of ["root@pam", "root!bot", "root@pam!1bot", "root@1realm!bot", "ro ot@pam!bot", "root@pam!b"]) await expect(add(id), id).rejects.toThrow(/USER@REALM!TOKENID/);
  });

  test("a target re-added with a bad config keeps its old config and its old secret", async () => {
    const targets = new Targets(join(home, "keep"), memoryVault());
    const good = { kind: "proxmox" as const, url: "https://pve.lan:8006", token_id: "root@pam!botmox", fingerprint: "AA" };
    await targets.add("pve", good, "old-secret");
    await expect(targets.add("pve", { ...good, token_id: "not a token" }, "new-secret")).rejects.toThrow();
    expect(await targets.resolve("pve", "proxmox")).toMatchObject({ config: { token_id: "root@pam!botmox" }, secret: "old-secret" });
  });
});
