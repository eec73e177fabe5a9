import { z } from "zod";
import { defineCommand } from "./define.js";

/** Name of a target configured on the agent (`botmox-agent targets add …`); never a credential. */
export const targetSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, "a target name: letters, digits, - and _")
  .default("default");

// SyncThing checks device ids itself (length and check digits) and its answer becomes ST_INVALID_PARAMS.
const deviceId = z.string().min(1).max(100);
/** A SyncThing folder id the REST API can be asked about: "." and ".." would address other endpoints, "/" another path. */
export const SYNCTHING_FOLDER_ID = /^(?!\.\.?$)[^/]+$/;
const folderId = z.string().min(1).max(256).regex(SYNCTHING_FOLDER_ID, "a folder id cannot be . or .. or contain /");
const json = z.record(z.string(), z.unknown());
const withTarget = <T extends z.ZodRawShape>(shape: T) => z.object({ target: targetSchema, ...shape }).strict();
const query = <P extends z.ZodType, R extends z.ZodType>(description: string, params: P, result: R) =>
  defineCommand({ description, params, result, defaultTimeoutMs: 30_000, mutating: false });
const change = <P extends z.ZodType, R extends z.ZodType>(description: string, params: P, result: R) =>
  defineCommand({ description, params, result, defaultTimeoutMs: 30_000, mutating: true });

export const syncthingCommands = {
  "syncthing.status": query(
    "Device id, version and uptime of the SyncThing instance.",
    withTarget({}),
    z.object({ device_id: z.string(), version: z.string(), uptime_s: z.number(), started_at: z.string().optional() }),
  ),
  "syncthing.connections": query("Connections to other devices (/rest/system/connections).", withTarget({}), json),
  "syncthing.devices.list": query("Configured devices.", withTarget({}), z.object({ devices: z.array(json) })),
  "syncthing.device.add": change(
    "Adds (or updates) a device.",
    withTarget({ device_id: deviceId, name: z.string().max(255).optional(), addresses: z.array(z.string().max(255)).max(32).optional(), introducer: z.boolean().optional() }),
    z.object({ device: json }),
  ),
  "syncthing.device.remove": change("Removes a device.", withTarget({ device_id: deviceId }), z.object({ device_id: z.string(), removed: z.literal(true) })),
  "syncthing.device.pause": change("Pauses a device.", withTarget({ device_id: deviceId }), z.object({ device_id: z.string(), paused: z.boolean() })),
  "syncthing.device.resume": change("Resumes a device.", withTarget({ device_id: deviceId }), z.object({ device_id: z.string(), paused: z.boolean() })),
  "syncthing.folders.list": query("Configured folders.", withTarget({}), z.object({ folders: z.array(json) })),
  "syncthing.folder.status": query("State and counters of a folder (/rest/db/status).", withTarget({ folder: folderId }), json),
  "syncthing.folder.add": change(
    "Adds (or updates) a folder, optionally shared with devices.",
    withTarget({
      id: folderId,
      label: z.string().max(255).optional(),
      path: z.string().min(1).max(4096),
      type: z.enum(["sendreceive", "sendonly", "receiveonly", "receiveencrypted"]).optional(),
      devices: z.array(deviceId).max(256).optional(),
    }),
    z.object({ folder: json }),
  ),
  "syncthing.folder.share": change("Shares a folder with a device.", withTarget({ folder: folderId, device_id: deviceId }), z.object({ folder: z.string(), devices: z.array(z.string()) })),
  "syncthing.folder.unshare": change("Stops sharing a folder with a device.", withTarget({ folder: folderId, device_id: deviceId }), z.object({ folder: z.string(), devices: z.array(z.string()) })),
  "syncthing.folder.remove": change("Removes a folder from the configuration (files stay on disk).", withTarget({ folder: folderId }), z.object({ folder: z.string(), removed: z.literal(true) })),
  "syncthing.folder.pause": change("Pauses a folder.", withTarget({ folder: folderId }), z.object({ folder: z.string(), paused: z.boolean() })),
  "syncthing.folder.resume": change("Resumes a folder.", withTarget({ folder: folderId }), z.object({ folder: z.string(), paused: z.boolean() })),
  "syncthing.folder.rescan": change("Rescans a folder, or one path in it.", withTarget({ folder: folderId, sub: z.string().max(4096).optional() }), z.object({ folder: z.string(), rescanned: z.literal(true) })),
  "syncthing.folder.completion": query(
    "Sync completion of a folder, overall or for one device (/rest/db/completion).",
    withTarget({ folder: folderId, device_id: deviceId.optional() }),
    z.object({ completion: z.number() }).catchall(z.unknown()),
  ),
  "syncthing.pending.list": query("Devices and folders waiting for approval.", withTarget({}), z.object({ devices: json, folders: json })),
  "syncthing.pending.accept": change(
    "Accepts a pending device ({device_id}) or folder ({folder, device_id, path}).",
    z.union([
      withTarget({ folder: folderId, device_id: deviceId, path: z.string().min(1).max(4096), label: z.string().max(255).optional() }),
      withTarget({ device_id: deviceId, name: z.string().max(255).optional() }),
    ]),
    z.object({ accepted: z.enum(["device", "folder"]) }).catchall(z.unknown()),
  ),
  "syncthing.pending.reject": change(
    "Dismisses a pending device ({device_id}) or folder ({folder, device_id}).",
    z.union([withTarget({ folder: folderId, device_id: deviceId }), withTarget({ device_id: deviceId })]),
    z.object({ rejected: z.enum(["device", "folder"]) }),
  ),
};
