import { isDriveKey, isTemplate, parseDrive, type Vm } from "../state.js";
import { allowed, num, str, type Handler } from "./context.js";

/** `get_current_memory`: the memory property string's current value (MiB). */
export function memoryMiB(vm: Vm): number {
  const memory = String(vm.config.memory ?? "512");
  return Number(/(?:^|,)(?:current=)?(\d+)/.exec(memory)?.[1] ?? 512);
}

function bootDiskSize(vm: Vm): number {
  const order = /order=([^,]+)/.exec(String(vm.config.boot ?? ""))?.[1]?.split(";") ?? [];
  const keys = [...order, ...Object.keys(vm.config).filter(isDriveKey).sort()];
  for (const key of keys) {
    const value = vm.config[key];
    if (value === undefined || !isDriveKey(key) || key === "efidisk0" || key === "tpmstate0") continue;
    const drive = parseDrive(String(value));
    if (!drive.cdrom) return drive.size;
  }
  return 0;
}

/** One VM as `PVE::QemuServer::vmstatus` reports it (a paused VM's status is still "running"). */
export function vmStatus(vm: Vm, full = false): Record<string, unknown> {
  const running = vm.status !== "stopped";
  const cpus = vm.config.vcpus ? Number(vm.config.vcpus) : Number(vm.config.cores ?? 1) * Number(vm.config.sockets ?? 1);
  const maxmem = memoryMiB(vm) * 1024 * 1024;
  const uptime = running && vm.startedAt ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0;
  return {
    vmid: vm.vmid,
    name: String(vm.config.name ?? `VM ${vm.vmid}`),
    status: running ? "running" : "stopped",
    cpus,
    maxmem,
    mem: running ? Math.floor(maxmem * 0.42) : 0,
    maxdisk: bootDiskSize(vm),
    disk: 0,
    cpu: running && vm.status === "running" ? 0.031 : 0,
    uptime,
    netin: running ? uptime * 2048 : 0,
    netout: running ? uptime * 1024 : 0,
    diskread: running ? uptime * 4096 : 0,
    diskwrite: running ? uptime * 2048 : 0,
    ...(running && vm.pid ? { pid: vm.pid } : {}),
    ...(isTemplate(vm) ? { template: 1 } : {}),
    ...(vm.config.lock !== undefined ? { lock: String(vm.config.lock) } : {}),
    ...(vm.config.tags !== undefined ? { tags: String(vm.config.tags) } : {}),
    ...(full ? { qmpstatus: vm.status, ...(running ? { "running-machine": "pc-q35-9.2+pve1", "running-qemu": "9.2.0" } : {}) } : {}),
  };
}

export const vmStatusHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/qemu": (ctx) =>
    [...ctx.state.vms.values()].filter((vm) => vm.node === str(ctx, "node") && allowed(ctx, `/vms/${vm.vmid}`, "VM.Audit")).map((vm) => vmStatus(vm, ctx.params.full === true)),
  "GET /nodes/{node}/qemu/{vmid}": (ctx) => {
    ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    return ["config", "pending", "status", "unlink", "vncproxy", "termproxy", "migrate", "resize", "move", "rrd", "rrddata", "monitor", "agent", "snapshot", "spiceproxy", "sendkey", "firewall", "mtunnel", "remote_migrate"].map((subdir) => ({ subdir }));
  },
  "GET /nodes/{node}/qemu/{vmid}/status/current": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    return { ...vmStatus(vm, true), ha: { managed: 0 }, ...(String(vm.config.agent ?? "").match(/^(1|enabled=1)/) ? { agent: 1 } : {}) };
  },
};

