import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { AgentHandle } from "./botmox.js";
import { startChild, type Child } from "./child.js";
import { freePort } from "./ports.js";

export interface StartSyncthingOptions {
  /** Shown in the device name, temp directory and failure messages. */
  name?: string;
  /** Parent directory of the instance's files (default: the OS temp directory). */
  dir?: string;
  /** `<options>` values to set on top of the test defaults, e.g. `{ reconnectionIntervalS: 5 }`. */
  options?: Record<string, string | number | boolean>;
  /** Attributes of `<defaults><folder>` (what folders added over REST start from), e.g. `{ fsWatcherEnabled: false }`. */
  folderDefaults?: Record<string, string | number | boolean>;
}

export interface SyncthingInstance {
  name: string;
  /** `http://127.0.0.1:<guiPort>` */
  apiUrl: string;
  apiKey: string;
  deviceId: string;
  homeDir: string;
  configPath: string;
  guiPort: number;
  syncPort: number;
  /** `tcp://127.0.0.1:<syncPort>`: what other devices dial. */
  syncAddress: string;
  /** An empty directory for this instance's folders. */
  dataDir: string;
  /** Calls the REST API with the key; resolves parsed JSON (or undefined), rejects on non-2xx with status and body. */
  rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Everything SyncThing logged since the last start. */
  output(): string;
  /** Starts it again after stop() or kill() (same home, ports and key) and waits until the API answers. */
  start(): Promise<void>;
  /** SIGTERM and wait for exit (SIGKILL after 10 s). Files stay: start() resumes. */
  stop(): Promise<void>;
  /** stop() then start(). SyncThing's event ids begin again at 1. */
  restart(): Promise<void>;
  /** SIGKILL: a crash, no clean shutdown. */
  kill(): Promise<void>;
  /** Kills the process and removes its files (unless `dir` was given). */
  [Symbol.asyncDispose](): Promise<void>;
}

const ROOT_PREFIX = "botmox-syncthing-";
const SYNCTHING = "syncthing";

/**
 * Options for tests: loopback only, nothing phoning home, and fast to reconnect.
 * reconnectionIntervalS: SyncThing dials configured devices on this timer (default 60 s), so a
 * device that was down is found again within a second or two instead of a minute.
 */
const TEST_OPTIONS: Record<string, string | number | boolean> = {
  globalAnnounceEnabled: false,
  localAnnounceEnabled: false,
  relaysEnabled: false,
  natEnabled: false,
  startBrowser: false,
  urAccepted: -1,
  autoUpgradeIntervalH: 0,
  crashReportingEnabled: false,
  setLowPriority: false,
  reconnectionIntervalS: 1,
  progressUpdateIntervalS: 1,
};

/**
 * Folders added over REST start from `<defaults><folder>`: a rescan every 10 s instead of an hour
 * and a watcher that reports changes after 1 s instead of 10, so a test that writes a file sees
 * it picked up quickly even without an explicit rescan.
 */
const TEST_FOLDER_DEFAULTS: Record<string, string | number | boolean> = { rescanIntervalS: 10, fsWatcherEnabled: true, fsWatcherDelayS: 1 };

const live = new Set<SyncthingInstance>();
// A test that times out never reaches its `await using`: dispose what it left when the file ends.
// (A worker killed outright takes its SyncThings along: parent-death signal, see spawnSyncthing.)
if (process.env.VITEST) afterAll(() => Promise.all([...live].map((st) => st[Symbol.asyncDispose]())).then(() => undefined));

const xmlEscape = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Sets `<tag>` inside `<options>`, adding it when this version's generated config lacks it. */
function setOption(xml: string, tag: string, value: string): string {
  return xml.replace(/<options>([\s\S]*?)<\/options>/, (_, body: string) => {
    const element = new RegExp(`<${tag}>[^<]*</${tag}>`);
    const next = element.test(body) ? body.replace(element, `<${tag}>${xmlEscape(value)}</${tag}>`) : `${body}    <${tag}>${xmlEscape(value)}</${tag}>\n    `;
    return `<options>${next}</options>`;
  });
}

function setFolderDefault(xml: string, attribute: string, value: string): string {
  return xml.replace(/(<defaults>\s*<folder\b)([^>]*)>/, (_, open: string, attrs: string) => {
    const pattern = new RegExp(`\\s${attribute}="[^"]*"`);
    const next = pattern.test(attrs) ? attrs.replace(pattern, ` ${attribute}="${xmlEscape(value)}"`) : `${attrs} ${attribute}="${xmlEscape(value)}"`;
    return `${open}${next}>`;
  });
}

