import { randomUUID } from "node:crypto";
import { fail, paramError } from "../errors.js";
import { FileLocks } from "../flock.js";
import { formatSize, isDriveKey, isTemplate, parseDrive, printDrive, PveState, randomMac, type Config, type Drive } from "../state.js";
import { sleep, type TaskRun } from "../tasks.js";
import { check, lockConfig, num, opt, str, worker, type Handler, type HandlerContext } from "./context.js";

interface ClonePlan {
  source: Config;
  drives: Array<{ key: string; drive: Drive; full: boolean }>;
}

const humanSize = (bytes: number) => {
  for (const [unit, size] of [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) if (bytes >= size) return `${(bytes / size).toFixed(1)} ${unit}`;
  return `${bytes.toFixed(1)} B`;
};

/** The clone API's `$load_and_check`, run before forking and again under the locks. */
function loadAndCheck(ctx: HandlerContext, running: boolean, target: string | undefined): ClonePlan {
  const node = str(ctx, "node");
  const vmid = num(ctx, "vmid");
  const newid = num(ctx, "newid");
  const storageId = opt(ctx, "storage");
  const pool = opt(ctx, "pool");
  if (pool !== undefined && !ctx.state.pools.includes(pool)) throw fail(`pool '${pool}' does not exist`);
  if (target !== undefined && !ctx.state.hasNode(target)) throw fail(`no such cluster node '${target}'`);
  if (storageId !== undefined) {
    const storage = ctx.state.storage(storageId);
    if (!storage) throw fail(`storage '${storageId}' does not exist`);
    if (!storage.content.includes("images")) throw paramError({ storage: `storage '${storageId}' does not support vm images` });
    if (target !== undefined && !storage.shared) throw fail(`can't clone to non-shared storage '${storageId}'`);
  }
  const vm = ctx.state.vm(node, vmid);
  PveState.assertUnlocked(vm);
  if ((vm.status !== "stopped") !== running) throw fail("unexpected state change");
  const snapname = opt(ctx, "snapname");
  if (snapname !== undefined && !vm.snapshots.has(snapname)) throw fail(`snapshot '${snapname}' does not exist`);
  const full = ctx.params.full === undefined ? !isTemplate(vm) : ctx.params.full === true;
  if (storageId !== undefined && !full) throw fail("parameter 'storage' not allowed for linked clones");
  if (ctx.params.format !== undefined && !full) throw fail("parameter 'format' not allowed for linked clones");
  const source = snapname !== undefined ? vm.snapshots.get(snapname)!.config : vm.config;
  let shared = true;
  const drives: ClonePlan["drives"] = [];
  for (const key of Object.keys(source).sort()) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(String(source[key]));
    if (drive.cdrom) continue;
    const storage = drive.storage ? ctx.state.storage(drive.storage) : undefined;
    if (!storage) throw fail(`storage '${drive.storage ?? drive.volume}' does not exist`);
    // $check_storage_access_clone: space on the storage the copy lands on.
    check(ctx, `/storage/${full && storageId ? storageId : storage.storage}`, ["Datastore.AllocateSpace"]);
    shared &&= storage.shared;
    const copy = full || key === "tpmstate0";
    // Only a template's base volumes can be cloned linked.
    if (!copy && !/(^|\/)base-\d+-disk-\d+$/.test(drive.volume.split(":")[1] ?? "")) throw fail(`Linked clone feature is not supported for '${drive.volume}' (${key})`);
    drives.push({ key, drive, full: copy });
  }
  if (target !== undefined && !shared) throw fail(`can't clone VM to node '${target}' (VM uses local storage)`);
  if (ctx.state.vms.has(newid)) throw fail(`unable to create VM ${newid}: config file already exists`);
  return { source, drives };
}

