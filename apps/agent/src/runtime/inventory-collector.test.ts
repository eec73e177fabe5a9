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

  test("a target that does not answer keeps its last known items, with when they were read, until it answers again", async () => {
    let down = false;
    let vms = [{ vmid: 100 }, { vmid: 101 }];
    const handlers = {
      "proxmox.vm.list": async ({ target }: { target: string }) => {
        if (target === "pve" && down) throw new Error("connect ECONNREFUSED");
        return { vms: target === "pve" ? vms : [{ vmid: 200 }] };
      },
    } as unknown as HandlerTable;
    const targets = { list: () => [{ name: "pve", kind: "proxmox" }, { name: "pve2", kind: "proxmox" }] } as unknown as Targets;
    const store = new InventoryStore(join(dir, "silent.db"));
    const snapshots: Collected[] = [];
    const collector = new InventoryCollector(targets, handlers, store, (collected) => snapshots.push(collected), pino({ level: "silent" }), 60_000);
    const collected = async (count: number) => {
      const deadline = Date.now() + 2_000;
      while (snapshots.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return snapshots[count - 1]!;
    };
    const keys = (snapshot: Collected) => snapshot.items.map((item) => `${item.target}/${item.key}`).sort();
    collector.start();
    const first = await collected(1);
    await new Promise((resolve) => setTimeout(resolve, 5));

    down = true;
    collector.collectNow();
    const second = await collected(2);
    expect(second).toMatchObject({ healthy: 1, unhealthy: 1 });
    expect(keys(second)).toEqual(["pve/100", "pve/101", "pve2/200"]);
    expect(second.items.every((item) => !("collected_at" in item))).toBe(true); // the frame's items carry only what the protocol names
    const stored = store.all();
    expect(stored.filter((item) => item.target === "pve").map((item) => item.collected_at)).toEqual([first.collectedAt, first.collectedAt]);
    expect(stored.find((item) => item.target === "pve2")!.collected_at).toBe(second.collectedAt);

    down = false;
    vms = [{ vmid: 101 }]; // 100 was deleted while the target was silent
    collector.collectNow();
    const third = await collected(3);
    expect(third).toMatchObject({ healthy: 2, unhealthy: 0 });
    expect(keys(third)).toEqual(["pve/101", "pve2/200"]);
    expect(store.all().every((item) => item.collected_at === third.collectedAt)).toBe(true);
    await collector.stop();
    store.close();
  });
});
