import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ProxmoxClient } from "../executors/proxmox/client.js";
import { normalizeFingerprint, probeFingerprint } from "../executors/proxmox/tls.js";
import { promptHidden } from "./secret-prompt.js";
import { SyncthingClient } from "../executors/syncthing/client.js";
import { readSyncthingConfig } from "../executors/syncthing/config-file.js";
import { normalizeFolderRoot } from "../executors/syncthing/folder-roots.js";
import type { Targets } from "../targets/targets.js";
import { UsageError } from "./usage-error.js";

export interface TargetsArgs {
  action: string | undefined;
  kind: string | undefined;
  name: string | undefined;
  url?: string;
  apiKeyStdin?: boolean;
  fromConfig?: string;
  tokenId?: string;
  fingerprint?: string;
  caFile?: string;
  secretStdin?: boolean;
  folderRoots?: string[];
}

/** `botmox-agent targets add|list|remove`: credentials go to the vault, never to config or output. */
export async function targetsCommand(targets: Targets, args: TargetsArgs, readStdin: () => string = () => readFileSync(0, "utf8")): Promise<unknown> {
  switch (args.action) {
    case "list":
      return { targets: targets.list() };
    case "remove": {
      const name = args.kind; // targets remove NAME
      if (!name) throw new UsageError("targets remove needs a NAME");
      if (!(await targets.remove(name))) throw new Error(`No target named "${name}"`);
      return { removed: name };
    }
    case "add": {
      if (args.kind === "proxmox") return addProxmox(targets, args, readStdin);
      if (args.kind !== "syncthing") throw new UsageError(`targets add needs a kind: proxmox or syncthing (got "${args.kind ?? ""}")`);
      if (!args.name) throw new UsageError("targets add syncthing needs a NAME");
      targets.assertNameFor(args.name, "syncthing");
      let url = args.url;
      let apiKey: string | undefined;
      if (args.fromConfig) {
        const configXml = args.fromConfig;
        const fromFile = readFlagFile("--from-config", configXml, () => readSyncthingConfig(configXml));
        apiKey = fromFile.apiKey;
        url ??= fromFile.url;
      } else if (args.apiKeyStdin) {
        apiKey = readStdin().split(/\r?\n/, 1)[0]?.trim();
      }
      if (!url) throw new UsageError("targets add syncthing needs --url http://HOST:8384 (or --from-config PATH)");
      checkUrlFlag(url, "http://HOST:8384");
      if (!apiKey) throw new Error("targets add syncthing needs the API key: --api-key-stdin or --from-config PATH_TO_config.xml");
      const folderRoots = (args.folderRoots ?? []).map((root) => {
        const normal = normalizeFolderRoot(root);
        if (!normal) throw new UsageError(`--folder-root must be an absolute directory path (got "${root}")`);
        return normal;
      });
      // Prove the key works before storing it: a typo should fail now, not at the first command.
      const status = await new SyncthingClient({ url, apiKey, timeoutMs: 10_000 }).get<{ myID: string }>("/rest/system/status");
      const { replaced } = await targets.add(args.name, { kind: "syncthing", url, ...(folderRoots.length > 0 ? { folder_roots: folderRoots } : {}) }, apiKey);
      return { added: args.name, replaced, kind: "syncthing", url, device_id: status.myID, folder_roots: folderRoots };
    }
    default:
      throw new UsageError('targets needs "add", "list" or "remove"');
  }
}

async function addProxmox(targets: Targets, args: TargetsArgs, readStdin: () => string): Promise<unknown> {
  if (!args.name) throw new UsageError("targets add proxmox needs a NAME");
  if (!args.url) throw new UsageError("targets add proxmox needs --url https://HOST:8006");
  if (!args.tokenId) throw new UsageError("targets add proxmox needs --token-id USER@REALM!TOKENID");
  if (args.fingerprint && args.caFile) throw new UsageError("Give --fingerprint or --ca, not both");
  checkUrlFlag(args.url, "https://HOST:8006");
  // Read before the secret is asked for: a wrong path should not cost typing it.
  const caFile = args.caFile ? resolve(args.caFile) : undefined;
  const caPem = caFile ? readFlagFile("--ca", caFile, () => readFileSync(caFile, "utf8")) : undefined;
  targets.assertNameFor(args.name, "proxmox");
  if (!args.fingerprint && !args.caFile) {
    // TLS verification is never switched off: show what the server presents and how to pin it.
    const presented = await probeFingerprint(args.url);
    throw new Error(
      `${args.url} presents a certificate this agent cannot verify (Proxmox ships self-signed ones).\n` +
        `Its SHA-256 fingerprint is ${presented}\n` +
        `Compare it with the one in the Proxmox UI (node → System → Certificates), then pin it:\n` +
        `  botmox-agent targets add proxmox ${args.name} --url ${args.url} --token-id '${args.tokenId}' --fingerprint ${presented}\n` +
        `or trust your own CA with --ca FILE.`,
    );
  }
  const secret = args.secretStdin ? readStdin().split(/\r?\n/, 1)[0]?.trim() : await promptHidden(`API token secret for ${args.tokenId}: `);
  if (!secret) throw new Error("The API token secret is empty");
  const client = new ProxmoxClient({
    url: args.url,
    tokenId: args.tokenId,
    secret,
    ...(args.fingerprint ? { fingerprint: args.fingerprint } : {}),
    ...(caPem ? { caPem } : {}),
  });
  try {
    // Prove TLS and the token before storing anything.
    const version = await client.call<{ version: string }>("GET", "version");
    const { replaced } = await targets.add(args.name, { kind: "proxmox", url: args.url, token_id: args.tokenId, ...(args.fingerprint ? { fingerprint: normalizeFingerprint(args.fingerprint) } : {}), ...(caFile ? { ca_file: caFile } : {}) }, secret);
    return { added: args.name, replaced, kind: "proxmox", url: args.url, token_id: args.tokenId, version: version.version };
  } finally {
    client.close();
  }
}

function checkUrlFlag(url: string, example: string): void {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") throw new UsageError(`--url must be a URL such as ${example}, not "${url}"`);
}

/** A file named on the command line, read with the flag named when it cannot be. */
function readFlagFile<T>(flag: string, path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR") throw new Error(`${flag} ${path} cannot be read (${code})`);
    throw err;
  }
}
