import type { Targets } from "../../targets/targets.js";
import type { HandlerTable } from "../handler.js";
import { SyncthingClient } from "./client.js";
import { checkFolderPath } from "./folder-roots.js";
import { ExecutorError } from "../executor-error.js";
import { withoutEncryptionPasswords } from "./redact.js";

type SyncthingHandlers = { [N in keyof HandlerTable as N extends `syncthing.${string}` ? N : never]: HandlerTable[N] };

/** Every syncthing.* command, against the named target's REST API with the key from the vault. */
export function syncthingHandlers(targets: Targets): SyncthingHandlers {
  const connect = async (target: string) => {
    const { config, secret } = await targets.resolve(target, "syncthing");
    return { config, client: new SyncthingClient({ url: config.url, apiKey: secret }) };
  };
  const client = async (target: string) => (await connect(target)).client;
  /** A path this target may have SyncThing share (see checkFolderPath), normalized. */
  const allowed = (target: string, config: { folder_roots?: string[] | undefined }, path: string) =>
    checkFolderPath({ target, path, roots: config.folder_roots, agentHome: targets.home });
  /**
   * A folder SyncThing may already have (wherever it was set up); its configured path must pass
   * the same check as a new one's. Undefined when it is not configured.
   */
  const configuredFolder = async (target: string, config: { folder_roots?: string[] | undefined }, client: SyncthingClient, folder: string, signal: AbortSignal) => {
    const configured = await client.folder({ folder }, { signal }).catch((err: unknown) => {
      if ((err as { code?: string }).code === "ST_NOT_FOUND") return undefined;
      throw err;
    });
    if (configured) allowed(target, config, configured.path);
    return configured;
  };

  return {
    "syncthing.status": async ({ target }, { signal }) => (await client(target)).status({ signal }),
    "syncthing.connections": async ({ target }, { signal }) => ({ ...(await (await client(target)).connections({ signal })) }),
    "syncthing.devices.list": async ({ target }, { signal }) => ({ devices: await (await client(target)).devicesList({ signal }) }),
    "syncthing.device.add": async ({ target, ...params }, { signal }) => ({ device: await (await client(target)).deviceAdd(params, { signal }) }),
    "syncthing.device.remove": async ({ target, ...params }, { signal }) => (await client(target)).deviceRemove(params, { signal }),
    "syncthing.device.pause": async ({ target, ...params }, { signal }) => (await client(target)).devicePause(params, { signal }),
    "syncthing.device.resume": async ({ target, ...params }, { signal }) => (await client(target)).deviceResume(params, { signal }),
    "syncthing.folders.list": async ({ target }, { signal }) => ({ folders: (await (await client(target)).foldersList({ signal })).map(withoutEncryptionPasswords) }),
    "syncthing.folder.status": async ({ target, ...params }, { signal }) => (await client(target)).folderStatus(params, { signal }),
    "syncthing.folder.add": async ({ target, ...params }, { signal }) => {
      const { config, client } = await connect(target);
      return { folder: withoutEncryptionPasswords(await client.folderAdd({ ...params, path: allowed(target, config, params.path) }, { signal })) };
    },
    "syncthing.folder.share": async ({ target, ...params }, { signal }) => {
      const { config, client } = await connect(target);
      if (!(await configuredFolder(target, config, client, params.folder, signal))) {
        throw new ExecutorError("ST_NOT_FOUND", `folder "${params.folder}" is not configured`, { folder: params.folder });
      }
      return client.folderShare(params, { signal });
    },
    "syncthing.folder.unshare": async ({ target, ...params }, { signal }) => (await client(target)).folderUnshare(params, { signal }),
    "syncthing.folder.remove": async ({ target, ...params }, { signal }) => (await client(target)).folderRemove(params, { signal }),
    "syncthing.folder.pause": async ({ target, ...params }, { signal }) => (await client(target)).folderPause(params, { signal }),
    "syncthing.folder.resume": async ({ target, ...params }, { signal }) => (await client(target)).folderResume(params, { signal }),
    "syncthing.folder.rescan": async ({ target, ...params }, { signal }) => (await client(target)).folderRescan(params, { signal }),
    "syncthing.folder.completion": async ({ target, ...params }, { signal }) => (await client(target)).folderCompletion(params, { signal }),
    "syncthing.pending.list": async ({ target }, { signal }) => (await client(target)).pendingList({ signal }),
    "syncthing.pending.accept": async ({ target, ...params }, { signal }) => {
      const { config, client: st } = await connect(target);
      if (!("folder" in params)) return st.pendingAcceptDevice(params, { signal });
      // A folder configured already is shared as it is (the path given is not used): its own path is what is checked.
      if (await configuredFolder(target, config, st, params.folder, signal)) return st.pendingAcceptFolder(params, { signal });
      return st.pendingAcceptFolder({ ...params, path: allowed(target, config, params.path) }, { signal });
    },
    "syncthing.pending.reject": async ({ target, ...params }, { signal }) => (await client(target)).pendingReject(params, { signal }),
  };
}
