import { fail } from "../errors.js";
import { isDriveKey, isTemplate, parseDrive, PveState, type Config, type Vm } from "../state.js";
import type { TaskRun } from "../tasks.js";
import { check, lockConfig, num, str, worker, type Handler, type HandlerContext } from "./context.js";
import { startVm } from "./vm-power.js";

const vmOf = (ctx: HandlerContext) => ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));

/** `__snapshot_copy_config`: everything but snapshot bookkeeping, the lock and unused disks. */
function copyConfig(config: Config): Config {
  const copy: Config = {};
  for (const [key, value] of Object.entries(config)) {
    if (["snapstate", "snaptime", "vmstate", "lock", "parent", "description"].includes(key) || /^unused\d+$/.test(key)) continue;
    copy[key] = value;
  }
  return copy;
}

/** One log line per snapshotted disk, as the storage plugins print them. */
function logDisks(ctx: HandlerContext, vm: Vm, task: TaskRun, action: (key: string, volume: string, lvmthin: boolean) => string | undefined): void {
  for (const key of Object.keys(vm.config).sort()) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(String(vm.config[key]));
    if (drive.cdrom || !drive.storage) continue;
    const line = action(key, drive.volume, ctx.state.storage(drive.storage)?.type === "lvmthin");
    if (line) task.log(line);
  }
}

const lvName = (volume: string) => volume.split(":")[1]?.split("/").at(-1) ?? volume;

