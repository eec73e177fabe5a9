import { requirePrivilege } from "../auth.js";
import { PveError, type Vm } from "../state.js";
import type { Handler, HandlerContext } from "./context.js";

export function vmSummary(vm: Vm) {
  return {
    vmid: vm.vmid,
    name: String(vm.config.name ?? `VM ${vm.vmid}`),
    status: vm.status,
    template: vm.template ? 1 : 0,
    cpus: Number(vm.config.cores ?? 1) * Number(vm.config.sockets ?? 1),
    maxmem: Number(vm.config.memory ?? 512) * 1024 * 1024,
    uptime: vm.startedAt && vm.status !== "stopped" ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0,
    ...(vm.lock ? { lock: vm.lock } : {}),
  };
}

const visibleVms = (ctx: HandlerContext) => (ctx.grant.privileges === "*" || ctx.grant.privileges.includes("VM.Audit") ? [...ctx.state.vms.values()] : []);

export const clusterHandlers: Record<string, Handler> = {
  "GET /version": () => ({ version: "9.0.3", release: "9.0", repoid: "a2f5b1c0" }),
  "GET /nodes": (ctx) => {
    requirePrivilege(ctx.grant, "/nodes", "Sys.Audit");
    return ctx.state.nodes.map((node) => ({ node, id: `node/${node}`, type: "node", status: "online", maxcpu: 16, cpu: 0.05, maxmem: 68_719_476_736, mem: 8_589_934_592, uptime: 86_400 }));
  },
  "GET /cluster/resources": (ctx) => {
    const type = ctx.params.type as string | undefined;
    const vms = visibleVms(ctx).map((vm) => ({ id: `qemu/${vm.vmid}`, type: "qemu", node: vm.node, ...vmSummary(vm) }));
    const nodes = ctx.state.nodes.map((node) => ({ id: `node/${node}`, type: "node", node, status: "online" }));
    const storages = ctx.state.nodes.flatMap((node) => ctx.state.storages.map((storage) => ({ id: `storage/${node}/${storage}`, type: "storage", node, storage, status: "available" })));
    if (type === "vm") return vms;
    if (type === "node") return nodes;
    if (type === "storage") return storages;
    if (type === "sdn") return [];
    return [...nodes, ...vms, ...storages];
  },
  "GET /cluster/nextid": (ctx) => {
    const wanted = ctx.params.vmid as number | undefined;
    if (wanted !== undefined) {
      if (ctx.state.vms.has(wanted)) throw new PveError(400, "Parameter verification failed.", { vmid: `VM ${wanted} already exists` });
      return String(wanted);
    }
    return String(ctx.state.nextId());
  },
  "GET /nodes/{node}/qemu": (ctx) => {
    ctx.state.node(String(ctx.params.node));
    return visibleVms(ctx).filter((vm) => vm.node === ctx.params.node).map(vmSummary);
  },
};
