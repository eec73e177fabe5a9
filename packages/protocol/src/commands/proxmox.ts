import { z } from "zod";
import { defineCommand } from "./define.js";
import { targetSchema } from "./syncthing.js";

const node = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/, "a Proxmox node name");
/** PVE's pve-configid. It is a path segment: "." or ".." would walk up to the VM itself. */
const snapname = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{1,39}$/, "a snapshot name (a letter, then letters, digits, _ or -; at most 40)");
/** UPID:node:pid:pstart:starttime:type:id:user: as PVE writes it (a path segment too). */
const upid = z.string().max(256).regex(/^UPID:[a-zA-Z0-9][a-zA-Z0-9.-]*:[0-9A-Fa-f]{8,}:[0-9A-Fa-f]{8,}:[0-9A-Fa-f]{8,}:[^:\s/]+:[^:\s/]*:[^:\s/]+:$/, "a Proxmox task id (UPID:…)");
const vmid = z.number().int().min(100).max(999_999_999);
const json = z.record(z.string(), z.unknown());
const vm = { target: targetSchema, node, vmid };
/** Task-returning operations wait for the task by default; `wait: false` returns the UPID at once. */
const wait = z.boolean().default(true);
const taskResult = z.object({ upid: z.string(), exitstatus: z.string().optional(), duration_ms: z.number().optional() }).catchall(z.unknown());

const MINUTE = 60_000;
const read = <P extends z.ZodType, R extends z.ZodType>(description: string, params: P, result: R) =>
  defineCommand({ description, params, result, defaultTimeoutMs: 2 * MINUTE, mutating: false });
const task = <P extends z.ZodType>(description: string, params: P, timeoutMs = 5 * MINUTE) =>
  defineCommand({ description, params, result: taskResult, defaultTimeoutMs: timeoutMs, mutating: true });
const power = (verb: string) => task(`${verb} a VM and wait for the task.`, z.object({ ...vm, wait }).strict());

export const proxmoxCommands = {
  "proxmox.version": read("Proxmox VE version.", z.object({ target: targetSchema }).strict(), json),
  "proxmox.nodes.list": read("Cluster nodes.", z.object({ target: targetSchema }).strict(), z.object({ nodes: z.array(json) })),
  "proxmox.cluster.resources": read(
    "Cluster resources, optionally of one type.",
    z.object({ target: targetSchema, type: z.enum(["vm", "storage", "node", "sdn"]).optional() }).strict(),
    z.object({ resources: z.array(json) }),
  ),
  "proxmox.cluster.nextid": read("The next free VM id.", z.object({ target: targetSchema }).strict(), z.object({ vmid: z.number() })),
  "proxmox.vm.list": read("VMs of one node, or of every node when node is omitted.", z.object({ target: targetSchema, node: node.optional() }).strict(), z.object({ vms: z.array(json) })),
  "proxmox.vm.status": read("Current status of a VM.", z.object(vm).strict(), json),
  "proxmox.vm.start": power("Starts"),
  "proxmox.vm.stop": power("Stops (hard)"),
  "proxmox.vm.shutdown": power("Shuts down (ACPI)"),
  "proxmox.vm.reboot": power("Reboots"),
  "proxmox.vm.reset": power("Resets"),
  "proxmox.vm.suspend": power("Suspends"),
  "proxmox.vm.resume": power("Resumes"),
  "proxmox.vm.clone": task(
    "Clones a VM or template; newid from nextid when omitted (retried on a collision).",
    z
      .object({
        ...vm,
        newid: vmid.optional(),
        name: z.string().max(128).optional(),
        full: z.boolean().optional(),
        target_node: node.optional(),
        storage: z.string().max(64).optional(),
        format: z.enum(["raw", "qcow2", "vmdk"]).optional(),
        pool: z.string().max(64).optional(),
        description: z.string().max(8_192).optional(),
        wait,
      })
      .strict(),
    30 * MINUTE,
  ),
  "proxmox.vm.template": task("Converts a stopped VM into a template.", z.object({ ...vm, wait }).strict()),
  "proxmox.vm.delete": task(
    "Destroys a VM.",
    z.object({ ...vm, purge: z.boolean().optional(), destroy_unreferenced_disks: z.boolean().optional(), wait }).strict(),
    15 * MINUTE,
  ),
  "proxmox.vm.config.get": read("A VM's configuration and its digest.", z.object(vm).strict(), z.object({ config: json, digest: z.string() })),
  "proxmox.vm.config.update": defineCommand({
    description: "Sets and deletes configuration keys; with digest, only if nobody changed the config meanwhile.",
    params: z
      .object({
        ...vm,
        set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        delete: z.array(z.string().max(64)).max(64).optional(),
        digest: z.string().max(64).optional(),
      })
      .strict(),
    result: z.object({ digest: z.string() }),
    defaultTimeoutMs: 2 * MINUTE,
    mutating: true,
  }),
  "proxmox.vm.resize": task("Grows a disk (size like +10G or 80G).", z.object({ ...vm, disk: z.string().max(16), size: z.string().regex(/^\+?\d+(\.\d+)?[KMGT]?$/), wait }).strict(), 15 * MINUTE),
  "proxmox.vm.snapshot.list": read("Snapshots of a VM.", z.object(vm).strict(), z.object({ snapshots: z.array(json) })),
  "proxmox.vm.snapshot.create": task(
    "Takes a snapshot.",
    z.object({ ...vm, snapname, description: z.string().max(8_192).optional(), vmstate: z.boolean().optional(), wait }).strict(),
    15 * MINUTE,
  ),
  "proxmox.vm.snapshot.rollback": task("Rolls back to a snapshot.", z.object({ ...vm, snapname, wait }).strict(), 15 * MINUTE),
  "proxmox.vm.snapshot.delete": task("Deletes a snapshot.", z.object({ ...vm, snapname, wait }).strict(), 15 * MINUTE),
  "proxmox.task.status": read("Status of a task.", z.object({ target: targetSchema, node, upid }).strict(), json),
  "proxmox.task.log": read(
    "Log lines of a task.",
    z.object({ target: targetSchema, node, upid, start: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(5_000).optional() }).strict(),
    z.object({ lines: z.array(json) }),
  ),
};
