import type { Targets } from "../../targets/targets.js";
import type { HandlerTable } from "../handler.js";
import { SyncthingClient } from "./client.js";
import { checkFolderPath } from "./folder-roots.js";
import { withoutEncryptionPasswords } from "./redact.js";

type SyncthingHandlers = { [N in keyof HandlerTable as N extends `syncthing.${string}` ? N : never]: HandlerTable[N] };

/** Every syncthing.* command, against the named target's REST API with the key from the vault. */
export function syncthingHandlers(targets: Targets): SyncthingHandlers {
  const client = async (target: string) => {
    const { config, secret } = await targets.resolve(target, "syncthing");
    // Every folder path it is asked to share must pass checkFolderPath for this target.
    const checkPath = (path: string) => checkFolderPath({ target, path, roots: config.folder_roots, agentHome: targets.home });
    return new SyncthingClient({ url: config.url, apiKey: secret, checkFolderPath: checkPath });
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
    "syncthing.folder.add": async ({ target, ...params }, { signal }) => ({ folder: withoutEncryptionPasswords(await (await client(target)).folderAdd(params, { signal })) }),
    "syncthing.folder.share": async ({ target, ...params }, { signal }) => (await client(target)).folderShare(params, { signal }),
    "syncthing.folder.unshare": async ({ target, ...params }, { signal }) => (await client(target)).folderUnshare(params, { signal }),
    "syncthing.folder.remove": async ({ target, ...params }, { signal }) => (await client(target)).folderRemove(params, { signal }),
    "syncthing.folder.pause": async ({ target, ...params }, { signal }) => (await client(target)).folderPause(params, { signal }),
    "syncthing.folder.resume": async ({ target, ...params }, { signal }) => (await client(target)).folderResume(params, { signal }),
    "syncthing.folder.rescan": async ({ target, ...params }, { signal }) => (await client(target)).folderRescan(params, { signal }),
    "syncthing.folder.completion": async ({ target, ...params }, { signal }) => (await client(target)).folderCompletion(params, { signal }),
    "syncthing.pending.list": async ({ target }, { signal }) => (await client(target)).pendingList({ signal }),
    "syncthing.pending.accept": async ({ target, ...params }, { signal }) => {
      const st = await client(target);
      return "folder" in params ? st.pendingAcceptFolder(params, { signal }) : st.pendingAcceptDevice(params, { signal });
    },
    "syncthing.pending.reject": async ({ target, ...params }, { signal }) => (await client(target)).pendingReject(params, { signal }),
  };
}
