import type { Targets } from "../../targets/targets.js";
import type { HandlerTable } from "../handler.js";
import { SyncthingClient } from "./client.js";

type SyncthingHandlers = { [N in keyof HandlerTable as N extends `syncthing.${string}` ? N : never]: HandlerTable[N] };
type Json = Record<string, unknown>;
type FolderConfig = Json & { id: string; devices: Array<{ deviceID: string } & Json>; paused: boolean };
type DeviceConfig = Json & { deviceID: string; paused: boolean };

const enc = encodeURIComponent;

/** Every syncthing.* command, against the named target's REST API with the key from the vault. */
export function syncthingHandlers(targets: Targets): SyncthingHandlers {
  const client = async (target: string) => {
    const { config, secret } = await targets.resolve(target, "syncthing");
    return new SyncthingClient({ url: config.url, apiKey: secret });
  };
  const folder = (st: SyncthingClient, id: string, signal: AbortSignal) => st.get<FolderConfig>(`/rest/config/folders/${enc(id)}`, undefined, signal);
  const patchFolder = (st: SyncthingClient, id: string, body: Json, signal: AbortSignal) => st.request("PATCH", `/rest/config/folders/${enc(id)}`, { body, signal });
  const patchDevice = async (target: string, deviceId: string, paused: boolean, signal: AbortSignal) => {
    const st = await client(target);
    await st.request("PATCH", `/rest/config/devices/${enc(deviceId)}`, { body: { paused }, signal });
    const device = await st.get<DeviceConfig>(`/rest/config/devices/${enc(deviceId)}`, undefined, signal);
    return { device_id: device.deviceID, paused: device.paused };
  };
  const setShared = async (target: string, folderId: string, deviceId: string, shared: boolean, signal: AbortSignal) => {
    const st = await client(target);
    const current = await folder(st, folderId, signal);
    const others = current.devices.filter((device) => device.deviceID !== deviceId);
    const devices = shared ? [...others, { deviceID: deviceId }] : others;
    await patchFolder(st, folderId, { devices }, signal);
    const updated = await folder(st, folderId, signal);
    return { folder: updated.id, devices: updated.devices.map((device) => device.deviceID) };
  };
  const setFolderPaused = async (target: string, folderId: string, paused: boolean, signal: AbortSignal) => {
    const st = await client(target);
    await folder(st, folderId, signal);
    await patchFolder(st, folderId, { paused }, signal);
    return { folder: folderId, paused: (await folder(st, folderId, signal)).paused };
  };

  return {
    "syncthing.status": async ({ target }, { signal }) => {
      const st = await client(target);
      const status = await st.get<{ myID: string; uptime: number; startTime?: string }>("/rest/system/status", undefined, signal);
      const version = await st.get<{ version: string }>("/rest/system/version", undefined, signal);
      return { device_id: status.myID, version: version.version, uptime_s: status.uptime, ...(status.startTime ? { started_at: status.startTime } : {}) };
    },
    "syncthing.connections": async ({ target }, { signal }) => (await client(target)).get<Json>("/rest/system/connections", undefined, signal),
    "syncthing.devices.list": async ({ target }, { signal }) => ({ devices: await (await client(target)).get<Json[]>("/rest/config/devices", undefined, signal) }),
    "syncthing.device.add": async ({ target, device_id, name, addresses, introducer }, { signal }) => {
      const st = await client(target);
      const body = { deviceID: device_id, ...(name !== undefined ? { name } : {}), ...(addresses ? { addresses } : {}), ...(introducer !== undefined ? { introducer } : {}) };
      await st.request("POST", "/rest/config/devices", { body, signal });
      return { device: await st.get<Json>(`/rest/config/devices/${enc(device_id)}`, undefined, signal) };
    },
    "syncthing.device.remove": async ({ target, device_id }, { signal }) => {
      const st = await client(target);
      await st.get(`/rest/config/devices/${enc(device_id)}`, undefined, signal);
      await st.request("DELETE", `/rest/config/devices/${enc(device_id)}`, { signal });
      return { device_id, removed: true as const };
    },
    "syncthing.device.pause": ({ target, device_id }, { signal }) => patchDevice(target, device_id, true, signal),
    "syncthing.device.resume": ({ target, device_id }, { signal }) => patchDevice(target, device_id, false, signal),
    "syncthing.folders.list": async ({ target }, { signal }) => ({ folders: await (await client(target)).get<Json[]>("/rest/config/folders", undefined, signal) }),
    "syncthing.folder.status": async ({ target, folder: id }, { signal }) => (await client(target)).get<Json>("/rest/db/status", { folder: id }, signal),
    "syncthing.folder.add": async ({ target, id, label, path, type, devices }, { signal }) => {
      const st = await client(target);
      const body = { id, path, ...(label !== undefined ? { label } : {}), ...(type ? { type } : {}), ...(devices ? { devices: devices.map((deviceID) => ({ deviceID })) } : {}) };
      await st.request("POST", "/rest/config/folders", { body, signal });
      return { folder: await folder(st, id, signal) };
    },
    "syncthing.folder.share": ({ target, folder: id, device_id }, { signal }) => setShared(target, id, device_id, true, signal),
    "syncthing.folder.unshare": ({ target, folder: id, device_id }, { signal }) => setShared(target, id, device_id, false, signal),
    "syncthing.folder.remove": async ({ target, folder: id }, { signal }) => {
      const st = await client(target);
      await folder(st, id, signal);
      await st.request("DELETE", `/rest/config/folders/${enc(id)}`, { signal });
      return { folder: id, removed: true as const };
    },
    "syncthing.folder.pause": ({ target, folder: id }, { signal }) => setFolderPaused(target, id, true, signal),
    "syncthing.folder.resume": ({ target, folder: id }, { signal }) => setFolderPaused(target, id, false, signal),
    "syncthing.folder.rescan": async ({ target, folder: id, sub }, { signal }) => {
      await (await client(target)).request("POST", "/rest/db/scan", { query: { folder: id, sub }, signal, timeoutMs: 120_000 });
      return { folder: id, rescanned: true as const };
    },
    "syncthing.folder.completion": async ({ target, folder: id, device_id }, { signal }) =>
      (await client(target)).get<{ completion: number } & Json>("/rest/db/completion", { folder: id, device: device_id }, signal),
    "syncthing.pending.list": async ({ target }, { signal }) => {
      const st = await client(target);
      return { devices: await st.get<Json>("/rest/cluster/pending/devices", undefined, signal), folders: await st.get<Json>("/rest/cluster/pending/folders", undefined, signal) };
    },
    "syncthing.pending.accept": async (params, { signal }) => {
      const st = await client(params.target);
      if (!("folder" in params)) {
        await st.request("POST", "/rest/config/devices", { body: { deviceID: params.device_id, ...(params.name ? { name: params.name } : {}) }, signal });
        return { accepted: "device" as const, device_id: params.device_id };
      }
      const existing = await st.get<FolderConfig[]>("/rest/config/folders", undefined, signal);
      if (existing.some((entry) => entry.id === params.folder)) {
        await setShared(params.target, params.folder, params.device_id, true, signal);
      } else {
        const body = { id: params.folder, path: params.path, label: params.label ?? params.folder, devices: [{ deviceID: params.device_id }] };
        await st.request("POST", "/rest/config/folders", { body, signal });
      }
      return { accepted: "folder" as const, folder: params.folder, device_id: params.device_id };
    },
    "syncthing.pending.reject": async (params, { signal }) => {
      const st = await client(params.target);
      if ("folder" in params) {
        await st.request("DELETE", "/rest/cluster/pending/folders", { query: { folder: params.folder, device: params.device_id }, signal });
        return { rejected: "folder" as const };
      }
      await st.request("DELETE", "/rest/cluster/pending/devices", { query: { device: params.device_id }, signal });
      return { rejected: "device" as const };
    },
  };
}
