import { pathTooDeep } from "@botmox/protocol";
import type { Logger } from "pino";
import { deadlineSignal } from "../executors/deadline.js";
import type { HandlerTable } from "../executors/handler.js";
import type { InventoryItem, InventoryStore, StoredInventoryItem } from "../journal/inventory-store.js";
import type { Targets } from "../targets/targets.js";

export interface Collected {
  items: InventoryItem[];
  collectedAt: number;
  healthy: number;
  unhealthy: number;
}

const TARGET_TIMEOUT_MS = 30_000;

/**
 * Gathers VMs (Proxmox) and folders and devices (SyncThing) of every target, keeps them in the
 * local store, and hands the snapshot on (the runtime decides, by policy, what leaves the machine).
 */
export class InventoryCollector {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Asked for while one ran: that one may have read a target before the change, so another follows. */
  private again = false;
  /** Aborted by stop(): a collection waiting on a dead target must not hold up a shutdown. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly targets: Targets,
    private readonly handlers: HandlerTable,
    private readonly store: InventoryStore,
    private readonly onCollected: (collected: Collected) => void,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.collectNow(), this.intervalMs);
    this.timer.unref();
    this.collectNow();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.stopping.abort();
    return this.running ?? Promise.resolve();
  }

  /** After a change (a mutating command succeeded): refresh shortly, once for a burst. */
  changed(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.collectNow();
    }, 500);
    this.soon.unref();
  }

  collectNow(): void {
    if (this.stopping.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.collect()
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "inventory collection failed"))
      .finally(() => {
        this.running = undefined;
        if (!this.again) return;
        this.again = false;
        this.collectNow();
      });
  }

  private async collect(): Promise<void> {
    const items: InventoryItem[] = [];
    const keptFromBefore: StoredInventoryItem[] = [];
    // An item nested too deep to store would fail the whole snapshot, every round: it alone is left out.
    const add = (item: InventoryItem) => {
      const deep = pathTooDeep(item.data, "data");
      if (!deep) return void items.push(item);
      this.log.warn({ target: item.target, kind: item.kind, key: item.key, path: deep }, "inventory item nested too deep to keep; left out");
    };
    let healthy = 0;
    let unhealthy = 0;
    for (const target of this.targets.list()) {
      if (this.stopping.signal.aborted) return; // a partial snapshot would drop the targets not asked yet
      const deadline = deadlineSignal(this.stopping.signal, TARGET_TIMEOUT_MS);
      const ctx = { commandId: `inventory:${target.name}`, signal: deadline.signal, progress: () => {}, log: this.log };
      try {
        if (target.kind === "proxmox") {
          const { vms } = await this.handlers["proxmox.vm.list"]({ target: target.name }, ctx);
          for (const vm of vms) add({ kind: "proxmox.vm", target: target.name, key: String(vm.vmid), data: vm });
        } else {
          const { folders } = await this.handlers["syncthing.folders.list"]({ target: target.name }, ctx);
          for (const folder of folders) add({ kind: "syncthing.folder", target: target.name, key: String(folder.id), data: { id: folder.id, label: folder.label, path: folder.path, type: folder.type, paused: folder.paused } });
          const { devices } = await this.handlers["syncthing.devices.list"]({ target: target.name }, ctx);
          for (const device of devices) add({ kind: "syncthing.device", target: target.name, key: String(device.deviceID), data: { deviceID: device.deviceID, name: device.name, paused: device.paused } });
        }
        healthy++;
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        unhealthy++;
        // A blip (pveproxy restarting, a SyncThing upgrade) must not make its VMs vanish until the next round.
        const kept = this.store.ofTarget(target.name);
        keptFromBefore.push(...kept);
        this.log.warn({ target: target.name, err: (err as Error).message, kept_items: kept.length }, "target did not answer the inventory collection; its last known items are kept");
      } finally {
        deadline.release();
      }
    }
    const collectedAt = Date.now();
    this.store.replace([...items, ...keptFromBefore], collectedAt);
    for (const { collected_at: _readBefore, ...item } of keptFromBefore) items.push(item);
    this.onCollected({ items, collectedAt, healthy, unhealthy });
  }
}
