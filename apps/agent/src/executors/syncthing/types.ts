/**
 * What SyncThing 1.19's REST API returns, as far as the agent reads it. Index signatures keep
 * the fields not spelled out here: results are handed on to operators unchanged.
 */

export type FolderType = "sendreceive" | "sendonly" | "receiveonly" | "receiveencrypted";
export const FOLDER_TYPES: readonly FolderType[] = ["sendreceive", "sendonly", "receiveonly", "receiveencrypted"];

/** One entry of /rest/config/devices. */
export interface DeviceConfig {
  deviceID: string;
  name: string;
  addresses: string[];
  introducer: boolean;
  paused: boolean;
  autoAcceptFolders: boolean;
  [field: string]: unknown;
}

/** A device a folder is shared with. */
export interface FolderDevice {
  deviceID: string;
  introducedBy?: string;
  encryptionPassword?: string;
  [field: string]: unknown;
}

/** One entry of /rest/config/folders. */
export interface FolderConfig {
  id: string;
  label: string;
  path: string;
  type: FolderType;
  devices: FolderDevice[];
  paused: boolean;
  rescanIntervalS: number;
  fsWatcherEnabled: boolean;
  [field: string]: unknown;
}

/** Folder states as StateChanged and /rest/db/status name them. */
export type FolderState = "idle" | "scanning" | "scan-waiting" | "syncing" | "sync-waiting" | "sync-preparing" | "cleaning" | "clean-waiting" | "error" | "unknown" | (string & {});

/** /rest/db/status: counters and state of one folder. */
export interface FolderStatus {
  state: FolderState;
  stateChanged: string;
  error: string;
  globalFiles: number;
  globalBytes: number;
  localFiles: number;
  localBytes: number;
  needFiles: number;
  needBytes: number;
  inSyncFiles: number;
  inSyncBytes: number;
  errors: number;
  pullErrors: number;
  sequence: number;
  [field: string]: unknown;
}

/** /rest/db/completion: how far a device (or all remote devices) is with a folder. */
export interface Completion {
  completion: number;
  globalBytes: number;
  needBytes: number;
  globalItems: number;
  needItems: number;
  needDeletes: number;
  sequence: number;
  [field: string]: unknown;
}

export interface Connection {
  connected: boolean;
  paused: boolean;
  address: string;
  clientVersion: string;
  type: string;
  at: string;
  startedAt: string;
  inBytesTotal: number;
  outBytesTotal: number;
  [field: string]: unknown;
}

/** /rest/system/connections, keyed by device id (this device included, never connected). */
export interface Connections {
  connections: Record<string, Connection>;
  total: { at: string; inBytesTotal: number; outBytesTotal: number; [field: string]: unknown };
}

/** /rest/system/status (the fields the agent reads). */
export interface SystemStatus {
  myID: string;
  /** RFC 3339, whole seconds. */
  startTime: string;
  uptime: number;
  [field: string]: unknown;
}

export interface SyncthingStatus {
  device_id: string;
  /** e.g. `v1.19.2-ds1` */
  version: string;
  uptime_s: number;
  /** When this SyncThing process started (RFC 3339); changes on every restart. */
  started_at: string;
}

/** A device that tried to connect and is not configured (/rest/cluster/pending/devices). */
export interface PendingDevice {
  time: string;
  name: string;
  /** Where it connected from (its source address, not necessarily where it listens). */
  address: string;
  [field: string]: unknown;
}

export interface PendingFolderOffer {
  time: string;
  label: string;
  receiveEncrypted: boolean;
  remoteEncrypted: boolean;
  [field: string]: unknown;
}

export interface Pending {
  /** Keyed by device id. */
  devices: Record<string, PendingDevice>;
  /** Keyed by folder id, then by the id of each device offering it. */
  folders: Record<string, { offeredBy: Record<string, PendingFolderOffer> }>;
}

/** One entry of /rest/events. `id` counts per subscription (event mask) and starts at 1 on every SyncThing start. */
export interface RawEvent {
  id: number;
  globalID: number;
  type: string;
  time: string;
  data: unknown;
}
