import { requirePrivilege } from "../auth.js";
import { PveError, PveState } from "../state.js";
import { lockedTask, num, str, type Handler } from "./context.js";

export const vmLifecycleHandlers: Record<string, Handler> = {
  "POST /nodes/{node}/qemu/{vmid}/clone": (ctx) => {
    const source = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    const newid = num(ctx, "newid");
    requirePrivilege(ctx.grant, `/vms/${source.vmid}`, "VM.Clone");
    requirePrivilege(ctx.grant, `/vms/${newid}`, "VM.Allocate");
    const full = ctx.params.full === true || !source.template;
    if (ctx.params.full === false && !source.template) throw new PveError(500, "Linked clone feature is not supported for VMs that are not templates");
    const target = ctx.params.target === undefined ? source.node : str(ctx, "target");
    ctx.state.node(target);
    if (target !== source.node && !full) throw new PveError(500, "Linked clone feature for a different target node is not supported");
    if (!source.template) PveState.assertUnlocked(source);
    // The opening phase of a clone holds the source's config-file lock; overlapping clones time out on it.
    const heldUntil = ctx.state.fileLocks.get(source.vmid) ?? 0;
    if (heldUntil > Date.now() && ++ctx.state.fileLockTimeouts) throw new PveError(500, `can't lock file '/var/lock/qemu-server/lock-${source.vmid}.conf' - got timeout`);
    if (ctx.state.vms.has(newid)) throw new PveError(500, `unable to create VM ${newid}: config file already exists`);
    ctx.state.fileLocks.set(source.vmid, Date.now() + ctx.timings.cloneFileLockMs);
    const storage = ctx.params.storage === undefined ? "local-lvm" : str(ctx, "storage");
    const config = { ...source.config, name: ctx.params.name === undefined ? `Copy-of-VM-${source.config.name ?? source.vmid}` : str(ctx, "name") } as Record<string, string | number>;
    delete config.template;
    if (ctx.params.description !== undefined) config.description = str(ctx, "description");
    config.scsi0 = `${storage}:${full ? "" : `base-${source.vmid}-disk-0/`}vm-${newid}-disk-0,size=${/size=(\w+)/.exec(String(source.config.scsi0 ?? ""))?.[1] ?? "32G"}`;
    const clone = ctx.state.add({ vmid: newid, node: target, status: "stopped", template: false, config, lock: "clone" });
    return ctx.tasks.start({
      node: source.node,
      type: "qmclone",
      id: source.vmid,
      user: ctx.user,
      durationMs: ctx.timings.cloneMs,
      run: (log) => {
        log(`create ${full ? "full" : "linked"} clone of drive scsi0 (${String(source.config.scsi0 ?? "")})`);
        log(`clone ${source.vmid} -> ${newid} on ${target}: ${full ? "transferred 64.0 GiB of 64.0 GiB (100.00%)" : "linked"}`);
        delete clone.lock;
      },
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/template": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Allocate");
    PveState.assertUnlocked(vm);
    if (vm.template) throw new PveError(500, `VM ${vm.vmid} is already a template`);
    if (vm.status !== "stopped") throw new PveError(500, "You can't convert a VM to template if VM is running");
    return lockedTask(ctx, vm, {
      type: "qmtemplate",
      lock: "template",
      run: (log) => {
        vm.template = true;
        vm.config.template = 1;
        log(`converted VM ${vm.vmid} to a template`);
      },
    });
  },
  "DELETE /nodes/{node}/qemu/{vmid}": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Allocate");
    if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
    return ctx.tasks.start({
      node: vm.node,
      type: "qmdestroy",
      id: vm.vmid,
      user: ctx.user,
      durationMs: ctx.timings.taskMs,
      run: (log) => {
        if (vm.status !== "stopped") throw new Error(`VM ${vm.vmid} is running - destroy failed`);
        ctx.state.vms.delete(vm.vmid);
        log(`Removing image: 100% complete...done.`);
        if (ctx.params.purge) log(`purging VM ${vm.vmid} from related configurations..`);
      },
    });
  },
};
