import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, type Child } from "./child.js";
import { freePort } from "./ports.js";

export interface SyncthingInstance {
  name: string;
  apiUrl: string;
  apiKey: string;
  deviceId: string;
  homeDir: string;
  configPath: string;
  syncAddress: string;
  /** A directory for folders of this instance. */
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const set = (xml: string, tag: string, value: string) => xml.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), `<${tag}>${value}</${tag}>`);

/**
 * A real SyncThing (Debian's 1.19.2) on loopback: GUI/API on a free port with a known key,
 * sync on another, discovery, relays, NAT, upgrades and reporting off.
 */
export async function startSyncthing(name = "st"): Promise<SyncthingInstance> {
  const root = mkdtempSync(join(tmpdir(), `botmox-syncthing-${name}-`));
  const homeDir = join(root, "home");
  const generated = spawnSync("syncthing", ["generate", "--home", homeDir, "--no-default-folder"], { encoding: "utf8" });
  if (generated.status !== 0) throw new Error(`syncthing generate failed: ${generated.stderr}`);
  const configPath = join(homeDir, "config.xml");
  const deviceId = /<device id="([A-Z0-9-]{63})"/.exec(readFileSync(configPath, "utf8"))![1]!;
  const guiPort = await freePort();
  const syncPort = await freePort();
  const apiKey = randomBytes(16).toString("hex");
  let xml = readFileSync(configPath, "utf8");
  xml = xml.replace(/(<gui [^>]*>\s*<address>)[^<]*(<\/address>)/, `$1127.0.0.1:${guiPort}$2`);
  xml = set(xml, "apikey", apiKey);
  xml = set(xml, "listenAddress", `tcp://127.0.0.1:${syncPort}`);
  for (const [tag, value] of [
    ["globalAnnounceEnabled", "false"],
    ["localAnnounceEnabled", "false"],
    ["relaysEnabled", "false"],
    ["natEnabled", "false"],
    ["startBrowser", "false"],
    ["urAccepted", "-1"],
    ["autoUpgradeIntervalH", "0"],
    ["crashReportingEnabled", "false"],
  ] as const) {
    xml = set(xml, tag, value);
  }
  writeFileSync(configPath, xml);

  let child: Child | undefined;
  const apiUrl = `http://127.0.0.1:${guiPort}`;
  const instance: SyncthingInstance = {
    name,
    apiUrl,
    apiKey,
    deviceId,
    homeDir,
    configPath,
    syncAddress: `tcp://127.0.0.1:${syncPort}`,
    dataDir: join(root, "data"),
    async start() {
      child = startChild("syncthing", ["serve", "--home", homeDir, "--no-browser", "--no-restart", "--no-default-folder"], {
        PATH: process.env.PATH,
        HOME: root,
        STNODEFAULTFOLDER: "1",
        STNOUPGRADE: "1",
        // Run as the worker itself: no monitor process that would outlive a kill.
        STMONITORED: "1",
      }, { processGroup: true }); // syncthing runs a monitor and a worker process: stop both
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        try {
          const response = await fetch(`${apiUrl}/rest/system/ping`, { headers: { "X-API-Key": apiKey } });
          if (response.ok) return;
        } catch {
          /* not up yet */
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`syncthing ${name} did not start:\n${child.output().slice(-2000)}`);
    },
    async stop() {
      await child?.kill("SIGTERM");
      child = undefined;
    },
    async [Symbol.asyncDispose]() {
      await child?.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
