import { ExecutorError } from "../executor-error.js";
import type { ProxmoxClient } from "./client.js";

/**
 * VM ids handed to clones of this agent that are still running, per target. `cluster/nextid`
 * offers every concurrent caller the same id until a clone's worker has written its config, so
 * a burst of clones would collide round after round; ids reserved here are skipped, and each
 * one skipped to is confirmed free with `cluster/nextid?vmid=N`. Collisions with clients outside
 * this agent are still possible and are retried by the caller.
 */
export class NewidReservations {
  private readonly reserved = new Map<string, Set<number>>();

  async reserve(target: string, pve: ProxmoxClient, signal: AbortSignal): Promise<{ id: number; release(): void }> {
    const taken = this.reserved.get(target) ?? new Set<number>();
    this.reserved.set(target, taken);
    let id = Number(await pve.call<string>("GET", "cluster/nextid", {}, signal));
    // Checked again after every await: another clone may have reserved the id meanwhile.
    while (taken.has(id)) id = await firstFreeFrom(id + 1, taken, pve, signal);
    taken.add(id);
    return { id, release: () => taken.delete(id) };
  }
}

/** The first id from `candidate` up that PVE confirms free and this agent has not reserved. */
async function firstFreeFrom(candidate: number, taken: Set<number>, pve: ProxmoxClient, signal: AbortSignal): Promise<number> {
  for (let id = candidate; ; id++) {
    if (taken.has(id)) continue;
    try {
      return Number(await pve.call<string>("GET", "cluster/nextid", { vmid: id }, signal));
    } catch (err) {
      // PVE answers 400 "VM N already exists" for a used id.
      if (!(err instanceof ExecutorError && err.code === "PVE_INVALID_PARAMS")) throw err;
    }
  }
}
