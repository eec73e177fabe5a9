import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { startSyncthing } from "../test/support/syncthing.js";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const CP = join(root, "apps/control-plane/dist/cli.js");
const AGENT = join(root, "apps/agent/dist/cli.js");
const PVE_SIM = join(root, "packages/pve-simulator/dist/cli.js");
const hasSyncthing = () => spawnSync("syncthing", ["--version"], { stdio: "ignore" }).status === 0;
const stoppers: Array<() => Promise<void>> = [];
const demoDir = join(root, ".botmox", "demo");

const say = (text: string) => process.stdout.write(`${text}\n`);
const children: ChildProcess[] = [];

async function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer().once("error", () => done(false)).listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

function runJson(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<Record<string, string>> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(stdin ?? "");
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk));
    child.on("exit", (code) => (code === 0 ? done(JSON.parse(out) as Record<string, string>) : fail(new Error(`${args.join(" ")} failed:\n${err}`))));
  });
}

/** Starts a long-running child whose JSON logs go to .botmox/demo/<name>.log. */
function startService(name: string, args: string[], env: NodeJS.ProcessEnv, readyMessage: string): Promise<{ child: ChildProcess; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const logFile = createWriteStream(join(demoDir, `${name.replace(/\s+/g, "-")}.log`));
    child.stdout!.pipe(logFile);
    child.stderr!.pipe(logFile);
    let buffer = "";
    const timer = setTimeout(() => fail(new Error(`${name} did not start:\n${buffer}`)), 20_000);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes(`"msg":"${readyMessage}"`)) {
        clearTimeout(timer);
        done({ child, output: buffer });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code}:\n${buffer}`));
    });
  });
}

async function api(url: string, key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await response.json()) as Record<string, any>;
}

async function main(): Promise<void> {
  let port = Number(process.env.PORT ?? 8080);
  while (!(await portFree(port))) port++;
  const url = `http://127.0.0.1:${port}`;
  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });
  const cpEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", BOTMOX_DATA_DIR: join(demoDir, "control-plane"), DATA_BACKEND: "sqlite", LOG_LEVEL: "warn" };
  const agentEnv = {
    ...process.env,
    BOTMOX_AGENT_HOME: join(demoDir, "agent"),
    // The demo uses the encrypted file vault so it runs on headless machines without a keychain.
    BOTMOX_VAULT: "file",
    BOTMOX_VAULT_PASSPHRASE: randomBytes(16).toString("hex"),
    LOG_LEVEL: "info",
  };

  say("Bot-Mox demo: control plane (embedded SQLite store), a paired agent, a Proxmox VE simulator" + (hasSyncthing() ? " and SyncThing" : "") + "\n");
  const { tenant_id } = await runJson([CP, "tenants", "create", "--name", "Demo"], cpEnv);
  const { api_key } = await runJson([CP, "api-keys", "create", "--tenant", tenant_id!, "--role", "admin"], cpEnv);
  await startService("control plane", [CP, "serve"], { ...cpEnv, LOG_LEVEL: "info" }, "control plane listening");
  say(`  control plane   ${url}  (health: ${url}/api/v1/health, metrics: ${url}/metrics)`);

  const pairing = await api(url, api_key!, "POST", "/api/v1/agents/pairings");
  say(`  pairing code    ${pairing.code}  (${pairing.pairing_uri})`);
  const paired = await runJson([AGENT, "pair", "--server", url, "--code", pairing.code], agentEnv);
  await startService("agent", [AGENT, "run"], agentEnv, "connected to control plane");
  say(`  agent           ${paired.agent_id}  connected`);

  // Targets: the simulated Proxmox (pinned by fingerprint) and, when installed, a local SyncThing.
  let pvePort = 8006;
  while (!(await portFree(pvePort))) pvePort++;
  const pve = await startService("pve-sim", [PVE_SIM, "--port", String(pvePort), "--task-ms", "300", "--clone-ms", "1500"], process.env, "pve simulator listening");
  const pveInfo = JSON.parse(pve.output.split("\n").find((line) => line.includes("pve simulator listening"))!) as { url: string; fingerprint: string; token_id: string; token_secret: string };
  await runJson([AGENT, "targets", "add", "proxmox", "pve", "--url", pveInfo.url, "--token-id", pveInfo.token_id, "--fingerprint", pveInfo.fingerprint, "--secret-stdin"], agentEnv, pveInfo.token_secret);
  say(`  proxmox (sim)   ${pveInfo.url}  target "pve", pinned ${pveInfo.fingerprint.slice(0, 23)}…`);
  if (hasSyncthing()) {
    const syncthing = await startSyncthing("demo");
    stoppers.push(() => syncthing[Symbol.asyncDispose]());
    await runJson([AGENT, "targets", "add", "syncthing", "local", "--from-config", syncthing.configPath, "--folder-root", syncthing.dataDir], agentEnv);
    say(`  syncthing       ${syncthing.apiUrl}  target "local", folders under ${syncthing.dataDir}`);
  }
  say("");

  const run = async (name: string, params: Record<string, unknown>) => {
    const started = Date.now();
    const command = await api(url, api_key!, "POST", `/api/v1/agents/${paired.agent_id}/commands?wait=60`, { name, params });
    const shown = JSON.stringify(command.result ?? command.error);
    say(`  ${name.padEnd(18)} → ${command.status} in ${Date.now() - started} ms: ${shown.length > 140 ? `${shown.slice(0, 140)}…` : shown}`);
    return command;
  };
  await run("agent.ping", {});
  await run("agent.info", {});
  await run("proxmox.vm.list", { target: "pve" });
  const clone = await run("proxmox.vm.clone", { target: "pve", node: "pve1", vmid: 9000, name: "demo-bot-01", full: false });
  if (clone.status === "succeeded") await run("proxmox.vm.start", { target: "pve", node: "pve1", vmid: clone.result.newid });
  if (hasSyncthing()) await run("syncthing.status", { target: "local" });

  say(`\nOperator API key (admin): ${api_key}`);
  say(`Try:\n  curl -s -H "Authorization: Bearer ${api_key}" -H 'content-type: application/json' \\`);
  say(`    -d '{"name":"agent.ping"}' '${url}/api/v1/agents/${paired.agent_id}/commands?wait=5'`);
  say(`  curl -N -H "Authorization: Bearer ${api_key}" ${url}/api/v1/events`);
  say(`\nLogs: ${join(demoDir, "control-plane.log")} and ${join(demoDir, "agent.log")}`);
  say("Everything is running. Press Ctrl-C to stop it all.");
}

function stopAll(code: number): void {
  for (const stop of stoppers) void stop();
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  const deadline = setTimeout(() => process.exit(code), 5_000);
  deadline.unref();
  Promise.all(children.map((child) => (child.exitCode === null ? new Promise((done) => child.once("exit", done)) : null))).then(() => process.exit(code));
}

process.once("SIGINT", () => {
  say("\nStopping…");
  stopAll(0);
});
process.once("SIGTERM", () => stopAll(0));
main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  stopAll(1);
});
