import { createHash, randomBytes, randomUUID } from "node:crypto";
import { fail } from "./errors.js";
import { FileLocks } from "./flock.js";

export { PveError } from "./errors.js";

/** What QEMU is doing: PVE reports a paused VM as status "running" with qmpstatus "paused". */
export type RunState = "stopped" | "running" | "paused";
export type Config = Record<string, string | number>;

export interface Snapshot {
  name: string;
  config: Config;
  snaptime: number;
  description?: string;
  parent?: string;
  vmstate?: boolean;
}

export interface Vm {
  vmid: number;
  node: string;
  /** The config file's main section, values typed as PVE's parser types them. */
  config: Config;
  /** The [PENDING] section: changes to a running VM that apply at its next start. */
  pending: Config;
  pendingDelete: string[];
  snapshots: Map<string, Snapshot>;
  status: RunState;
  startedAt?: number;
  pid?: number;
}

export interface Storage {
  storage: string;
  type: "dir" | "lvmthin" | "rbd";
  content: string[];
  shared: boolean;
  /** Bytes. */
  total: number;
}

export interface ClusterNode {
  node: string;
  maxcpu: number;
  maxmem: number;
}

export const GiB = 1024 ** 3;
const DRIVE_KEY = /^(ide|sata|scsi|virtio)\d+$|^(efidisk0|tpmstate0)$/;
export const isDriveKey = (key: string) => DRIVE_KEY.test(key);
export const isTemplate = (vm: Vm) => vm.config.template === 1;

/** `PVE::JSONSchema::parse_size`: "64G" → bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[match[2] ?? ""]!;
}

/** `PVE::JSONSchema::format_size`: bytes → the largest exact unit. */
export function formatSize(bytes: number): string {
  let value = Math.floor(bytes);
  for (const unit of ["", "K", "M", "G"]) {
    if (value % 1024 !== 0) return `${value}${unit}`;
    value /= 1024;
  }
  return `${value}T`;
}

export interface Drive {
  volume: string;
  storage?: string;
  options: Map<string, string>;
  cdrom: boolean;
  size: number;
}

/** A drive property string: `<volume>,key=value,…` (`media=cdrom` or `none` are not disks). */
export function parseDrive(value: string): Drive {
  const [first = "", ...rest] = value.split(",");
  const options = new Map(rest.map((part) => part.split("=", 2) as [string, string]));
  const volume = first.startsWith("file=") ? first.slice(5) : first;
  const storage = /^([a-z][a-z0-9\-_.]*[a-z0-9]):/i.exec(volume)?.[1];
  return { volume, ...(storage ? { storage } : {}), options, cdrom: options.get("media") === "cdrom" || volume === "none" || volume === "cdrom", size: parseSize(options.get("size") ?? "0") ?? 0 };
}

export function printDrive(drive: Drive): string {
  return [drive.volume, ...[...drive.options].map(([key, value]) => `${key}=${value}`)].join(",");
}

export const randomMac = () => `BC:24:11:${[...randomBytes(3)].map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(":")}`;

/**
 * The simulated cluster: two nodes, their storages, a Windows template and two bots. Everything
 * is public and mutable so tests can arrange situations (a VM on another node, a full storage,
 * a lock left behind).
 */
export class PveState {
  /** The node pveproxy answers on (the certificate's CN); other nodes are reached by proxying. */
  readonly localNode = "pve1";
  readonly nodes: ClusterNode[] = [
    { node: "pve1", maxcpu: 32, maxmem: 128 * GiB },
    { node: "pve2", maxcpu: 32, maxmem: 128 * GiB },
  ];
  readonly storages: Storage[] = [
    { storage: "local", type: "dir", content: ["backup", "iso", "vztmpl"], shared: false, total: 100 * GiB },
    { storage: "local-lvm", type: "lvmthin", content: ["images", "rootdir"], shared: false, total: 1800 * GiB },
    { storage: "ceph-vm", type: "rbd", content: ["images"], shared: true, total: 8000 * GiB },
  ];
  /** Resource pools that exist (`pool` of a clone must name one). */
  readonly pools: string[] = ["bots"];
  /** Each node's certificate fingerprint, as GET /nodes reports it (pve1's is the served certificate). */
  readonly fingerprints: Record<string, string> = { pve2: [...randomBytes(32)].map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(":") };
  readonly vms = new Map<number, Vm>();
  readonly locks = new FileLocks();
  readonly version = { version: "9.0.10", release: "9.0", repoid: "deb1ca707ec72a89" };