/** The qmclone worker: source lock (shared unless running), target lock, checks, then the copy. */
async function cloneWorker(ctx: HandlerContext, task: TaskRun, running: boolean, target: string | undefined): Promise<void> {
  const vmid = num(ctx, "vmid");
  const newid = num(ctx, "newid");
  const timeoutMs = ctx.timings.cloneLockTimeoutMs;
  await lockConfig(ctx, vmid, () => lockConfig(ctx, newid, async () => {
    const plan = loadAndCheck(ctx, running, target);
    const config: Config = {};
    for (const [key, value] of Object.entries(plan.source)) {
      if (["snapshots", "parent", "snaptime", "vmstate", "snapstate", "runningcpu", "runningmachine", "template", "lock"].includes(key) || /^unused\d+$/.test(key)) continue;
      if (isDriveKey(key) && !parseDrive(String(value)).cdrom) continue; // cloned below
      config[key] = value;
    }
    for (const key of Object.keys(config)) if (/^net\d+$/.test(key)) config[key] = String(config[key]).replace(/^([a-z0-9-]+)=[0-9A-F:]{17}/i, `$1=${randomMac()}`);
    config.smbios1 = String(config.smbios1 ?? "").replace(/uuid=[0-9a-f-]+/i, "").replace(/^,|,$/g, "");
    config.smbios1 = [`uuid=${randomUUID()}`, config.smbios1].filter(Boolean).join(",");
    if (config.vmgenid !== undefined) config.vmgenid = randomUUID();
    config.name = opt(ctx, "name") ?? `Copy-of-VM-${plan.source.name ?? vmid}`;
    if (ctx.params.description) config.description = str(ctx, "description");
    // The temporary config ("lock: clone") is what makes the new id taken.
    const clone = ctx.state.add({ vmid: newid, node: str(ctx, "node"), config: { lock: "clone" } });
    const taken: string[] = [];
    const perDrive = ctx.timings.cloneMs / Math.max(1, plan.drives.length);
    for (const { key, drive, full } of plan.drives) {
      const [sid = "", volname = ""] = drive.volume.split(":");
      const storageId = full ? (opt(ctx, "storage") ?? sid) : sid;
      const storage = ctx.state.storage(storageId)!;
      const volume = ctx.state.freeVolumeName(storageId, newid, taken);
      taken.push(volume);
      const name = volume.split(":")[1]!;
      task.log(`create ${full ? "full" : "linked"} clone of drive ${key} (${drive.volume})`);
      if (storage.type === "lvmthin") task.log(`  Logical volume "${name}" created.`);
      if (full) {
        for (let step = 0; step <= 4; step++) {
          task.log(`transferred ${humanSize((drive.size * step) / 4)} of ${humanSize(drive.size)} (${(step * 25).toFixed(2)}%)`);
          if (step < 4) await sleep(perDrive / 4);
        }
      } else {
        await sleep(perDrive);
      }
      const copy: Drive = { ...drive, volume: full ? volume : `${sid}:${volname.split("/")[0]}/${name}`, options: new Map(drive.options) };
      copy.options.set("size", formatSize(drive.size));
      clone.config[key] = printDrive(copy);
    }
    Object.assign(clone.config, config);
    delete clone.config.lock;
    if (target !== undefined) clone.node = target;
  }, { timeoutMs }), { shared: !running, timeoutMs });
}

export const vmCloneHandlers: Record<string, Handler> = {
  "POST /nodes/{node}/qemu/{vmid}/clone": async (ctx) => {
    const node = str(ctx, "node");
    const vmid = num(ctx, "vmid");
    let target = opt(ctx, "target");
    if (target === node || target === "localhost") target = undefined;
    const running = ctx.state.running(node, vmid);
    if (ctx.timings.cloneFileLockMs > 0) {
      // Contention injection: an exclusive source lock held briefly before forking.
      await ctx.state.locks.with(node, FileLocks.qemuConf(vmid), { timeoutMs: ctx.timings.cloneLockTimeoutMs }, () => sleep(ctx.timings.cloneFileLockMs));
    }
    loadAndCheck(ctx, running, target); // early checks before forking/locking
    return worker(ctx, "qmclone", vmid, (task) => cloneWorker(ctx, task, running, target));
  },
};
