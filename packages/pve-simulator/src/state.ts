import { createHash } from "node:crypto";

export type VmStatus = "running" | "stopped" | "paused";

export interface Snapshot {
  name: string;
  description: string;
  snaptime: number;
  parent?: string;
  config: Record<string, string | number>;
}

export interface Vm {
  vmid: number;
  node: string;
  status: VmStatus;
  template: boolean;
  config: Record<string, string | number>;
  lock?: string;
  snapshots: Map<string, Snapshot>;
  startedAt?: number;
}

export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Nodes, storages and VMs of the simulated cluster, seeded with a Windows template. */
export class PveState {
  readonly nodes = ["pve1", "pve2"];
  readonly storages = ["local", "local-lvm"];
  readonly vms = new Map<number, Vm>();
  /** Config-file flock of a VM, held by the opening phase of clones ('can't lock file … got timeout'). */
  readonly fileLocks = new Map<number, number>();
  /** How many requests failed on a busy config-file lock (for tests to prove contention happened). */
  fileLockTimeouts = 0;

  constructor() {
    this.add({ vmid: 9000, node: "pve1", status: "stopped", template: true, config: { name: "win11-template", memory: "8192", cores: 4, sockets: 1, ostype: "win11", scsi0: "local-lvm:base-9000-disk-0,size=64G", net0: "virtio=BC:24:11:00:90:00,bridge=vmbr0", boot: "order=scsi0", template: 1 } });
    this.add({ vmid: 100, node: "pve1", status: "running", template: false, config: { name: "bot-farm-01", memory: "4096", cores: 2, sockets: 1, ostype: "win11", scsi0: "local-lvm:vm-100-disk-0,size=64G", net0: "virtio=BC:24:11:00:01:00,bridge=vmbr0" }, startedAt: Date.now() - 3_600_000 });
    this.add({ vmid: 101, node: "pve2", status: "stopped", template: false, config: { name: "bot-farm-02", memory: "4096", cores: 2, sockets: 1, ostype: "win11", scsi0: "local-lvm:vm-101-disk-0,size=64G", net0: "virtio=BC:24:11:00:01:01,bridge=vmbr0" } });
  }

  add(vm: Omit<Vm, "snapshots">): Vm {
    const full = { ...vm, snapshots: new Map<string, Snapshot>() };
    this.vms.set(vm.vmid, full);
    return full;
  }

  vm(node: string, vmid: number): Vm {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) throw new PveError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  }

  node(node: string): void {
    if (!this.nodes.includes(node)) throw new PveError(595, `no such node '${node}'`);
  }

  nextId(): number {
    let id = 100;
    while (this.vms.has(id)) id++;
    return id;
  }

  static digest(config: Record<string, unknown>): string {
    return createHash("sha1").update(JSON.stringify(Object.entries(config).sort())).digest("hex");
  }

  /** Refuses to touch a VM another task holds, with PVE's message. */
  static assertUnlocked(vm: Vm): void {
    if (vm.lock) throw new PveError(500, `VM ${vm.vmid} is locked (${vm.lock})`);
  }
}
