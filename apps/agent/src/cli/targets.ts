import { readFileSync } from "node:fs";
import { SyncthingClient } from "../executors/syncthing/client.js";
import { readSyncthingConfig } from "../executors/syncthing/config-file.js";
import type { Targets } from "../targets/targets.js";

export interface TargetsArgs {
  action: string | undefined;
  kind: string | undefined;
  name: string | undefined;
  url?: string;
  apiKeyStdin?: boolean;
  fromConfig?: string;
}

/** `botmox-agent targets add|list|remove`: credentials go to the vault, never to config or output. */
export async function targetsCommand(targets: Targets, args: TargetsArgs, readStdin: () => string = () => readFileSync(0, "utf8")): Promise<unknown> {
  switch (args.action) {
    case "list":
      return { targets: targets.list() };
    case "remove": {
      const name = args.kind; // targets remove NAME
      if (!name) throw new Error("targets remove needs a NAME");
      if (!(await targets.remove(name))) throw new Error(`No target named "${name}"`);
      return { removed: name };
    }
    case "add": {
      if (args.kind !== "syncthing") throw new Error(`targets add needs a kind: syncthing (got "${args.kind ?? ""}")`);
      if (!args.name) throw new Error("targets add syncthing needs a NAME");
      let url = args.url;
      let apiKey: string | undefined;
      if (args.fromConfig) {
        const fromFile = readSyncthingConfig(args.fromConfig);
        apiKey = fromFile.apiKey;
        url ??= fromFile.url;
      } else if (args.apiKeyStdin) {
        apiKey = readStdin().split(/\r?\n/, 1)[0]?.trim();
      }
      if (!url) throw new Error("targets add syncthing needs --url http://HOST:8384 (or --from-config PATH)");
      if (!apiKey) throw new Error("targets add syncthing needs the API key: --api-key-stdin or --from-config PATH_TO_config.xml");
      // Prove the key works before storing it: a typo should fail now, not at the first command.
      const status = await new SyncthingClient({ url, apiKey, timeoutMs: 10_000 }).get<{ myID: string }>("/rest/system/status");
      await targets.add(args.name, { kind: "syncthing", url }, apiKey);
      return { added: args.name, kind: "syncthing", url, device_id: status.myID };
    }
    default:
      throw new Error('targets needs "add", "list" or "remove"');
  }
}
