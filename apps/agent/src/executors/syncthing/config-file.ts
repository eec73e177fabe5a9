import { readFileSync } from "node:fs";

export interface GuiConfig {
  apiKey: string;
  /** `<gui><address>` as written, e.g. `127.0.0.1:8384`, `0.0.0.0:8384` or `[::]:8384`. */
  address: string;
  /** Whether the GUI serves HTTPS (`<gui tls="true">`). */
  tls: boolean;
  /** Where this machine reaches the API: wildcard listen addresses become loopback. */
  url: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescapeXml = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) =>
    entity.startsWith("#x") || entity.startsWith("#X")
      ? String.fromCodePoint(parseInt(entity.slice(2), 16))
      : entity.startsWith("#")
        ? String.fromCodePoint(Number(entity.slice(1)))
        : ENTITIES[entity.toLowerCase()]!,
  );

/** `0.0.0.0:8384` → `127.0.0.1:8384`, `[::]:8384` and `:8384` likewise: a listen address is not a destination. */
function reachable(address: string): string {
  const stripped = address.replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
  if (/^:\d+$/.test(stripped)) return `127.0.0.1${stripped}`;
  return stripped.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
}

/**
 * The API key and GUI address from a SyncThing config.xml, read with regular expressions over
 * the `<gui>` element (no XML library: the element is flat and SyncThing writes it itself).
 */
export function readApiKeyFromConfig(pathToConfigXml: string): GuiConfig {
  const xml = readFileSync(pathToConfigXml, "utf8");
  const gui = /<gui\b([^>]*)>([\s\S]*?)<\/gui>/.exec(xml);
  if (!gui) throw new Error(`${pathToConfigXml} has no <gui> element; is it a SyncThing config.xml?`);
  const [, attributes = "", body = ""] = gui;
  const apiKey = unescapeXml(/<apikey>([^<]*)<\/apikey>/.exec(body)?.[1]?.trim() ?? "");
  if (!apiKey) throw new Error(`${pathToConfigXml} has no API key in <gui><apikey>; generate one in SyncThing's settings (GUI > API Key)`);
  const address = unescapeXml(/<address>([^<]*)<\/address>/.exec(body)?.[1]?.trim() || "127.0.0.1:8384");
  const tls = /\btls="true"/.test(attributes) || /^https:\/\//i.test(address);
  if (address.startsWith("/") || /^unix:/i.test(address)) {
    throw new Error(`${pathToConfigXml}: the GUI listens on a UNIX socket (${address}); give the agent an http(s)://HOST:PORT address instead`);
  }
  return { apiKey, address, tls, url: `${tls ? "https" : "http"}://${reachable(address)}` };
}

/** The URL and key to reach the SyncThing whose config.xml this is. */
export function readSyncthingConfig(pathToConfigXml: string): { url: string; apiKey: string } {
  const { url, apiKey } = readApiKeyFromConfig(pathToConfigXml);
  return { url, apiKey };
}
