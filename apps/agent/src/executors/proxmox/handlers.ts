import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Targets } from "../../targets/targets.js";
import type { CommandContext } from "../command-context.js";
import { NewidReservations } from "./newid-reservations.js";
import { ExecutorError } from "../executor-error.js";
import type { HandlerTable } from "../handler.js";
import { ProxmoxClient } from "./client.js";
import { KeyedMutex } from "./semaphore.js";

type ProxmoxHandlers = { [N in keyof HandlerTable as N extends `proxmox.${string}` ? N : never]: HandlerTable[N] };
type Json = Record<string, unknown>;
type VmRef = { target: string; node: string; vmid: number };

const enc = encodeURIComponent;
const vmPath = (p: { node: string; vmid: number }) => `nodes/${enc(p.node)}/qemu/${p.vmid}`;

/** Every proxmox.* command. Commands on one VM run one at a time; each target bounds its calls in flight. */
export function proxmoxHandlers(targets: Targets): ProxmoxHandlers {
  const clients = new Map<string, { key: string; client: ProxmoxClient }>();
  const vmLocks = new KeyedMutex();
  const newids = new NewidReservations();

  const clientFor = async (target: string): Promise<ProxmoxClient> => {
    const { config, secret } = await targets.resolve(target, "proxmox");
    const caPem = config.ca_file ? readFileSync(config.ca_file, "utf8") : undefined;
    const key = createHash("sha256").update(JSON.stringify([config, secret, caPem])).digest("hex");
    const cached = clients.get(target);
    if (cached?.key === key) return cached.client;
    cached?.client.close();
    const client = new ProxmoxClient({ url: config.url, tokenId: config.token_id, secret, ...(config.fingerprint ? { fingerprint: config.fingerprint } : {}), ...(caPem ? { caPem } : {}) });
    clients.set(target, { key, client });
    return client;
  };

  /** Starts a task (retrying locks) and, unless told not to, waits for it. */
  const runTask = async (
    p: VmRef & { wait?: boolean },
    ctx: CommandContext,
    start: (pve: ProxmoxClient) => Promise<string>,
    extra: Json = {},
  ): Promise<{ upid: string } & Json> => {
    const pve = await clientFor(p.target);
    return vmLocks.run(`${p.target}/${p.vmid}`, async () => {
      const onRetry = (error: { code: string; message: string }, attempt: number) => ctx.progress(`${error.code}: ${error.message}; retrying (attempt ${attempt + 2})`);
      const outcome = await pve.retrying(
        async () => {
          const upid = await start(pve);
          if (p.wait === false) return { upid };
          return pve.waitForTask(p.node, upid, ctx.signal, (message) => ctx.progress(message));
        },
        ctx.signal,
        onRetry,
      );
      return { ...outcome, ...extra };
    }, ctx.signal);
  };

  const power = (action: string) => (p: VmRef & { wait: boolean }, ctx: CommandContext) =>
    runTask(p, ctx, (pve) => pve.call<string>("POST", `${vmPath(p)}/status/${action}`, {}, ctx.signal), { vmid: p.vmid, node: p.node });

  const read = async <T>(target: string, ctx: CommandContext, path: string, params: Record<string, string | number | undefined> = {}) => {
    const pve = await clientFor(target);
    return pve.retrying(() => pve.call<T>("GET", path, params, ctx.signal), ctx.signal);
  };

  return {
    "proxmox.version": ({ target }, ctx) => read<Json>(target, ctx, "version"),
    "proxmox.nodes.list": async ({ target }, ctx) => ({ nodes: await read<Json[]>(target, ctx, "nodes") }),
    "proxmox.cluster.resources": async ({ target, type }, ctx) => ({ resources: await read<Json[]>(target, ctx, "cluster/resources", { type }) }),
    "proxmox.cluster.nextid": async ({ target }, ctx) => ({ vmid: Number(await read<string>(target, ctx, "cluster/nextid")) }),
    "proxmox.vm.list": async ({ target, node }, ctx) => {
      const nodes = node ? [node] : (await read<Array<{ node: string }>>(target, ctx, "nodes")).map((entry) => entry.node);
      const lists = await Promise.all(nodes.map(async (name) => (await read<Json[]>(target, ctx, `nodes/${enc(name)}/qemu`)).map((vm) => ({ ...vm, node: name }))));
      return { vms: lists.flat().sort((a: Json, b: Json) => Number(a.vmid) - Number(b.vmid)) };
    },
    "proxmox.vm.status": (p, ctx) => read<Json>(p.target, ctx, `${vmPath(p)}/status/current`),
    "proxmox.vm.start": power("start"),
    "proxmox.vm.stop": power("stop"),
    "proxmox.vm.shutdown": power("shutdown"),
    "proxmox.vm.reboot": power("reboot"),
    "proxmox.vm.reset": power("reset"),
    "proxmox.vm.suspend": power("suspend"),
    "proxmox.vm.resume": power("resume"),
    "proxmox.vm.clone": async (p, ctx) => {
      const pve = await clientFor(p.target);
      const node = p.target_node ?? p.node;
      const clone = async (newid: number) => {
        const params = { newid, name: p.name, full: p.full, target: p.target_node, storage: p.storage, format: p.format, pool: p.pool, description: p.description };
        const upid = await pve.call<string>("POST", `${vmPath(p)}/clone`, params, ctx.signal).catch((err: unknown) => {
          throw outcomeUnknownOf(err, newid);
        });
        if (p.wait === false) return { upid, newid, node };
        const outcome = await pve.waitForTask(p.node, upid, ctx.signal, (message) => ctx.progress(message)).catch((err: unknown) => {
          // The clone goes on in PVE: the VM id it is creating is what the operator needs.
          throw err instanceof ExecutorError && err.code === "PVE_TASK_RUNNING" ? new ExecutorError(err.code, `${err.message}; it is creating VM ${newid}`, { ...(err.details as Json), newid }) : err;
        });
        return { ...outcome, newid, node };
      };
      const onRetry = (error: ExecutorError, attempt: number) => ctx.progress(`${error.code}: ${error.message}; retrying (attempt ${attempt + 2})`);
      return pve.retrying(
        async () => {
          if (p.newid !== undefined) return clone(p.newid);
          for (let collisions = 0; ; collisions++) {
            const newid = await newids.reserve(p.target, pve, ctx.signal);
            let held = false;
            try {
              const cloned = await clone(newid.id);
              if (p.wait === false) {
                // PVE offers the id again until the clone's worker has written its config: keep it until the task ends.
                held = true;
                void pve.waitForTask(p.node, cloned.upid, AbortSignal.timeout(NEWID_HOLD_MS)).catch(() => {}).finally(newid.release);
              }
              return cloned;
            } catch (err) {
              // Another client took the id between nextid and our clone: the id is taken, not busy, so ask again at once.
              if (!isNewidCollision(err) || collisions >= MAX_NEWID_COLLISIONS) throw err;
              ctx.progress(`VM id ${newid.id} was taken by another client meanwhile; asking for the next free id`);
            } finally {
              if (!held) newid.release();
            }
          }
        },
        ctx.signal,
        onRetry,
      );
    },
    "proxmox.vm.template": (p, ctx) => runTask(p, ctx, (pve) => pve.call<string>("POST", `${vmPath(p)}/template`, {}, ctx.signal), { vmid: p.vmid }),
    "proxmox.vm.delete": (p, ctx) =>
      runTask(p, ctx, (pve) => pve.call<string>("DELETE", vmPath(p), { purge: p.purge, "destroy-unreferenced-disks": p.destroy_unreferenced_disks }, ctx.signal), { vmid: p.vmid, deleted: true }),
    "proxmox.vm.config.get": async (p, ctx) => {
      const { digest, ...config } = await read<Json & { digest: string }>(p.target, ctx, `${vmPath(p)}/config`);
      return { config, digest };
    },
    "proxmox.vm.config.update": async (p, ctx) => {
      const pve = await clientFor(p.target);
      return vmLocks.run(`${p.target}/${p.vmid}`, async () => {
        const params = { ...p.set, ...(p.delete?.length ? { delete: p.delete.join(",") } : {}), ...(p.digest ? { digest: p.digest } : {}) };
        // With a digest the caller asked for "only if unchanged": a lock retry is fine, a digest mismatch is not.
        await pve.retrying(() => pve.call("PUT", `${vmPath(p)}/config`, params, ctx.signal), ctx.signal);
        const { digest } = await pve.call<{ digest: string }>("GET", `${vmPath(p)}/config`, {}, ctx.signal);
        return { digest };
      }, ctx.signal);
    },
    "proxmox.vm.resize": (p, ctx) => runTask(p, ctx, (pve) => pve.call<string>("PUT", `${vmPath(p)}/resize`, { disk: p.disk, size: p.size }, ctx.signal), { vmid: p.vmid, disk: p.disk }),
    "proxmox.vm.snapshot.list": async (p, ctx) => ({ snapshots: await read<Json[]>(p.target, ctx, `${vmPath(p)}/snapshot`) }),
    "proxmox.vm.snapshot.create": (p, ctx) =>
      runTask(p, ctx, (pve) => pve.call<string>("POST", `${vmPath(p)}/snapshot`, { snapname: p.snapname, description: p.description, vmstate: p.vmstate }, ctx.signal), { snapname: p.snapname }),
    "proxmox.vm.snapshot.rollback": (p, ctx) => runTask(p, ctx, (pve) => pve.call<string>("POST", `${vmPath(p)}/snapshot/${enc(p.snapname)}/rollback`, {}, ctx.signal), { snapname: p.snapname }),
    "proxmox.vm.snapshot.delete": (p, ctx) => runTask(p, ctx, (pve) => pve.call<string>("DELETE", `${vmPath(p)}/snapshot/${enc(p.snapname)}`, {}, ctx.signal), { snapname: p.snapname }),
    "proxmox.task.status": ({ target, node, upid }, ctx) => read<Json>(target, ctx, `nodes/${enc(node)}/tasks/${enc(upid)}/status`),
    "proxmox.task.log": async ({ target, node, upid, start, limit }, ctx) => ({ lines: await read<Json[]>(target, ctx, `nodes/${enc(node)}/tasks/${enc(upid)}/log`, { start, limit }) }),
  };
}

const MAX_NEWID_COLLISIONS = 100;
/** How long a clone that did not wait keeps its VM id reserved at most (its task normally ends sooner). */
const NEWID_HOLD_MS = 15 * 60_000;

/** A clone whose answer was lost names the VM it may have created. */
function outcomeUnknownOf(err: unknown, newid: number): unknown {
  if (!(err instanceof ExecutorError) || err.code !== "PVE_OUTCOME_UNKNOWN") return err;
  return new ExecutorError(err.code, `${err.message} (it may have created VM ${newid})`, { ...(err.details as object), newid });
}

/** PVE refused the new VM id because another VM got it first: at the API call, or in the clone worker. */
function isNewidCollision(err: unknown): err is ExecutorError {
  if (!(err instanceof ExecutorError)) return false;
  const exitstatus = (err.details as { exitstatus?: string } | undefined)?.exitstatus;
  // A clone task that failed says which: only its VM id being taken is a collision (a checksum
  // mismatch or a full disk is not, and would otherwise be retried with id after id).
  if (exitstatus !== undefined) return /unable to create VM \d+: config file already exists/.test(exitstatus);
  return err.code === "PVE_CONFLICT";
}
