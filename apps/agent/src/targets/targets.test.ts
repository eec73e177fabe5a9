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
    for (const id of ["root@pam!botmox", "alice@corp.com@oidc!bot", "svc-bot@pve!agent.1"]) await expect(add(id), id).resolves.toMatchObject({ replaced: expect.any(Boolean) });
    for (const id of ["root@pam", "root!bot", "root@pam!1bot", "root@1realm!bot", "ro ot@pam!bot", "root@pam!b"]) await expect(add(id), id).rejects.toThrow(/USER@REALM!TOKENID/);
  });

  test("a target re-added with a bad config keeps its old config and its old secret", async () => {
    const targets = new Targets(join(home, "keep"), memoryVault());
    const good = { kind: "proxmox" as const, url: "https://pve.lan:8006", token_id: "root@pam!botmox", fingerprint: "AA" };
    await targets.add("pve", good, "old-secret");
    await expect(targets.add("pve", { ...good, token_id: "not a token" }, "new-secret")).rejects.toThrow();
    expect(await targets.resolve("pve", "proxmox")).toMatchObject({ config: { token_id: "root@pam!botmox" }, secret: "old-secret" });
  });

  test("a name taken by another kind of target is refused, and that target and its secret stay; the same kind is replaced, and says so", async () => {
    const targets = new Targets(join(home, "kinds"), memoryVault());
    const pve = { kind: "proxmox" as const, url: "https://pve.lan:8006", token_id: "root@pam!botmox", fingerprint: "AA" };
    expect(await targets.add("pve", pve, "pve-secret")).toEqual({ replaced: false });
    await expect(targets.add("pve", { kind: "syncthing", url: "http://127.0.0.1:8384" }, "st-key")).rejects.toThrow(/already a proxmox target; remove it first/);
    expect(await targets.resolve("pve", "proxmox")).toMatchObject({ config: { url: "https://pve.lan:8006" }, secret: "pve-secret" });
    expect(await targets.add("pve", { ...pve, url: "https://pve2.lan:8006" }, "new-secret")).toEqual({ replaced: true });
    expect(await targets.resolve("pve", "proxmox")).toMatchObject({ config: { url: "https://pve2.lan:8006" }, secret: "new-secret" });
  });

  test("removing a name that is not a target says so, also for names every object has", async () => {
    const targets = new Targets(join(home, "remove"), memoryVault());
    await targets.add("pve", { kind: "proxmox", url: "https://pve.lan:8006", token_id: "root@pam!botmox", fingerprint: "AA" }, "secret");
    for (const name of ["toString", "constructor", "__proto__", "nope"]) expect(await targets.remove(name), name).toBe(false);
    expect(await targets.remove("pve")).toBe(true);
  });
});
