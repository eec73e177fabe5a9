import { fail, paramError } from "../errors.js";
import { splitList } from "../formats.js";
import { methodSchema } from "../schema.js";
import { formatSize, isDriveKey, parseDrive, printDrive, PveState, randomMac, type Config, type Vm } from "../state.js";
import { sleep } from "../tasks.js";
import type { Value } from "../validate.js";
import { check, lockConfig, num, rootOnly, str, worker, type Handler, type HandlerContext } from "./context.js";

const CONTROL = new Set(["node", "vmid", "skiplock", "delete", "revert", "force", "digest", "background_delay", "import-working-storage"]);
const OPTIONS = methodSchema("/nodes/{node}/qemu/{vmid}/config", "PUT")!.params;
const optionExists = (key: string) => key in OPTIONS && !CONTROL.has(key);

const CPU = new Set(["cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus"]);
const MEMORY = new Set(["memory", "balloon", "shares", "allow-ksm"]);
const HWTYPE = new Set(["acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0"]);
const GENERAL = new Set(["agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime", "migrate_speed", "name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template"]);
const DISK = new Set(["boot", "bootdisk", "vmstatestorage"]);
const CLOUDINIT = new Set(["cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys"]);
/** Applied at once even to a running VM (`$fast_plug_option` and cloud-init options). */
const FAST_PLUG = new Set(["description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot", "protection", "shares", "startup", "tags", "vmstatestorage", ...CLOUDINIT]);

/** `$check_vm_modify_config_perm` for a non-root user (every API token is one). */
function checkModifyPermissions(ctx: HandlerContext, keys: string[]): void {
  const path = `/vms/${num(ctx, "vmid")}`;
  for (const key of keys) {
    if (isDriveKey(key)) check(ctx, path, [/media=cdrom/.test(String(ctx.params[key] ?? "")) ? "VM.Config.CDROM" : "VM.Config.Disk"]);
    else if (key === "cdrom" || key === "tags" || /^(unused|serial|usb|hostpci|virtiofs)\d+$/.test(key)) continue;
    else if (CPU.has(key) || /^numa\d+$/.test(key)) check(ctx, path, ["VM.Config.CPU"]);
    else if (MEMORY.has(key)) check(ctx, path, ["VM.Config.Memory"]);
    else if (HWTYPE.has(key)) check(ctx, path, ["VM.Config.HWType"]);
    else if (GENERAL.has(key)) check(ctx, path, ["VM.Config.Options"]);
    else if (key === "freeze") check(ctx, path, ["VM.PowerMgmt"]);
    else if (DISK.has(key)) check(ctx, path, ["VM.Config.Disk"]);
    else if (/^net\d+$/.test(key)) check(ctx, path, ["VM.Config.Network"]);
    else if (CLOUDINIT.has(key) || /^ipconfig\d+$/.test(key)) check(ctx, path, ["VM.Config.Cloudinit", "VM.Config.Network"], true);
    else throw fail(`only root can set '${key}' config`);
  }
}

/** What the parser stores: booleans become 1/0, numbers stay numbers, the rest strings. */
const stored = (value: Value): string | number => (typeof value === "boolean" ? (value ? 1 : 0) : Array.isArray(value) ? value.join(",") : value);

/** Hotpluggable with PVE's default `hotplug: network,disk,usb`. */
const hotpluggable = (key: string) => FAST_PLUG.has(key) || /^(net|usb|scsi|virtio|sata|unused)\d+$/.test(key) || ["balloon", "cpulimit", "cpuunits"].includes(key);

/** `vmconfig_apply_pending`: a (re)started VM runs the pending configuration. */
export function applyPending(vm: Vm): void {
  for (const key of vm.pendingDelete) delete vm.config[key];
  Object.assign(vm.config, vm.pending);
  vm.pending = {};
  vm.pendingDelete = [];
}

/** The config GET returns: the main section with pending changes applied unless `current`. */
function effectiveConfig(vm: Vm, current: boolean): Config {
  if (current) return { ...vm.config };
  const config = { ...vm.config, ...vm.pending };
  for (const key of vm.pendingDelete) delete config[key];
  return config;
}

function nextUnused(vm: Vm): string {
  for (let i = 0; ; i++) if (vm.config[`unused${i}`] === undefined && vm.pending[`unused${i}`] === undefined) return `unused${i}`;
}

