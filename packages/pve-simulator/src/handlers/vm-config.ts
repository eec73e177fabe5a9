import { requirePrivilege } from "../auth.js";
import { PveError, PveState, type Vm } from "../state.js";
import { num, str, type Handler, type HandlerContext } from "./context.js";

const PATH_AND_CONTROL = new Set(["node", "vmid", "delete", "digest", "skiplock", "force", "revert", "background_delay"]);

function applyConfig(ctx: HandlerContext, vm: Vm): void {
  if (ctx.params.digest !== undefined && ctx.params.digest !== PveState.digest(vm.config)) {
    throw new PveError(500, "detected modified configuration - file changed by other user? Try again.");
  }
  if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
  const deletions = ctx.params.delete === undefined ? [] : str(ctx, "delete").split(/[,;\s]+/).filter(Boolean);
  for (const key of deletions) {
    if (key in ctx.params) throw new PveError(400, "Parameter verification failed.", { delete: `unable to delete '${key}' - option is also set` });
  }
  for (const [key, value] of Object.entries(ctx.params)) {
    if (!PATH_AND_CONTROL.has(key)) vm.config[key] = typeof value === "boolean" ? (value ? 1 : 0) : value;
  }
  for (const key of deletions) delete vm.config[key];
}

function privilegeFor(ctx: HandlerContext): string {
  const keys = Object.keys(ctx.params).filter((key) => !PATH_AND_CONTROL.has(key));
  if (keys.some((key) => /^(scsi|sata|ide|virtio|efidisk|tpmstate)\d+$/.test(key))) return "VM.Config.Disk";
  if (keys.some((key) => ["memory", "balloon"].includes(key))) return "VM.Config.Memory";
  if (keys.some((key) => ["cores", "sockets", "cpu", "vcpus", "cpulimit"].includes(key))) return "VM.Config.CPU";
  if (keys.some((key) => /^net\d+$/.test(key))) return "VM.Config.Network";
  return "VM.Config.Options";
}

export const vmConfigHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/qemu/{vmid}/config": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Audit");
    return { ...vm.config, digest: PveState.digest(vm.config), ...(vm.lock ? { lock: vm.lock } : {}) };
  },
  "PUT /nodes/{node}/qemu/{vmid}/config": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, privilegeFor(ctx));
    applyConfig(ctx, vm);
    return null;
  },
  "POST /nodes/{node}/qemu/{vmid}/config": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, privilegeFor(ctx));
    applyConfig(ctx, vm);
    return ctx.tasks.start({ node: vm.node, type: "qmconfig", id: vm.vmid, user: ctx.user, durationMs: ctx.timings.taskMs, run: (log) => log("update VM config") });
  },
  "PUT /nodes/{node}/qemu/{vmid}/resize": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Config.Disk");
    if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
    const disk = str(ctx, "disk");
    const drive = vm.config[disk];
    if (drive === undefined) throw new PveError(500, `disk '${disk}' does not exist`);
    const current = parseSize(/size=(\d+[KMGT]?)/.exec(String(drive))?.[1] ?? "0G");
    const request = str(ctx, "size");
    const match = /^(\+?)(\d+(?:\.\d+)?)([KMGT]?)$/.exec(request);
    if (!match) throw new PveError(400, "Parameter verification failed.", { size: "unable to parse size" });
    const amount = parseSize(`${match[2]}${match[3]}`);
    const next = match[1] ? current + amount : amount;
    if (next < current) throw new PveError(500, "shrinking disks is not supported");
    vm.config[disk] = String(drive).replace(/size=\d+[KMGT]?/, `size=${Math.round(next / 1024 ** 3)}G`);
    return ctx.tasks.start({ node: vm.node, type: "resize", id: vm.vmid, user: ctx.user, durationMs: ctx.timings.taskMs, run: (log) => log(`Size of logical volume changed to ${Math.round(next / 1024 ** 3)} GiB`) });
  },
};

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text);
  if (!match) return 0;
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[match[2] as "" | "K" | "M" | "G" | "T"];
  return Number(match[1]) * unit;
}