function configure(xml: string, input: { name: string; guiPort: number; syncPort: number; apiKey: string; options: Record<string, string | number | boolean>; folderDefaults: Record<string, string | number | boolean> }): string {
  let next = xml
    .replace(/(<gui\b[^>]*>[\s\S]*?<address>)[^<]*(<\/address>)/, `$1127.0.0.1:${input.guiPort}$2`)
    .replace(/(<gui\b[^>]*>[\s\S]*?<apikey>)[^<]*(<\/apikey>)/, `$1${input.apiKey}$2`)
    // The first <device> is this one; its name is what the others see.
    .replace(/(<device id="[^"]+" name=")[^"]*"/, `$1${xmlEscape(input.name)}"`);
  next = setOption(next, "listenAddress", `tcp://127.0.0.1:${input.syncPort}`);
  for (const [tag, value] of Object.entries(input.options)) next = setOption(next, tag, String(value));
  for (const [attribute, value] of Object.entries(input.folderDefaults)) next = setFolderDefault(next, attribute, String(value));
  return next;
}

/**
 * Removes instance directories of test workers that were killed outright (their SyncThing died
 * with them, but nobody removed the files): no live process in `pid`, untouched for ten minutes.
 */
function removeAbandoned(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((entry) => entry.startsWith(ROOT_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const root = join(parent, entry);
    try {
      const pid = Number(readFileSync(join(root, "pid"), "utf8").trim());
      if (pid > 0 && isAlive(pid)) continue;
    } catch {
      /* no pid file: judge by age alone */
    }
    try {
      const touched = [root, join(root, "home"), join(root, "home", "config.xml")].filter(existsSync).map((path) => statSync(path).mtimeMs);
      if (Date.now() - Math.max(...touched) > 600_000) rmSync(root, { recursive: true, force: true });
    } catch {
      /* removed meanwhile */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const hasSetpriv = (() => {
  let known: boolean | undefined;
  return () => (known ??= spawnSync("setpriv", ["--version"]).status === 0);
})();

/**
 * Runs `syncthing serve` as the process itself (STMONITORED: no monitor parent that would
 * outlive a kill or restart the worker behind the test's back). Through util-linux's setpriv
 * when present, for a parent-death signal: a test worker killed outright takes SyncThing along.
 */
function spawnSyncthing(homeDir: string, root: string): Child {
  const args = ["serve", "--home", homeDir, "--no-browser", "--no-restart", "--no-default-folder", "--no-upgrade", "--logflags=0"];
  const env = {
    PATH: process.env.PATH,
    HOME: root,
    STNODEFAULTFOLDER: "1",
    STNOUPGRADE: "1",
    STNORESTART: "1",
    STMONITORED: "1",
    // Skips the start-up benchmark that picks a SHA-256 implementation (about a second).
    STHASHING: "standard",
  };
  return hasSetpriv()
    ? startChild("setpriv", ["--pdeathsig", "KILL", "--", SYNCTHING, ...args], env, { processGroup: true })
    : startChild(SYNCTHING, args, env, { processGroup: true });
}

/**
 * A real SyncThing (Debian's 1.19.2) on loopback: GUI/API on a free port with a known key, sync
 * on another, discovery, relays, NAT, upgrades and reporting off, no default folder.
 * Runs as root too (SyncThing only warns). `startSyncthing("a")` is short for `{ name: "a" }`.
 */
export async function startSyncthing(input: string | StartSyncthingOptions = {}): Promise<SyncthingInstance> {
  const options = typeof input === "string" ? { name: input } : input;
  const name = options.name ?? "st";
  const parent = options.dir ?? tmpdir();
  removeAbandoned(parent);
  mkdirSync(parent, { recursive: true });
  const root = mkdtempSync(join(parent, `${ROOT_PREFIX}${name.replace(/[^a-z0-9_-]/gi, "_")}-`));
  const homeDir = join(root, "home");
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  const generated = spawnSync(SYNCTHING, ["generate", "--home", homeDir, "--no-default-folder"], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: root } });
  if (generated.status !== 0) throw new Error(`syncthing generate failed (${generated.status}): ${generated.stderr}${generated.stdout}`);
  const configPath = join(homeDir, "config.xml");
  const generatedXml = readFileSync(configPath, "utf8");
  const deviceId = /<device id="([A-Z0-9-]{63})"/.exec(generatedXml)?.[1];
  if (!deviceId) throw new Error(`no device id in the generated ${configPath}`);
  const apiKey = randomBytes(16).toString("hex");

  let child: Child | undefined;
  let disposed = false;
  const instance: SyncthingInstance = {
    name,
    apiUrl: "",
    apiKey,
    deviceId,
    homeDir,
    configPath,
    guiPort: 0,
    syncPort: 0,
    syncAddress: "",
    dataDir,
    async rest<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(instance.apiUrl + path, {
        method,
        headers: { "X-API-Key": apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path} on syncthing ${name}: ${response.status} ${text.trim()}`);
      return (text.trim() ? JSON.parse(text) : undefined) as T;
    },
    output: () => child?.output() ?? "",
    async start() {
      if (child) throw new Error(`syncthing ${name} is already running`);
      child = spawnSyncthing(homeDir, root);
      writeFileSync(join(root, "pid"), String(child.process.pid ?? ""));
      const started = child;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (started.process.exitCode !== null || started.process.signalCode !== null) break;
        try {
          // 1.19 has no /rest/noauth/health (it answers 403 "CSRF Error"): ping with the key.
          const response = await fetch(`${instance.apiUrl}/rest/system/ping`, { headers: { "X-API-Key": apiKey }, signal: AbortSignal.timeout(2_000) });
          if (response.ok) return;
        } catch {
          /* not listening yet */
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child = undefined;
      await started.kill("SIGKILL");
      throw new Error(`syncthing ${name} did not start:\n${started.output().slice(-3000)}`);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running) return;
      const forced = setTimeout(() => {
        process.stderr.write(`syncthing ${name} did not stop within 10 s of SIGTERM; killing it\n`);
        void running.kill("SIGKILL");
      }, 10_000);
      await running.kill("SIGTERM");
      clearTimeout(forced);
    },
    async restart() {
      await instance.stop();
      await instance.start();
    },
    async kill() {
      const running = child;
      child = undefined;
      await running?.kill("SIGKILL");
    },
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      live.delete(instance);
      await instance.kill();
      if (!options.dir) rmSync(root, { recursive: true, force: true });
    },
  };
  live.add(instance);

  // A free port can be taken by someone else before SyncThing binds it: try fresh ones.
  for (let attempt = 1; ; attempt++) {
    const guiPort = await freePort();
    const syncPort = await freePort();
    Object.assign(instance, { guiPort, syncPort, apiUrl: `http://127.0.0.1:${guiPort}`, syncAddress: `tcp://127.0.0.1:${syncPort}` });
    writeFileSync(
      configPath,
      configure(generatedXml, {
        name,
        guiPort,
        syncPort,
        apiKey,
        options: { ...TEST_OPTIONS, ...options.options },
        folderDefaults: { ...TEST_FOLDER_DEFAULTS, ...options.folderDefaults },
      }),
    );
    try {
      await instance.start();
      return instance;
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) {
        await instance[Symbol.asyncDispose]();
        throw err;
      }
    }
  }
}

interface Connections {
  connections: Record<string, { connected: boolean }>;
}

/** Whether `from` has a live connection to `to`'s device. */
export async function isConnected(from: SyncthingInstance, to: SyncthingInstance): Promise<boolean> {
  const { connections } = await from.rest<Connections>("GET", "/rest/system/connections");
  return connections[to.deviceId]?.connected === true;
}

/**
 * Makes `a` and `b` know each other by their explicit loopback addresses and (unless `wait` is
 * false) waits until both see the connection.
 */
export async function connectSyncthing(a: SyncthingInstance, b: SyncthingInstance, options: { wait?: boolean; timeoutMs?: number } = {}): Promise<void> {
  await a.rest("POST", "/rest/config/devices", { deviceID: b.deviceId, name: b.name, addresses: [b.syncAddress] });
  await b.rest("POST", "/rest/config/devices", { deviceID: a.deviceId, name: a.name, addresses: [a.syncAddress] });
  if (options.wait === false) return;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!((await isConnected(a, b)) && (await isConnected(b, a)))) {
    if (Date.now() > deadline) throw new Error(`syncthing ${a.name} and ${b.name} did not connect:\n${a.output().slice(-1500)}\n---\n${b.output().slice(-1500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `botmox-agent targets add syncthing NAME --from-config …` with these folder roots (the instance's data directory by default). */
export function addSyncthingTarget(agent: AgentHandle, name: string, st: SyncthingInstance, roots: string[] = [st.dataDir]) {
  return agent.cli(["targets", "add", "syncthing", name, "--from-config", st.configPath, ...roots.flatMap((root) => ["--folder-root", root])]);
}
