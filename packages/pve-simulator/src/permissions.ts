import { hasPrivilege, type TokenGrant } from "./auth.js";
import { permError } from "./errors.js";
import type { RawValue } from "./validate.js";

/** A method's `permissions` as qemu-server and pve-manager declare them. */
export type PermissionCheck =
  | { perm: string; privs: string[]; any?: boolean; requireParam?: string }
  | { and: PermissionCheck[] }
  | { or: PermissionCheck[] };
export type Permissions = "all" | PermissionCheck;

const VM_CONFIG_PRIVS = ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit"];
const vm = (...privs: string[]): PermissionCheck => ({ perm: "/vms/{vmid}", privs });

/** Keyed by `METHOD template`; `all` means the handler filters what the caller may see. */
export const PERMISSIONS: Record<string, Permissions> = {
  "GET /version": "all",
  "GET /nodes": "all",
  "GET /cluster/resources": "all",
  "GET /cluster/nextid": "all",
  "GET /nodes/{node}/storage": "all",
  "GET /nodes/{node}/qemu": "all",
  "GET /nodes/{node}/qemu/{vmid}": "all",
  "GET /nodes/{node}/qemu/{vmid}/status/current": vm("VM.Audit"),
  "POST /nodes/{node}/qemu/{vmid}/status/start": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/stop": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/shutdown": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/reboot": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/reset": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/suspend": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/status/resume": vm("VM.PowerMgmt"),
  "POST /nodes/{node}/qemu/{vmid}/clone": {
    and: [vm("VM.Clone"), { or: [{ perm: "/vms/{newid}", privs: ["VM.Allocate"] }, { perm: "/pool/{pool}", privs: ["VM.Allocate"], requireParam: "pool" }] }],
  },
  "POST /nodes/{node}/qemu/{vmid}/template": vm("VM.Allocate"),
  "DELETE /nodes/{node}/qemu/{vmid}": vm("VM.Allocate"),
  "GET /nodes/{node}/qemu/{vmid}/config": vm("VM.Audit"),
  "PUT /nodes/{node}/qemu/{vmid}/config": { perm: "/vms/{vmid}", privs: VM_CONFIG_PRIVS, any: true },
  "POST /nodes/{node}/qemu/{vmid}/config": { perm: "/vms/{vmid}", privs: VM_CONFIG_PRIVS, any: true },
  "GET /nodes/{node}/qemu/{vmid}/pending": vm("VM.Audit"),
  "PUT /nodes/{node}/qemu/{vmid}/resize": vm("VM.Config.Disk"),
  "GET /nodes/{node}/qemu/{vmid}/snapshot": vm("VM.Audit"),
  "POST /nodes/{node}/qemu/{vmid}/snapshot": vm("VM.Snapshot"),
  "GET /nodes/{node}/qemu/{vmid}/snapshot/{snapname}": "all",
  "GET /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config": vm("VM.Audit"),
  "DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}": vm("VM.Snapshot"),
  "POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback": { perm: "/vms/{vmid}", privs: ["VM.Snapshot", "VM.Snapshot.Rollback"], any: true },
  "GET /nodes/{node}/tasks/{upid}/status": "all",
  "GET /nodes/{node}/tasks/{upid}/log": "all",
};

/**
 * `check_api2_permissions` before the handler runs (and before parameter verification, as in
 * pveproxy): paths like `/vms/{vmid}` are filled from the raw request parameters.
 */
export function checkPermissions(permissions: Permissions, grant: TokenGrant, params: Record<string, RawValue | undefined>): void {
  if (permissions === "all") return;
  if (!evaluate(permissions, grant, params, false)) throw permError();
}

function evaluate(check: PermissionCheck, grant: TokenGrant, params: Record<string, RawValue | undefined>, noerr: boolean): boolean {
  if ("and" in check) return check.and.every((sub) => evaluate(sub, grant, params, noerr));
  if ("or" in check) {
    if (check.or.some((sub) => evaluate(sub, grant, params, true))) return true;
    if (noerr) return false;
    throw permError();
  }
  if (check.requireParam && params[check.requireParam] === undefined) return false;
  const path = check.perm.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ""));
  const ok = check.any ? check.privs.some((priv) => hasPrivilege(grant, path, priv)) : check.privs.every((priv) => hasPrivilege(grant, path, priv));
  if (ok || noerr) return ok;
  const missing = check.any ? check.privs.join("|") : check.privs.find((priv) => !hasPrivilege(grant, path, priv))!;
  throw permError(`${path}, ${missing}`);
}