export const snapshotHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/qemu/{vmid}/snapshot": (ctx) => {
    const vm = vmOf(ctx);
    const list: Array<Record<string, unknown>> = [...vm.snapshots.values()].map((snapshot) => ({
      name: snapshot.name,
      snaptime: snapshot.snaptime,
      vmstate: snapshot.vmstate ? 1 : 0,
      description: snapshot.description ?? "",
      ...(snapshot.parent ? { parent: snapshot.parent } : {}),
    }));
    list.push({ name: "current", digest: PveState.digest(vm), running: vm.status === "stopped" ? 0 : 1, description: "You are here!", ...(vm.config.parent ? { parent: vm.config.parent } : {}) });
    return list;
  },
  "GET /nodes/{node}/qemu/{vmid}/snapshot/{snapname}": () => [{ cmd: "rollback" }, { cmd: "config" }],
  "GET /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config": (ctx) => {
    const snapshot = vmOf(ctx).snapshots.get(str(ctx, "snapname"));
    if (!snapshot) throw fail(`snapshot '${str(ctx, "snapname")}' does not exist`);
    return { ...snapshot.config, snaptime: snapshot.snaptime, ...(snapshot.description ? { description: snapshot.description } : {}), ...(snapshot.parent ? { parent: snapshot.parent } : {}) };
  },
  "POST /nodes/{node}/qemu/{vmid}/snapshot": (ctx) => {
    const name = str(ctx, "snapname");
    if (name === "current") throw fail("unable to use snapshot name 'current' (reserved name)");
    if (name.toLowerCase() === "pending") throw fail("unable to use snapshot name 'pending' (reserved name)");
    vmOf(ctx);
    return worker(ctx, "qmsnapshot", num(ctx, "vmid"), async (task) => {
      const vm = await lockConfig(ctx, num(ctx, "vmid"), () => {
        const vm = vmOf(ctx);
        if (isTemplate(vm)) throw fail("you can't take a snapshot if it's a template");
        PveState.assertUnlocked(vm);
        if (vm.snapshots.has(name)) throw fail(`snapshot name '${name}' already used`);
        vm.config.lock = "snapshot";
        const saveState = ctx.params.vmstate === true && vm.status !== "stopped";
        vm.snapshots.set(name, {
          name,
          config: copyConfig(vm.config),
          snaptime: Math.floor(Date.now() / 1000),
          ...(ctx.params.description !== undefined ? { description: str(ctx, "description") } : {}),
          ...(vm.config.parent !== undefined ? { parent: String(vm.config.parent) } : {}),
          ...(saveState ? { vmstate: true } : {}),
        });
        return vm;
      });
      if (vm.snapshots.get(name)?.vmstate) task.log(`saving VM state and RAM using storage '${parseDrive(String(vm.config.scsi0 ?? "local-lvm:")).storage ?? "local-lvm"}'`);
      logDisks(ctx, vm, task, (key, volume, lvmthin) => (lvmthin ? `  Logical volume "snap_${lvName(volume)}_${name}" created.` : `snapshotting '${key}' (${volume})`));
      await task.sleep(ctx.timings.taskMs);
      await lockConfig(ctx, vm.vmid, () => {
        if (vm.config.lock !== "snapshot") throw fail("missing snapshot lock");
        if (!vm.snapshots.has(name)) throw fail(`snapshot '${name}' does not exist`);
        vm.config.parent = name;
        delete vm.config.lock;
      });
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback": (ctx) => {
    if (ctx.params.start === true) check(ctx, `/vms/${num(ctx, "vmid")}`, ["VM.PowerMgmt"]);
    const name = str(ctx, "snapname");
    return worker(ctx, "qmrollback", num(ctx, "vmid"), async (task) => {
      const vm = await lockConfig(ctx, num(ctx, "vmid"), () => {
        const vm = vmOf(ctx);
        if (!vm.snapshots.has(name)) throw fail(`snapshot '${name}' does not exist`);
        PveState.assertUnlocked(vm);
        vm.config.lock = "rollback";
        return vm;
      });
      const snapshot = vm.snapshots.get(name)!;
      if (vm.status !== "stopped" && !snapshot.vmstate) {
        vm.status = "stopped";
        delete vm.startedAt;
        delete vm.pid;
      }
      logDisks(ctx, vm, task, (_key, volume, lvmthin) => (lvmthin ? `  Logical volume "${lvName(volume)}" successfully removed.\n  Logical volume "${lvName(volume)}" created.` : "Rolling back to snapshot: 100% complete...done."));
      await task.sleep(ctx.timings.taskMs);
      await lockConfig(ctx, vm.vmid, () => {
        const unused = Object.fromEntries(Object.entries(vm.config).filter(([key]) => /^unused\d+$/.test(key)));
        const description = vm.config.description;
        vm.config = { ...snapshot.config, ...unused, parent: name, ...(description !== undefined ? { description } : {}) };
        vm.pending = {};
        vm.pendingDelete = [];
        if (snapshot.vmstate) vm.status = "running";
      });
      if (ctx.params.start === true && vm.status === "stopped") await startVm(ctx, task);
    });
  },
  "DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}": (ctx) => {
    const name = str(ctx, "snapname");
    return worker(ctx, "qmdelsnapshot", num(ctx, "vmid"), async (task) => {
      const vm = await lockConfig(ctx, num(ctx, "vmid"), () => {
        const vm = vmOf(ctx);
        if (!vm.snapshots.has(name)) throw fail(`snapshot '${name}' does not exist`);
        if (!ctx.params.force) PveState.assertUnlocked(vm);
        vm.config.lock = "snapshot-delete";
        return vm;
      });
      logDisks(ctx, vm, task, (_key, volume, lvmthin) => (lvmthin ? `  Logical volume "snap_${lvName(volume)}_${name}" successfully removed.` : undefined));
      await task.sleep(ctx.timings.taskMs);
      await lockConfig(ctx, vm.vmid, () => {
        const removed = vm.snapshots.get(name);
        vm.snapshots.delete(name);
        for (const snapshot of vm.snapshots.values()) {
          if (snapshot.parent !== name) continue;
          if (removed?.parent) snapshot.parent = removed.parent;
          else delete snapshot.parent;
        }
        if (vm.config.parent === name) {
          if (removed?.parent) vm.config.parent = removed.parent;
          else delete vm.config.parent;
        }
        delete vm.config.lock;
      });
    });
  },
};

