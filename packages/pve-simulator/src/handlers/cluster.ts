import { isTemplate } from "../state.js";
import { allowed, str, type Handler, type HandlerContext } from "./context.js";
import { vmStatus } from "./vm-status.js";
import { paramError } from "../errors.js";

const UPTIME = 86_400 * 3;

function nodeEntry(ctx: HandlerContext, node: string, withStats: boolean) {
  const info = ctx.state.nodes.find((entry) => entry.node === node)!;
  const base = { id: `node/${node}`, type: "node", node, status: "online", level: "" };
  if (!withStats) return base;
  return { ...base, cpu: 0.043, maxcpu: info.maxcpu, mem: Math.floor(info.maxmem * 0.31), maxmem: info.maxmem, disk: 12 * 1024 ** 3, maxdisk: 94 * 1024 ** 3, uptime: UPTIME };
}

function storageEntries(ctx: HandlerContext) {
  return ctx.state.nodes.flatMap(({ node }) =>
    ctx.state.storages
      .filter((storage) => allowed(ctx, `/storage/${storage.storage}`, "Datastore.Audit") || allowed(ctx, `/storage/${storage.storage}`, "Datastore.AllocateSpace"))
      .map((storage) => ({
        id: `storage/${node}/${storage.storage}`,
        type: "storage",
        node,
        storage: storage.storage,
        status: "available",
        plugintype: storage.type,
        content: storage.content.join(","),
        shared: storage.shared ? 1 : 0,
        disk: Math.floor(storage.total * 0.2),
        maxdisk: storage.total,
      })),
  );
}

export const clusterHandlers: Record<string, Handler> = {
  "GET /version": (ctx) => ({ ...ctx.state.version }),
  "GET /nodes": (ctx) =>
    ctx.state.nodes.map(({ node }) => ({
      ...nodeEntry(ctx, node, allowed(ctx, `/nodes/${node}`, "Sys.Audit")),
      ...(ctx.state.fingerprints[node] ? { ssl_fingerprint: ctx.state.fingerprints[node] } : {}),
    })),
  "GET /cluster/resources": (ctx) => {
    const type = ctx.params.type as string | undefined;
    const vms = () =>
      [...ctx.state.vms.values()]
        .filter((vm) => allowed(ctx, `/vms/${vm.vmid}`, "VM.Audit"))
        .map((vm) => {
          const { cpus, ...status } = vmStatus(vm);
          return { id: `qemu/${vm.vmid}`, type: "qemu", node: vm.node, ...status, maxcpu: cpus, template: isTemplate(vm) ? 1 : 0 };
        });
    const nodes = () => ctx.state.nodes.filter(({ node }) => allowed(ctx, `/nodes/${node}`, "Sys.Audit")).map(({ node }) => nodeEntry(ctx, node, true));
    if (type === "vm") return vms();
    if (type === "node") return nodes();
    if (type === "storage") return storageEntries(ctx);
    if (type === "sdn") return [];
    return [...nodes(), ...vms(), ...storageEntries(ctx)];
  },
  "GET /cluster/nextid": (ctx) => {
    const wanted = ctx.params.vmid as number | undefined;
    if (wanted !== undefined) {
      if (ctx.state.vms.has(wanted)) throw paramError({ vmid: `VM ${wanted} already exists` });
      return String(wanted);
    }
    return String(ctx.state.nextId());
  },
  "GET /nodes/{node}/storage": (ctx) => {
    const node = str(ctx, "node");
    return storageEntries(ctx)
      .filter((entry) => entry.node === node)
      .filter((entry) => ctx.params.storage === undefined || entry.storage === ctx.params.storage)
      .filter((entry) => ctx.params.content === undefined || entry.content.split(",").includes(String(ctx.params.content)))
      .map((entry) => ({ storage: entry.storage, type: entry.plugintype, content: entry.content, shared: entry.shared, active: 1, enabled: 1, total: entry.maxdisk, used: entry.disk, avail: entry.maxdisk - entry.disk, used_fraction: entry.disk / entry.maxdisk }));
  },
};
