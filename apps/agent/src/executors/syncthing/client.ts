import { SYNCTHING_FOLDER_ID } from "@botmox/protocol";
import { deadlineSignal } from "../deadline.js";
import { MAX_UPSTREAM_ANSWER_BYTES, readCapped } from "../answer-limit.js";
import { ExecutorError } from "../executor-error.js";
import { normalizeDeviceId } from "./device-id.js";
import { syncthingError, unreachableError } from "./errors.js";
import { FOLDER_TYPES, type Completion, type Connections, type DeviceConfig, type FolderConfig, type FolderStatus, type FolderType, type Pending, type RawEvent, type SyncthingStatus, type SystemStatus } from "./types.js";

export interface SyncthingClientOptions {
  /** e.g. `http://127.0.0.1:8384` */
  url: string;
  apiKey: string;
  /** Per request (default 15 s); long polls and rescans get their own. */
  timeoutMs?: number;
  /**
   * Judges every folder path SyncThing is asked to share, a folder's own when it is configured
   * already: returns the path to use, throws to refuse. Default: any path.
   */
  checkFolderPath?: (path: string) => string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Query = Record<string, string | undefined>;
export interface RequestInput extends CallOptions {
  query?: Query;
  body?: unknown;
  timeoutMs?: number;
}

const enc = encodeURIComponent;
const RESCAN_TIMEOUT_MS = 10 * 60_000;

/**
 * SyncThing's REST API (X-API-Key), one method per agent command. Configuration changes go
 * through the per-object config endpoints (1.12+), never a rewrite of the whole config.
 * Errors are ExecutorErrors: ST_AUTH, ST_NOT_FOUND, ST_INVALID_PARAMS, ST_UNREACHABLE
 * (retryable), ST_ERROR. Device ids are checked locally (Luhn base32) and sent in canonical form.
 *
 * SyncThing 1.19 accepts several things silently that the methods here refuse, because the
 * outcome is never what the caller meant: a folder without a path (it becomes `~`, the whole
 * home directory), an unknown folder type (becomes sendreceive), sharing with a device that is
 * not configured (dropped), and DELETE of an unknown folder or device (200, nothing happens).
 */
export class SyncthingClient {
  private readonly base: string;
  private myId: string | undefined;

  private readonly checkPath: (path: string) => string;

  constructor(private readonly options: SyncthingClientOptions) {
    this.checkPath = options.checkFolderPath ?? ((path) => path);
    this.base = options.url.replace(/\/+$/, "");
  }

  /** One REST call; resolves the parsed JSON body (undefined when empty). */
  async request<T = unknown>(method: Method, path: string, input: RequestInput = {}): Promise<T> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(input.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const timeoutMs = input.timeoutMs ?? this.options.timeoutMs ?? 15_000;
    const request = `${method} ${path}`;
    const deadline = deadlineSignal(input.signal, timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: { "X-API-Key": this.options.apiKey, ...(input.body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
        signal: deadline.signal,
      });
      const tooLarge = () => new ExecutorError("ST_ERROR", `SyncThing answered ${request} with more than ${MAX_UPSTREAM_ANSWER_BYTES} bytes; the answer was dropped`, { request });
      text = response.body ? await readCapped(response.body, tooLarge) : "";
    } catch (err) {
      if (err instanceof ExecutorError) throw err;
      if (input.signal?.aborted) throw err; // the caller's cancel, not SyncThing's fault
      throw unreachableError(this.base, deadline.signal.aborted ? deadline.signal.reason : err, timeoutMs);
    } finally {
      deadline.release();
    }
    if (!response.ok) throw syncthingError(response.status, text, request);
    if (!text.trim()) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ExecutorError("ST_ERROR", `${this.base} answered ${request} with something that is not JSON; is it SyncThing?`, { request, body: text.slice(0, 200) });
    }
  }

