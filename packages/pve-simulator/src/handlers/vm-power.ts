import { fail } from "../errors.js";
import { isTemplate, PveState, type Vm } from "../state.js";
import { sleep, type TaskRun } from "../tasks.js";
import { check, lockConfig, num, rootOnly, str, worker, type Handler, type HandlerContext } from "./context.js";
import { applyPending } from "./vm-config.js";

const vmOf = (ctx: HandlerContext) => ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
const isRunning = (ctx: HandlerContext) => ctx.state.running(str(ctx, "node"), num(ctx, "vmid"));

/** `vm_is_paused`: a missing config only warns (so the worker reports it). */
function isPaused(ctx: HandlerContext): boolean {
  const vm = ctx.state.vms.get(num(ctx, "vmid"));
  return vm?.node === str(ctx, "node") && vm.status === "paused";
}

function bootQemu(vm: Vm): void {
  applyPending(vm);
  vm.status = "running";
  vm.startedAt = Date.now();
  vm.pid = 100_000 + Math.floor(Math.random() * 3_000_000);
}

/** `PVE::QemuServer::vm_start`, as the qmstart worker (and a rollback with start) runs it. */
export async function startVm(ctx: HandlerContext, task: TaskRun, options: { skiplock?: boolean } = {}): Promise<void> {
  await lockConfig(ctx, num(ctx, "vmid"), async () => {
    const vm = vmOf(ctx);
    if (isTemplate(vm)) throw fail("you can't start a vm if it's a template");
    const suspended = vm.config.lock === "suspended";
    if (!options.skiplock && !suspended) PveState.assertUnlocked(vm);
    if (vm.status !== "stopped") throw fail(`VM ${vm.vmid} already running`);
    if (vm.config.tpmstate0 !== undefined) task.log("swtpm_setup: Not overwriting existing state file.");
    if (suspended) task.log(`resuming VM ${vm.vmid} from saved state`);
    await task.sleep(ctx.timings.powerMs);
    if (suspended) delete vm.config.lock;
    bootQemu(vm);
  });
}

/** `vm_stop` / `vm_shutdown` in the worker: a VM that is not running is left alone (OK). */
async function stopVm(ctx: HandlerContext, task: TaskRun, durationMs: number): Promise<void> {
  await lockConfig(ctx, num(ctx, "vmid"), async () => {
    if (!isRunning(ctx)) return;
    const vm = vmOf(ctx);
    if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
    await task.sleep(durationMs);
    vm.status = "stopped";
    delete vm.startedAt;
    delete vm.pid;
  });
}

export const vmPowerHandlers: Record<string, Handler> = {
  "POST /nodes/{node}/qemu/{vmid}/status/start": (ctx) => {
    rootOnly(ctx, "stateuri", "skiplock", "migratedfrom", "migration_type", "migration_network", "targetstorage", "force-cpu", "with-conntrack-state", "nets-host-mtu");
    return worker(ctx, "qmstart", num(ctx, "vmid"), (task) => startVm(ctx, task));
  },
  "POST /nodes/{node}/qemu/{vmid}/status/stop": (ctx) => {
    rootOnly(ctx, "skiplock", "keepActive", "migratedfrom");
    return worker(ctx, "qmstop", num(ctx, "vmid"), (task) => stopVm(ctx, task, ctx.timings.powerMs));
  },
  "POST /nodes/{node}/qemu/{vmid}/status/shutdown": (ctx) => {
    rootOnly(ctx, "skiplock", "keepActive");
    // A graceful shutdown sent to a paused guest would only land after a resume.
    if (isPaused(ctx) && !ctx.params.forceStop) throw fail("VM is paused - cannot shutdown");
    return worker(ctx, "qmshutdown", num(ctx, "vmid"), (task) => stopVm(ctx, task, ctx.timings.shutdownMs ?? ctx.timings.powerMs));
  },
  "POST /nodes/{node}/qemu/{vmid}/status/reboot": (ctx) => {
    if (isPaused(ctx)) throw fail("VM is paused - cannot shutdown");
    if (!isRunning(ctx)) throw fail(`VM ${num(ctx, "vmid")} not running`);
    return worker(ctx, "qmreboot", num(ctx, "vmid"), async (task) => {
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        if (!isRunning(ctx)) return;
        await task.sleep(ctx.timings.shutdownMs ?? ctx.timings.powerMs);
        bootQemu(vmOf(ctx));
      });
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/status/reset": (ctx) => {
    rootOnly(ctx, "skiplock");
    if (!isRunning(ctx)) throw fail(`VM ${num(ctx, "vmid")} not running`);
    return worker(ctx, "qmreset", num(ctx, "vmid"), async (task) => {
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        const vm = vmOf(ctx);
        if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
        if (vm.status === "stopped") throw fail(`VM ${vm.vmid} not running`);
        await task.sleep(ctx.timings.powerMs);
      });
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/status/suspend": (ctx) => {
    rootOnly(ctx, "skiplock");
    if (!isRunning(ctx)) throw fail(`VM ${num(ctx, "vmid")} not running`);
    const todisk = ctx.params.todisk === true;
    if (todisk) check(ctx, `/vms/${num(ctx, "vmid")}`, ["VM.Config.Disk"]);
    return worker(ctx, todisk ? "qmsuspend" : "qmpause", num(ctx, "vmid"), async (task) => {
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        const vm = vmOf(ctx);
        if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
        if (vm.status === "stopped") throw fail(`VM ${vm.vmid} not running`);
        if (todisk) {
          vm.config.lock = "suspending";
          task.log(`suspend VM ${vm.vmid} to disk`);
        }
        await task.sleep(ctx.timings.powerMs);
        if (todisk) {
          vm.config.lock = "suspended";
          vm.status = "stopped";
          delete vm.startedAt;
          delete vm.pid;
        } else {
          vm.status = "paused";
        }
      });
    });
  },
  "POST /nodes/{node}/qemu/{vmid}/status/resume": async (ctx) => {
    rootOnly(ctx, "skiplock", "nocheck");
    let toDiskSuspended = false;
    await lockConfig(ctx, num(ctx, "vmid"), () => {
      toDiskSuspended = vmOf(ctx).config.lock === "suspended";
    }).catch(() => undefined);
    if (!toDiskSuspended && !isRunning(ctx)) throw fail(`VM ${num(ctx, "vmid")} not running`);
    return worker(ctx, "qmresume", num(ctx, "vmid"), async (task) => {
      if (toDiskSuspended) return startVm(ctx, task, { skiplock: ctx.params.skiplock === true });
      await lockConfig(ctx, num(ctx, "vmid"), async () => {
        const vm = vmOf(ctx);
        if (vm.status === "running") return; // already running: job done
        if (isTemplate(vm)) throw fail(`VM ${vm.vmid} is a template and cannot be resumed!`);
        if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
        if (vm.status === "stopped") throw fail(`VM ${vm.vmid} not running`);
        await sleep(ctx.timings.powerMs);
        vm.status = "running";
      });
    });
  },
};
