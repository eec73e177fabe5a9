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
  /** For commands that give SyncThing a folder path: the client, once the path is one this target may share. */
  const clientForPath = async (target: string, path: string) => {
    const { config, client } = await connect(target);
    return { client, path: checkFolderPath({ target, path, roots: config.folder_roots, agentHome: targets.home }) };
  };
  /**
   * For commands that share a folder SyncThing may already have (wherever it was set up): its
   * configured path must pass the same check as a new one's. Undefined when it is not configured.
   */
  const checkConfiguredFolder = async (target: string, folder: string, signal: AbortSignal) => {
    const { config, client } = await connect(target);
    const configured = await client.folder({ folder }, { signal }).catch((err: unknown) => {
      if ((err as { code?: string }).code === "ST_NOT_FOUND") return undefined;
      throw err;
    });
    if (configured) checkFolderPath({ target, path: configured.path, roots: config.folder_roots, agentHome: targets.home });
    return { client, configured };
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
      const { client, path } = await clientForPath(target, params.path);
      return { folder: withoutEncryptionPasswords(await client.folderAdd({ ...params, path }, { signal })) };
    },
    "syncthing.folder.share": async ({ target, ...params }, { signal }) => {
      const { client, configured } = await checkConfiguredFolder(target, params.folder, signal);
      if (!configured) throw new ExecutorError("ST_NOT_FOUND", `folder "${params.folder}" is not configured`, { folder: params.folder });
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
      if (!("folder" in params)) return (await client(target)).pendingAcceptDevice(params, { signal });
      // A folder configured already is shared as it is (the path given is not used): its own path is what is checked.
      const { client: st, configured } = await checkConfiguredFolder(target, params.folder, signal);
      if (configured) return st.pendingAcceptFolder(params, { signal });
      const { path } = await clientForPath(target, params.path);
      return st.pendingAcceptFolder({ ...params, path }, { signal });
    },
    "syncthing.pending.reject": async ({ target, ...params }, { signal }) => (await client(target)).pendingReject(params, { signal }),
  };
}
