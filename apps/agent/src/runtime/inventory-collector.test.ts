import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, test } from "vitest";
import type { HandlerTable } from "../executors/handler.js";
import { InventoryStore } from "../journal/inventory-store.js";
import type { Targets } from "../targets/targets.js";
import { InventoryCollector, type Collected } from "./inventory-collector.js";

const dir = mkdtempSync(join(tmpdir(), "inventory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("inventory collector", () => {
  test("a change reported while a collection runs is collected again once it ends", async () => {
    const vms = [{ vmid: 100 }];
    let release!: () => void;
    const firstRead = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const handlers = {
      "proxmox.vm.list": async () => {
        const seen = vms.map((vm) => ({ ...vm }));
        if (reads++ === 0) await firstRead; // the first collection read the node before the change, and is still running
        return { vms: seen };
      },
    } as unknown as HandlerTable;
    const targets = { list: () => [{ name: "pve", kind: "proxmox" }] } as unknown as Targets;
    const store = new InventoryStore(join(dir, "inventory.db"));
    const snapshots: Collected[] = [];
    const collector = new InventoryCollector(targets, handlers, store, (collected) => snapshots.push(collected), pino({ level: "silent" }), 60_000);
    collector.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    vms.push({ vmid: 101 }); // a clone succeeded
    collector.changed();
    await new Promise((resolve) => setTimeout(resolve, 700)); // past the 500 ms the refresh waits for a burst
    release();
    const deadline = Date.now() + 2_000;
    while (snapshots.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(snapshots.map((snapshot) => snapshot.items.map((item) => item.key))).toEqual([["100"], ["100", "101"]]);
    expect(store.all().map((item) => item.key)).toEqual(["100", "101"]);
    await collector.stop();
    store.close();
  });

  test("a VM whose data nests too deep to store is left out; the rest of the snapshot is kept", async () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 20_000; i++) deep = { next: deep };
    const handlers = { "proxmox.vm.list": async () => ({ vms: [{ vmid: 100 }, { vmid: 101, tags: deep }, { vmid: 102 }] }) } as unknown as HandlerTable;
    const targets = { list: () => [{ name: "pve", kind: "proxmox" }] } as unknown as Targets;
    const store = new InventoryStore(join(dir, "deep.db"));
    const snapshots: Collected[] = [];
    const collector = new InventoryCollector(targets, handlers, store, (collected) => snapshots.push(collected), pino({ level: "silent" }), 60_000);
    collector.start();
    const deadline = Date.now() + 2_000;
    while (snapshots.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(snapshots[0]).toMatchObject({ healthy: 1, unhealthy: 0 });
    expect(store.all().map((item) => item.key)).toEqual(["100", "102"]);
    await collector.stop();
    store.close();
  });
});