  constructor() {
    this.add({
      vmid: 9000,
      node: "pve1",
      config: {
        name: "win11-template",
        template: 1,
        memory: "8192",
        cores: 4,
        sockets: 1,
        cpu: "x86-64-v2-AES",
        ostype: "win11",
        bios: "ovmf",
        machine: "pc-q35-9.2+pve1",
        scsihw: "virtio-scsi-single",
        scsi0: "ceph-vm:base-9000-disk-1,iothread=1,size=64G",
        efidisk0: "ceph-vm:base-9000-disk-0,efitype=4m,pre-enrolled-keys=1,size=528K",
        tpmstate0: "ceph-vm:base-9000-disk-2,size=4M,version=v2.0",
        net0: "virtio=BC:24:11:5E:90:00,bridge=vmbr0,firewall=1",
        boot: "order=scsi0;net0",
        agent: "1",
        smbios1: `uuid=${randomUUID()}`,
        vmgenid: randomUUID(),
      },
    });
    this.add({ vmid: 100, node: "pve1", status: "running", config: this.bot("bot-farm-01", 100, "local-lvm") });
    this.add({ vmid: 101, node: "pve2", config: this.bot("bot-farm-02", 101, "local-lvm") });
  }

  private bot(name: string, vmid: number, storage: string): Config {
    return { name, memory: "4096", cores: 2, sockets: 1, ostype: "win11", scsihw: "virtio-scsi-single", scsi0: `${storage}:vm-${vmid}-disk-0,iothread=1,size=64G`, net0: `virtio=${randomMac()},bridge=vmbr0`, boot: "order=scsi0;net0", agent: "1", smbios1: `uuid=${randomUUID()}` };
  }

  add(input: { vmid: number; node: string; config: Config; status?: RunState }): Vm {
    const vm: Vm = { vmid: input.vmid, node: input.node, config: { ...input.config }, pending: {}, pendingDelete: [], snapshots: new Map(), status: input.status ?? "stopped" };
    if (vm.status !== "stopped") {
      vm.startedAt = Date.now() - 3_600_000;
      vm.pid = 10_000 + input.vmid;
    }
    this.vms.set(vm.vmid, vm);
    return vm;
  }

  hasNode(node: string): boolean {
    return this.nodes.some((entry) => entry.node === node);
  }

  storage(id: string): Storage | undefined {
    return this.storages.find((entry) => entry.storage === id);
  }

  /** `PVE::QemuConfig->load_config($vmid)` on `node`. */
  vm(node: string, vmid: number): Vm {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) throw fail(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  }

  /** `check_running`: the config must be on this node. */
  running(node: string, vmid: number): boolean {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) throw fail(`unable to find configuration file for VM ${vmid} on node '${node}'`);
    return vm.status !== "stopped";
  }

  /** `/cluster/nextid`: the lowest free id from 100 (ids are taken once a config file exists). */
  nextId(): number {
    let id = 100;
    while (this.vms.has(id)) id++;
    return id;
  }

  /** Times a flock wait ran out (kept for tests written against earlier versions). */
  get fileLockTimeouts(): number {
    return this.locks.timeouts;
  }

  /** The config file as PVE writes it; its SHA-1 is the `digest`. */
  static configFile(vm: Vm): string {
    const section = (config: Config) => {
      const description = config.description === undefined ? "" : `${String(config.description).split("\n").map((line) => `#${line}`).join("\n")}\n`;
      const keys = Object.keys(config).filter((key) => key !== "description").sort();
      return description + keys.map((key) => `${key}: ${config[key]}\n`).join("");
    };
    let text = section(vm.config);
    if (Object.keys(vm.pending).length || vm.pendingDelete.length) {
      text += `\n[PENDING]\n${section(vm.pending)}${vm.pendingDelete.length ? `delete: ${vm.pendingDelete.join(",")}\n` : ""}`;
    }
    for (const snapshot of vm.snapshots.values()) {
      text += `\n[${snapshot.name}]\n${section({ ...snapshot.config, ...(snapshot.parent ? { parent: snapshot.parent } : {}), snaptime: snapshot.snaptime, ...(snapshot.vmstate ? { vmstate: 1 } : {}) })}`;
    }
    return text;
  }

  static digest(vm: Vm): string {
    return createHash("sha1").update(PveState.configFile(vm)).digest("hex");
  }

  /** `PVE::QemuConfig->check_lock`. */
  static assertUnlocked(vm: Vm): void {
    if (vm.config.lock !== undefined) throw fail(`VM is locked (${vm.config.lock})`);
  }

  /** The next free `vm-<vmid>-disk-<n>` on a storage. */
  freeVolumeName(storage: string, vmid: number, taken: string[] = []): string {
    const used = new Set(taken);
    for (const vm of this.vms.values()) {
      for (const config of [vm.config, vm.pending, ...[...vm.snapshots.values()].map((snapshot) => snapshot.config)]) {
        for (const [key, value] of Object.entries(config)) if (isDriveKey(key) || key.startsWith("unused")) used.add(parseDrive(String(value)).volume);
      }
    }
    for (let n = 0; ; n++) {
      const volume = `${storage}:vm-${vmid}-disk-${n}`;
      if (!used.has(volume)) return volume;
    }
  }
}
