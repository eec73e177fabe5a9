import { requirePrivilege } from "../auth.js";
import { PveError } from "../state.js";
import { lockedTask, num, str, type Handler } from "./context.js";

export const snapshotHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/qemu/{vmid}/snapshot": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Audit");
    const snapshots = [...vm.snapshots.values()].map((snapshot) => ({ name: snapshot.name, description: snapshot.description, snaptime: snapshot.snaptime, ...(snapshot.parent ? { parent: snapshot.parent } : {}) }));
    const last = [...vm.snapshots.values()].at(-1);
    return [...snapshots, { name: "current", description: "You are here!", running: vm.status === "running" ? 1 : 0, ...(last ? { parent: last.name } : {}) }];
  },
  "POST /nodes/{node}/qemu/{vmid}/snapshot": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Snapshot");
    const name = str(ctx, "snapname");
    if (vm.snapshots.has(name)) throw new PveError(500, `snapshot name '${name}' already used`);
    return lockedTask(ctx, vm, {
      type: "qmsnapshot",
      lock: "snapshot",
      run: (log) => {
        const parent = [...vm.snapshots.keys()].at(-1);
        vm.snapshots.set(name, { name, description: ctx.params.description === undefined ? "" : str(ctx, "description"), snaptime: Math.floor(Date.now() / 1000), ...(parent ? { parent } : {}), config: { ...vm.config } });
        log(`snapshotting 'drive-scsi0' (${String(vm.config.scsi0 ?? "")})`);
      },
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Snapshot.Rollback");
    const snapshot = vm.snapshots.get(str(ctx, "snapname"));
    if (!snapshot) throw new PveError(500, `snapshot '${str(ctx, "snapname")}' does not exist`);
    return lockedTask(ctx, vm, {
      type: "qmrollback",
      lock: "rollback",
      run: (log) => {
        vm.config = { ...snapshot.config };
        vm.status = "stopped";
        log(`rolled back to snapshot '${snapshot.name}'`);
      },
    });
  },
  "DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Snapshot");
    const name = str(ctx, "snapname");
    if (!vm.snapshots.has(name)) throw new PveError(500, `snapshot '${name}' does not exist`);
    return lockedTask(ctx, vm, {
      type: "qmdelsnapshot",
      lock: "snapshot-delete",
      run: (log) => {
        vm.snapshots.delete(name);
        log(`removed snapshot '${name}'`);
      },
    });
  },
};
