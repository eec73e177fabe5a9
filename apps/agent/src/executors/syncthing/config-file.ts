import { readFileSync } from "node:fs";

/** The GUI address and API key from a SyncThing config.xml (the <gui> element), without an XML parser. */
export function readSyncthingConfig(path: string): { url: string; apiKey: string } {
  const xml = readFileSync(path, "utf8");
  const gui = /<gui\b([^>]*)>([\s\S]*?)<\/gui>/.exec(xml);
  if (!gui) throw new Error(`${path} has no <gui> section; is it a SyncThing config.xml?`);
  const apiKey = /<apikey>([^<]+)<\/apikey>/.exec(gui[2]!)?.[1]?.trim();
  const address = /<address>([^<]+)<\/address>/.exec(gui[2]!)?.[1]?.trim();
  if (!apiKey) throw new Error(`${path} has no API key in <gui><apikey>; set one in SyncThing's GUI settings`);
  const tls = /\btls="true"/.test(gui[1]!);
  const hostPort = (address ?? "127.0.0.1:8384").replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
  return { url: `${tls ? "https" : "http"}://${hostPort}`, apiKey };
}