/** `STORAGE:SIZE` in a drive option allocates a new volume, as PVE does on update. */
function allocateDisks(ctx: HandlerContext, vm: Vm, changes: Config): void {
  for (const [key, value] of Object.entries(changes)) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(String(value));
    const match = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i.exec(drive.volume);
    if (!match) continue;
    const storage = ctx.state.storage(match[1]!);
    if (!storage) throw fail(`storage '${match[1]}' does not exist`);
    check(ctx, `/storage/${storage.storage}`, ["Datastore.AllocateSpace"]);
    drive.volume = ctx.state.freeVolumeName(storage.storage, vm.vmid);
    drive.options.set("size", formatSize(Number(match[2]) * 1024 ** 3));
    changes[key] = printDrive(drive);
  }
}

/** `$update_vm_api`: verification, early checks, then the locked update (sync) or a qmconfig worker. */
async function updateVm(ctx: HandlerContext, sync: boolean): Promise<string | null> {
  rootOnly(ctx, "skiplock");
  const vmid = num(ctx, "vmid");
  const changes: Config = {};
  for (const [key, value] of Object.entries(ctx.params)) if (!CONTROL.has(key)) changes[key] = stored(value);
  const deleteText = ctx.params.delete === undefined ? "" : str(ctx, "delete");
  const revertText = ctx.params.revert === undefined ? "" : str(ctx, "revert");
  if (!deleteText && !revertText && Object.keys(changes).length === 0) throw fail("no options specified");
  const revert = splitList(revertText);
  for (const key of revert) {
    if (!optionExists(key)) throw paramError({ revert: `unknown option '${key}'` });
    if (key in changes) throw paramError({ delete: `you can't use '-${key}' and -revert ${key}' at the same time` });
  }
  const deletions: string[] = [];
  for (const raw of splitList(deleteText)) {
    const key = raw === "cdrom" ? "ide2" : raw;
    if (key in changes) throw paramError({ delete: `you can't use '-${key}' and -delete ${key}' at the same time` });
    if (revert.includes(key)) throw paramError({ revert: `you can't use '-delete ${key}' and -revert ${key}' at the same time` });
    if (!optionExists(key)) throw paramError({ delete: `unknown option '${key}'` });
    deletions.push(key);
  }
  for (const [key, value] of Object.entries(changes)) {
    // A NIC without a MAC address gets one, as parse_net/print_net do.
    if (/^net\d+$/.test(key) && !/^[a-z0-9-]+=[0-9A-F:]{17}/i.test(String(value))) changes[key] = String(value).replace(/^([a-z0-9-]+)(,|$)/i, `$1=${randomMac()}$2`);
  }
  checkModifyPermissions(ctx, deletions);
  checkModifyPermissions(ctx, Object.keys(changes));

  const loadAndCheck = () => {
    const vm = ctx.state.vm(str(ctx, "node"), vmid);
    if (ctx.params.digest !== undefined && ctx.params.digest !== PveState.digest(vm)) throw fail("checksum mismatch (file change by other user?)");
    if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
    return vm;
  };
  const update = () => {
    const vm = loadAndCheck();
    const live = vm.status !== "stopped";
    allocateDisks(ctx, vm, changes);
    for (const key of revert) {
      delete vm.pending[key];
      vm.pendingDelete = vm.pendingDelete.filter((entry) => entry !== key);
    }
    for (const key of deletions) {
      if (live && !hotpluggable(key)) {
        if (!vm.pendingDelete.includes(key)) vm.pendingDelete.push(key);
        continue;
      }
      const old = vm.config[key];
      delete vm.config[key];
      delete vm.pending[key];
      // A removed disk is kept as unusedN; removing an unusedN frees the volume.
      if (old !== undefined && isDriveKey(key) && !parseDrive(String(old)).cdrom) vm.config[nextUnused(vm)] = parseDrive(String(old)).volume;
    }
    for (const [key, value] of Object.entries(changes)) {
      const old = vm.config[key];
      if (isDriveKey(key) && old !== undefined && parseDrive(String(old)).volume !== parseDrive(String(value)).volume && !parseDrive(String(old)).cdrom) {
        vm.config[nextUnused(vm)] = parseDrive(String(old)).volume;
      }
      if (live && !hotpluggable(key)) vm.pending[key] = value;
      else vm.config[key] = value;
    }
  };

  loadAndCheck(); // early checks before forking or locking
  if (sync) {
    await lockConfig(ctx, vmid, update);
    return null;
  }
  const upid = worker(ctx, "qmconfig", vmid, async (task) => {
    await task.sleep(ctx.timings.taskMs);
    await lockConfig(ctx, vmid, update);
  });
  const delay = ctx.params.background_delay;
  if (delay === undefined) return upid;
  const deadline = Date.now() + Number(delay) * 1000;
  while (Date.now() < deadline && ctx.tasks.all.get(upid)?.status === "running") await sleep(50);
  const task = ctx.tasks.all.get(upid)!;
  if (task.status === "running") return upid;
  if (task.exitstatus !== "OK" && !/^WARNINGS: \d+$/.test(task.exitstatus ?? "")) throw fail(`failed to update VM ${vmid}: ${task.exitstatus}`);
  return null;
}

