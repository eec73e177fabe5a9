import { fail } from "../errors.js";
import { isDriveKey, isTemplate, parseDrive, PveState, type Vm } from "../state.js";
import type { TaskRun } from "../tasks.js";
import { lockConfig, num, rootOnly, str, worker, type Handler, type HandlerContext } from "./context.js";

const vmOf = (ctx: HandlerContext) => ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));

/** Every volume a VM owns: its drives, unused disks and snapshot drives. */
function volumesOf(vm: Vm): string[] {
  const volumes = new Set<string>();
  for (const config of [vm.config, vm.pending, ...[...vm.snapshots.values()].map((snapshot) => snapshot.config)]) {
    for (const [key, value] of Object.entries(config)) {
      if (!isDriveKey(key) && !/^unused\d+$/.test(key)) continue;
      const drive = parseDrive(String(value));
      if (!drive.cdrom && drive.storage) volumes.add(drive.volume);
    }
  }
  return [...volumes];
}

function logVolumeRemoval(ctx: HandlerContext, task: TaskRun, volume: string): void {
  const [sid = "", volname = ""] = volume.split(":");
  if (ctx.state.storage(sid)?.type === "lvmthin") task.log(`  Logical volume "${volname.split("/").at(-1)}" successfully removed.`);
  else task.log("Removing image: 1% complete...", "Removing image: 100% complete...done.");
}

export const vmLifecycleHandlers: Record<string, Handler> = {
  "POST /nodes/{node}/qemu/{vmid}/template": (ctx) => {
    const loadAndCheck = () => {
      const vm = vmOf(ctx);
      PveState.assertUnlocked(vm);
      if (vm.snapshots.size > 0) throw fail("unable to create template, because VM contains snapshots");
      if (isTemplate(vm) && ctx.params.disk === undefined) throw fail("you can't convert a template to a template");
      if (ctx.state.running(str(ctx, "node"), vm.vmid)) throw fail("you can't convert a VM to template if VM is running");
      return vm;
    };
    loadAndCheck();
    return worker(ctx, "qmtemplate", num(ctx, "vmid"), async (task) => {
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        const vm = loadAndCheck();
        vm.config.template = 1;
        await task.sleep(ctx.timings.taskMs);
        for (const key of Object.keys(vm.config).sort()) {
          if (!isDriveKey(key) || (ctx.params.disk !== undefined && key !== ctx.params.disk)) continue;
          const drive = parseDrive(String(vm.config[key]));
          if (drive.cdrom) continue;
          const [sid = "", volname = ""] = drive.volume.split(":");
          const name = volname.split("/").at(-1)!;
          const base = name.replace(/^vm-/, "base-");
          if (ctx.state.storage(sid)?.type === "lvmthin") {
            task.log(`  Renamed "${name}" to "${base}" in volume group "pve"`, `  Logical volume pve/${base} changed.`);
          }
          vm.config[key] = String(vm.config[key]).replace(volname, volname.replace(/[^/]+$/, base));
        }
      });
    });
  },
  "DELETE /nodes/{node}/qemu/{vmid}": (ctx) => {
    rootOnly(ctx, "skiplock");
    const earlyChecks = () => {
      const vm = vmOf(ctx);
      if (vm.config.protection === 1) throw fail(`can't remove VM ${vm.vmid} - protection mode enabled`);
      if (ctx.state.running(str(ctx, "node"), vm.vmid)) throw fail(`VM ${vm.vmid} is running - destroy failed`);
      return vm;
    };
    earlyChecks();
    return worker(ctx, "qmdestroy", num(ctx, "vmid"), async (task) => {
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        const vm = earlyChecks();
        if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
        const volumes = volumesOf(vm);
        if (isTemplate(vm)) {
          for (const volume of volumes) {
            const base = volume.split(":")[1]?.split("/").at(-1);
            const users = [...ctx.state.vms.values()].filter((other) => other !== vm && volumesOf(other).some((used) => used.includes(`:${base}/`) || used.includes(`/${base}/`)));
            if (users.length > 0) throw fail(`base volume '${volume}' is still in use by linked cloned`);
          }
        }
        vm.config.lock = "destroyed";
        await task.sleep(ctx.timings.taskMs);
        for (const volume of volumes) logVolumeRemoval(ctx, task, volume);
        if (ctx.params.purge) task.log(`purging VM ${vm.vmid} from related configurations..`);
        ctx.state.vms.delete(vm.vmid);
      });
    });
  },
};