  get<T = unknown>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
  }

  // --- system ---------------------------------------------------------------------------

  /** Device id, version, uptime and start time. */
  async status(opts: CallOptions = {}): Promise<SyncthingStatus> {
    const [status, version] = await Promise.all([this.systemStatus(opts), this.get<{ version: string }>("/rest/system/version", undefined, opts.signal)]);
    return { device_id: status.myID, version: version.version, uptime_s: status.uptime, started_at: status.startTime };
  }

  /** /rest/system/status as SyncThing sends it. `startTime` has one-second resolution. */
  async systemStatus(opts: CallOptions = {}): Promise<SystemStatus> {
    const status = await this.get<SystemStatus>("/rest/system/status", undefined, opts.signal);
    this.myId = status.myID;
    return status;
  }

  /** This device's id (cached: it never changes for a SyncThing home). */
  async myDeviceId(opts: CallOptions = {}): Promise<string> {
    return this.myId ?? (await this.systemStatus(opts)).myID;
  }

  connections(opts: CallOptions = {}): Promise<Connections> {
    return this.get<Connections>("/rest/system/connections", undefined, opts.signal);
  }

  // --- devices --------------------------------------------------------------------------

  devicesList(opts: CallOptions = {}): Promise<DeviceConfig[]> {
    return this.get<DeviceConfig[]>("/rest/config/devices", undefined, opts.signal);
  }

  /** The configured device, ST_NOT_FOUND when there is none. */
  async device(params: { device_id: string }, opts: CallOptions = {}): Promise<DeviceConfig> {
    return this.get<DeviceConfig>(`/rest/config/devices/${enc(normalizeDeviceId(params.device_id))}`, undefined, opts.signal);
  }

  /** Adds a device, or updates the given fields of a configured one (the rest are kept). */
  async deviceAdd(params: { device_id: string; name?: string; addresses?: string[]; introducer?: boolean }, opts: CallOptions = {}): Promise<DeviceConfig> {
    const deviceID = normalizeDeviceId(params.device_id);
    for (const address of params.addresses ?? []) checkAddress(address);
    const fields = {
      ...(params.name !== undefined ? { name: params.name } : {}),
      ...(params.addresses !== undefined ? { addresses: params.addresses.length > 0 ? params.addresses : ["dynamic"] } : {}),
      ...(params.introducer !== undefined ? { introducer: params.introducer } : {}),
    };
    const path = `/rest/config/devices/${enc(deviceID)}`;
    if (await this.exists(path, opts.signal)) await this.request("PATCH", path, { body: fields, ...opts });
    else await this.request("POST", "/rest/config/devices", { body: { deviceID, ...fields }, ...opts });
    return this.get<DeviceConfig>(path, undefined, opts.signal);
  }

  async deviceRemove(params: { device_id: string }, opts: CallOptions = {}): Promise<{ device_id: string; removed: true }> {
    const deviceID = normalizeDeviceId(params.device_id);
    if (deviceID === (await this.myDeviceId(opts))) throw new ExecutorError("ST_INVALID_PARAMS", `${deviceID} is this SyncThing's own device id; it cannot be removed`);
    await this.device({ device_id: deviceID }, opts); // DELETE of an unknown device answers 200
    await this.request("DELETE", `/rest/config/devices/${enc(deviceID)}`, opts);
    return { device_id: deviceID, removed: true };
  }

  devicePause(params: { device_id: string }, opts: CallOptions = {}): Promise<{ device_id: string; paused: boolean }> {
    return this.setDevicePaused(params.device_id, true, opts);
  }

  deviceResume(params: { device_id: string }, opts: CallOptions = {}): Promise<{ device_id: string; paused: boolean }> {
    return this.setDevicePaused(params.device_id, false, opts);
  }

  // --- folders --------------------------------------------------------------------------

  foldersList(opts: CallOptions = {}): Promise<FolderConfig[]> {
    return this.get<FolderConfig[]>("/rest/config/folders", undefined, opts.signal);
  }

  /** The configured folder, ST_NOT_FOUND when there is none. */
  async folder(params: { folder: string }, opts: CallOptions = {}): Promise<FolderConfig> {
    return this.get<FolderConfig>(`/rest/config/folders/${enc(checkFolderId(params.folder))}`, undefined, opts.signal);
  }

  /** State and counters (/rest/db/status). */
  async folderStatus(params: { folder: string }, opts: CallOptions = {}): Promise<FolderStatus> {
    return this.get<FolderStatus>("/rest/db/status", { folder: checkFolderId(params.folder) }, opts.signal);
  }

  /**
   * Adds a folder shared with `devices` (which must be configured already), or updates a
   * configured one: the given fields change, `devices` are added to those it is shared with.
   * New folders start from SyncThing's folder defaults (`<defaults><folder>`).
   */
  async folderAdd(params: { id: string; label?: string; path: string; type?: FolderType; devices?: string[] }, opts: CallOptions = {}): Promise<FolderConfig> {
    const id = checkFolderId(params.id, "id");
    if (typeof params.path !== "string" || !params.path.trim()) {
      throw new ExecutorError("ST_INVALID_PARAMS", "path is required: without one SyncThing would share its home directory (~)", { field: "path" });
    }
    if (params.type !== undefined && !FOLDER_TYPES.includes(params.type)) {
      throw new ExecutorError("ST_INVALID_PARAMS", `type "${params.type}" is not a folder type: ${FOLDER_TYPES.join(", ")}`, { field: "type", value: params.type });
    }
    const folderPath = this.checkPath(params.path);
    const devices = (params.devices ?? []).map((device) => normalizeDeviceId(device, "devices[]"));
    await this.requireConfiguredDevices(devices, opts);
    const path = `/rest/config/folders/${enc(id)}`;
    const current = await this.maybeGet<FolderConfig>(path, opts.signal);
    const fields = { path: folderPath, ...(params.label !== undefined ? { label: params.label } : {}), ...(params.type !== undefined ? { type: params.type } : {}) };
    if (current) {
      const missing = devices.filter((device) => !current.devices.some((entry) => entry.deviceID === device));
      await this.request("PATCH", path, { body: { ...fields, ...(missing.length > 0 ? { devices: [...current.devices, ...missing.map((deviceID) => ({ deviceID }))] } : {}) }, ...opts });
    } else {
      await this.request("POST", "/rest/config/folders", { body: { id, ...fields, devices: devices.map((deviceID) => ({ deviceID })) }, ...opts });
    }
    return this.get<FolderConfig>(path, undefined, opts.signal);
  }

  folderShare(params: { folder: string; device_id: string }, opts: CallOptions = {}): Promise<{ folder: string; devices: string[] }> {
    return this.setShared(params, true, opts);
  }

  folderUnshare(params: { folder: string; device_id: string }, opts: CallOptions = {}): Promise<{ folder: string; devices: string[] }> {
    return this.setShared(params, false, opts);
  }

  /** Removes the folder from the configuration; its files stay on disk. */
  async folderRemove(params: { folder: string }, opts: CallOptions = {}): Promise<{ folder: string; removed: true }> {
    const { id } = await this.folder(params, opts); // DELETE of an unknown folder answers 200
    await this.request("DELETE", `/rest/config/folders/${enc(id)}`, opts);
    return { folder: id, removed: true };
  }

  folderPause(params: { folder: string }, opts: CallOptions = {}): Promise<{ folder: string; paused: boolean }> {
    return this.setFolderPaused(params.folder, true, opts);
  }

  folderResume(params: { folder: string }, opts: CallOptions = {}): Promise<{ folder: string; paused: boolean }> {
    return this.setFolderPaused(params.folder, false, opts);
  }

  /** Scans the folder (or the path `sub` inside it) now; resolves when the scan is done. */
  async folderRescan(params: { folder: string; sub?: string }, opts: CallOptions = {}): Promise<{ folder: string; rescanned: true }> {
    const folder = checkFolderId(params.folder);
    await this.request("POST", "/rest/db/scan", { query: { folder, sub: params.sub }, timeoutMs: RESCAN_TIMEOUT_MS, ...opts });
    return { folder, rescanned: true };
  }

  /**
   * Completion of the folder on `device_id` or, without it, over all remote devices it is
   * shared with. SyncThing 1.19 says 100 for a device that has not announced the folder yet
   * (there is no `remoteState` before 1.20): pair it with the device's own folderStatus.
   */
  async folderCompletion(params: { folder: string; device_id?: string }, opts: CallOptions = {}): Promise<Completion> {
    const device = params.device_id === undefined ? undefined : normalizeDeviceId(params.device_id);
    return this.get<Completion>("/rest/db/completion", { folder: checkFolderId(params.folder), device }, opts.signal);
  }

  // --- pending devices and folders -------------------------------------------------------

  async pendingList(opts: CallOptions = {}): Promise<Pending> {
    const [devices, folders] = await Promise.all([
      this.get<Pending["devices"]>("/rest/cluster/pending/devices", undefined, opts.signal),
      this.get<Pending["folders"]>("/rest/cluster/pending/folders", undefined, opts.signal),
    ]);
    return { devices: devices ?? {}, folders: folders ?? {} };
  }

  /**
   * Adds a device that asked to connect, named as it introduced itself unless `name` is given,
   * dialled at `addresses` (default `dynamic`: found by discovery, or it dials in again).
   * ST_NOT_FOUND when it is not waiting; a device configured meanwhile counts as accepted.
   */
  async pendingAcceptDevice(params: { device_id: string; name?: string; addresses?: string[] }, opts: CallOptions = {}): Promise<{ accepted: "device"; device_id: string; device: DeviceConfig }> {
    const deviceID = normalizeDeviceId(params.device_id);
    for (const address of params.addresses ?? []) checkAddress(address);
    const path = `/rest/config/devices/${enc(deviceID)}`;
    const configured = await this.maybeGet<DeviceConfig>(path, opts.signal);
    if (configured) return { accepted: "device", device_id: deviceID, device: configured };
    const waiting = (await this.pendingList(opts)).devices[deviceID];
    if (!waiting) throw new ExecutorError("ST_NOT_FOUND", `device ${deviceID} is not waiting for approval`, { device_id: deviceID });
    const name = params.name ?? waiting.name;
    const body = { deviceID, ...(name ? { name } : {}), ...(params.addresses && params.addresses.length > 0 ? { addresses: params.addresses } : {}) };
    await this.request("POST", "/rest/config/devices", { body, ...opts });
    return { accepted: "device", device_id: deviceID, device: await this.get<DeviceConfig>(path, undefined, opts.signal) };
  }

  /**
   * Accepts a folder a device offers: a configured folder with that id is shared with the
   * device, otherwise the folder is added at `path` (as receiveencrypted when the offer is for
   * an encrypted copy). ST_NOT_FOUND when the device offers no such folder.
   */
  async pendingAcceptFolder(params: { folder: string; device_id: string; path: string; label?: string }, opts: CallOptions = {}): Promise<{ accepted: "folder"; folder: string; device_id: string; devices: string[] }> {
    const folder = checkFolderId(params.folder);
    const deviceID = normalizeDeviceId(params.device_id);
    const configured = await this.maybeGet<FolderConfig>(`/rest/config/folders/${enc(folder)}`, opts.signal);
    // A folder configured already is shared as it is (the path given is not used): its own path is what is judged.
    const path = this.checkPath(configured ? configured.path : params.path);
    const offer = (await this.pendingList(opts)).folders[folder]?.offeredBy[deviceID];
    const alreadyShared = configured?.devices.some((device) => device.deviceID === deviceID) ?? false;
    if (!offer && !alreadyShared) throw new ExecutorError("ST_NOT_FOUND", `device ${deviceID} offers no folder "${folder}" waiting for approval`, { folder, device_id: deviceID });
    if (configured) {
      const shared = await this.setShared({ folder, device_id: deviceID }, true, opts, configured);
      return { accepted: "folder", folder, device_id: deviceID, devices: shared.devices };
    }
    const added = await this.folderAdd(
      { id: folder, path, label: params.label ?? (offer?.label || folder), devices: [deviceID], ...(offer?.receiveEncrypted ? { type: "receiveencrypted" as const } : {}) },
      opts,
    );
    return { accepted: "folder", folder, device_id: deviceID, devices: added.devices.map((device) => device.deviceID) };
  }

  /**
   * Dismisses a pending device (`{device_id}`) or folder offer (`{folder, device_id}`).
   * SyncThing 1.19 only forgets the request: a device that keeps dialling, or keeps offering
   * the folder, shows up as pending again on its next connection attempt.
   */
  async pendingReject(params: { device_id: string; folder?: string }, opts: CallOptions = {}): Promise<{ rejected: "device" | "folder" }> {
    const deviceID = normalizeDeviceId(params.device_id);
    const pending = await this.pendingList(opts);
    if (params.folder !== undefined) {
      const folder = checkFolderId(params.folder);
      if (!pending.folders[folder]?.offeredBy[deviceID]) throw new ExecutorError("ST_NOT_FOUND", `device ${deviceID} offers no folder "${folder}" waiting for approval`, { folder, device_id: deviceID });
      await this.request("DELETE", "/rest/cluster/pending/folders", { query: { folder, device: deviceID }, ...opts });
      return { rejected: "folder" };
    }
    if (!pending.devices[deviceID]) throw new ExecutorError("ST_NOT_FOUND", `device ${deviceID} is not waiting for approval`, { device_id: deviceID });
    await this.request("DELETE", "/rest/cluster/pending/devices", { query: { device: deviceID }, ...opts });
    return { rejected: "device" };
  }

  // --- events ---------------------------------------------------------------------------

  /**
   * One long poll of /rest/events: events with id > `since`, waiting up to `timeoutS` for the
   * first. `types` makes SyncThing filter; 1.19 keeps a separate subscription per type mask,
   * created by the first request with it: its ids are its own (not those of the unfiltered
   * stream), and events before that first request are not in it.
   */
  events(params: { since: number; timeoutS?: number; types?: readonly string[]; limit?: number; signal?: AbortSignal }): Promise<RawEvent[]> {
    const timeoutS = params.timeoutS ?? 60;
    return this.request<RawEvent[]>("GET", "/rest/events", {
      query: {
        since: String(params.since),
        timeout: String(timeoutS),
        ...(params.limit !== undefined ? { limit: String(params.limit) } : {}),
        ...(params.types && params.types.length > 0 ? { events: params.types.join(",") } : {}),
      },
      timeoutMs: (timeoutS + 15) * 1000,
      ...(params.signal ? { signal: params.signal } : {}),
    }).then((events) => events ?? []);
  }

  /** Id of the newest event in the stream (`types`: of that mask's stream), 0 when there is none yet. */
  async newestEventId(params: { types?: readonly string[]; signal?: AbortSignal } = {}): Promise<number> {
    const newest = await this.events({ since: 0, timeoutS: 0, limit: 1, ...params });
    return newest.at(-1)?.id ?? 0;
  }

  // --- helpers --------------------------------------------------------------------------

  private async setDevicePaused(device_id: string, paused: boolean, opts: CallOptions): Promise<{ device_id: string; paused: boolean }> {
    const deviceID = normalizeDeviceId(device_id);
    await this.request("PATCH", `/rest/config/devices/${enc(deviceID)}`, { body: { paused }, ...opts });
    const device = await this.get<DeviceConfig>(`/rest/config/devices/${enc(deviceID)}`, undefined, opts.signal);
    return { device_id: device.deviceID, paused: device.paused };
  }

  private async setFolderPaused(folder: string, paused: boolean, opts: CallOptions): Promise<{ folder: string; paused: boolean }> {
    const id = checkFolderId(folder);
    await this.request("PATCH", `/rest/config/folders/${enc(id)}`, { body: { paused }, ...opts });
    return { folder: id, paused: (await this.folder({ folder: id }, opts)).paused };
  }

  /** `current`: the folder's config when the caller has just read it. */
  private async setShared(params: { folder: string; device_id: string }, shared: boolean, opts: CallOptions, current?: FolderConfig): Promise<{ folder: string; devices: string[] }> {
    const deviceID = normalizeDeviceId(params.device_id);
    current ??= await this.folder(params, opts);
    if (shared) this.checkPath(current.path);
    const has = current.devices.some((device) => device.deviceID === deviceID);
    if (shared && !has) {
      await this.requireConfiguredDevices([deviceID], opts);
      await this.patchFolderDevices(current.id, [...current.devices, { deviceID }], opts);
    } else if (!shared && has) {
      if (deviceID === (await this.myDeviceId(opts))) throw new ExecutorError("ST_INVALID_PARAMS", `${deviceID} is this SyncThing's own device id; a folder cannot be unshared from it`);
      await this.patchFolderDevices(current.id, current.devices.filter((device) => device.deviceID !== deviceID), opts);
    }
    const updated = await this.folder({ folder: current.id }, opts);
    return { folder: updated.id, devices: updated.devices.map((device) => device.deviceID) };
  }

  private patchFolderDevices(folder: string, devices: Array<{ deviceID: string }>, opts: CallOptions): Promise<unknown> {
    return this.request("PATCH", `/rest/config/folders/${enc(folder)}`, { body: { devices }, ...opts });
  }

  /** SyncThing drops unknown devices from a folder's share list without a word: say so instead. */
  private async requireConfiguredDevices(deviceIds: string[], opts: CallOptions): Promise<void> {
    if (deviceIds.length === 0) return;
    const known = new Set((await this.devicesList(opts)).map((device) => device.deviceID));
    const unknown = deviceIds.filter((device) => !known.has(device));
    if (unknown.length > 0) throw new ExecutorError("ST_NOT_FOUND", `not a configured device: ${unknown.join(", ")}; add the device first`, { devices: unknown });
  }

  private async maybeGet<T>(path: string, signal: AbortSignal | undefined): Promise<T | undefined> {
    try {
      return await this.get<T>(path, undefined, signal);
    } catch (err) {
      if (err instanceof ExecutorError && err.code === "ST_NOT_FOUND") return undefined;
      throw err;
    }
  }

  private async exists(path: string, signal: AbortSignal | undefined): Promise<boolean> {
    return (await this.maybeGet(path, signal)) !== undefined;
  }
}

function checkFolderId(id: unknown, field = "folder"): string {
  if (typeof id !== "string" || id.length === 0) throw new ExecutorError("ST_INVALID_PARAMS", `${field} is required: a folder id`, { field });
  // In a URL path "." and ".." would address other endpoints (the whole config, with the API key).
  if (!SYNCTHING_FOLDER_ID.test(id)) throw new ExecutorError("ST_INVALID_PARAMS", `${field} "${id}" is not a folder id: it cannot be . or .. or contain /`, { field, value: id });
  return id;
}

/** What SyncThing dials: `dynamic` or a URL with one of its schemes (tcp://host:port, quic://…, relay://…). */
function checkAddress(address: string): void {
  if (address === "dynamic" || /^(tcp|tcp4|tcp6|quic|quic4|quic6|relay):\/\/\S+$/.test(address)) return;
  throw new ExecutorError("ST_INVALID_PARAMS", `address "${address}" is not one SyncThing can dial: use "dynamic" or tcp://HOST:PORT (also quic://, relay://)`, { field: "addresses", value: address });
}