export const vmConfigHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/qemu/{vmid}/config": (ctx) => {
    if (ctx.params.snapshot !== undefined && ctx.params.current === true) {
      throw paramError({ snapshot: "cannot use 'snapshot' parameter with 'current'", current: "cannot use 'snapshot' parameter with 'current'" });
    }
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    let config: Config;
    if (ctx.params.snapshot !== undefined) {
      const snapshot = vm.snapshots.get(str(ctx, "snapshot"));
      if (!snapshot) throw fail(`snapshot '${str(ctx, "snapshot")}' does not exist`);
      config = { ...snapshot.config, snaptime: snapshot.snaptime, ...(snapshot.parent ? { parent: snapshot.parent } : {}), ...(snapshot.description ? { description: snapshot.description } : {}) };
    } else {
      config = effectiveConfig(vm, ctx.params.current === true);
    }
    if (config.cipassword !== undefined) config.cipassword = "**********";
    return { ...config, digest: PveState.digest(vm) };
  },
  "GET /nodes/{node}/qemu/{vmid}/pending": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    const keys = new Set([...Object.keys(vm.config), ...Object.keys(vm.pending), ...vm.pendingDelete]);
    return [...keys].sort().map((key) => ({
      key,
      ...(vm.config[key] !== undefined ? { value: vm.config[key] } : {}),
      ...(vm.pending[key] !== undefined ? { pending: vm.pending[key] } : {}),
      ...(vm.pendingDelete.includes(key) ? { delete: 1 } : {}),
    }));
  },
  "PUT /nodes/{node}/qemu/{vmid}/config": (ctx) => updateVm(ctx, true),
  "POST /nodes/{node}/qemu/{vmid}/config": (ctx) => updateVm(ctx, false),
  "PUT /nodes/{node}/qemu/{vmid}/resize": (ctx) => {
    rootOnly(ctx, "skiplock");
    const vmid = num(ctx, "vmid");
    const disk = str(ctx, "disk");
    return worker(ctx, "resize", vmid, async (task) => {
      await lockConfig(ctx, vmid, async () => {
        const vm = ctx.state.vm(str(ctx, "node"), vmid);
        if (ctx.params.digest !== undefined && ctx.params.digest !== PveState.digest(vm)) throw fail("checksum mismatch (file change by other user?)");
        if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
        if (vm.config[disk] === undefined) throw fail(`disk '${disk}' does not exist`);
        const drive = parseDrive(String(vm.config[disk]));
        if (drive.cdrom) throw fail("you can't resize a cdrom");
        if (!drive.storage) throw fail(`disk '${disk}' has no associated volume`);
        check(ctx, `/storage/${drive.storage}`, ["Datastore.AllocateSpace"]);
        const [, grow, amount, unit] = /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(str(ctx, "size"))!;
        let size = Math.floor(Number(amount) * { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[unit ?? ""]!);
        if (grow) size += drive.size;
        if (size < drive.size) throw fail("shrinking disks is not supported");
        if (size === drive.size) return;
        await task.sleep(ctx.timings.taskMs);
        const storage = ctx.state.storage(drive.storage);
        const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
        const lv = drive.volume.split(":")[1]?.split("/").at(-1);
        if (storage?.type === "lvmthin") {
          task.log(`  Size of logical volume pve/${lv} changed from ${gib(drive.size)} (${drive.size / 4 / 1024 ** 2} extents) to ${gib(size)} (${size / 4 / 1024 ** 2} extents).`);
          task.log(`  Logical volume pve/${lv} successfully resized.`);
        } else {
          task.log("Resizing image: 100% complete...done.");
        }
        drive.options.set("size", formatSize(size));
        vm.config[disk] = printDrive(drive);
      });
    });
  },
};
