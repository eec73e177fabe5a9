/**
 * `npm run bench`: round-trip latency through the full stack against the bare path, and
 * durable command throughput with 50 agents. Prints a table; with --json, one JSON object last.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import { AGENT_CLI, CP_CLI } from "../support/paths.js";
import { run } from "../support/child.js";
import { jsonPoster, percentile } from "./http-client.js";
import { cpuPerUnit } from "./cpu-usage.js";

const json = process.argv.includes("--json");
const AGENTS = Number(process.env.BENCH_AGENTS ?? 50);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 256);
const THROUGHPUT_S = Number(process.env.BENCH_SECONDS ?? 10);
const RTT_SAMPLES = Number(process.env.BENCH_RTT_SAMPLES ?? 1000);
// V8 keeps optimising the full stack for a few thousand requests; latency is measured once it is steady.
const WARMUP_WINDOW = 500;
const WARMUP_MAX = 10_000;
const STEADY_WITHIN = 0.05;
const log = (text: string) => (json ? process.stderr : process.stdout).write(`${text}\n`);
const children: ChildProcess[] = [];
const dirs: string[] = [];

function spawnReady(args: string[], env: NodeJS.ProcessEnv, ready: (text: string) => boolean): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready(out)) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}: ${out}`)));
  });
}

type Post = (path: string, body: unknown) => Promise<{ status: number; body: any }>;

/**
 * Round trips one at a time after warming up: windows of WARMUP_WINDOW requests until two in a
 * row have medians within STEADY_WITHIN of each other (at most WARMUP_MAX requests).
 */
async function measureRtt(post: Post, path: string, body: unknown, check: (r: any) => void): Promise<{ samples: number[]; warmup: number }> {
  const timed = async (count: number) => {
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      const response = await post(path, body);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      check(response.body);
    }
    return samples.sort((a, b) => a - b);
  };
  let warmup = 0;
  let previous: number | undefined;
  while (warmup < WARMUP_MAX) {
    const median = percentile(await timed(WARMUP_WINDOW), 50);
    warmup += WARMUP_WINDOW;
    if (previous !== undefined && Math.abs(median - previous) <= STEADY_WITHIN * previous) break;
    previous = median;
  }
  return { samples: await timed(RTT_SAMPLES), warmup };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "botmox-bench-"));
  dirs.push(dataDir);
  const port = await freePort();
  const cpEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", BOTMOX_DATA_DIR: join(dataDir, "cp"), LOG_LEVEL: "warn" };
  const url = `http://127.0.0.1:${port}`;
  const tenant = JSON.parse((await run(process.execPath, [CP_CLI, "tenants", "create", "--name", "bench"], cpEnv)).stdout).tenant_id as string;
  const apiKey = JSON.parse((await run(process.execPath, [CP_CLI, "api-keys", "create", "--tenant", tenant, "--role", "operator"], cpEnv)).stdout).api_key as string;
  // BENCH_PROFILE_DIR=dir writes CPU profiles of the control plane and the agents there.
  const profile = process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const cp = await spawnReady([...profile, CP_CLI, "serve"], { ...cpEnv, LOG_LEVEL: "info" }, (out) => out.includes("control plane listening"));
  const client = jsonPoster(url, { authorization: `Bearer ${apiKey}` }, IN_FLIGHT + 8);

  log("pairing one agent process for round trips…");
  const rttHome = join(dataDir, "rtt-agent");
  const agentEnv = { ...process.env, BOTMOX_AGENT_HOME: rttHome, BOTMOX_VAULT: "file", BOTMOX_VAULT_PASSPHRASE: "bench", LOG_LEVEL: "info" };
  const pairing = await client.post("/api/v1/agents/pairings", {});
  const paired = await run(process.execPath, [AGENT_CLI, "pair", "--server", url, "--code", pairing.body.code], agentEnv);
  const rttAgentId = JSON.parse(paired.stdout).agent_id as string;
  const rttAgent = await spawnReady([...profile, AGENT_CLI, "run"], agentEnv, (out) => out.includes("connected to control plane"));

  log("measuring round trips…");
  const echo = { name: "agent.echo", params: { data: "x", delay_ms: 0 } };
  let full = { samples: [] as number[], warmup: 0 };
  const rttCpu = await cpuPerUnit({ control_plane: cp.pid, agent: rttAgent.pid }, async () => {
    full = await measureRtt(client.post, `/api/v1/agents/${rttAgentId}/commands?wait=10`, echo, (r) => {
      if (r.status !== "succeeded") throw new Error(`command did not succeed: ${JSON.stringify(r)}`);
    });
    return full.warmup + full.samples.length;
  });

  const basePort = await freePort();
  const benchDir = fileURLToPath(new URL(".", import.meta.url));
  const tsx = ["--import", "tsx"];
  const server = spawnReady([...tsx, join(benchDir, "baseline.ts"), "server", String(basePort)], process.env, (out) => out.includes("ready"));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const echoClient = spawn(process.execPath, [...tsx, join(benchDir, "baseline.ts"), "client", String(basePort)], { stdio: "ignore" });
  children.push(echoClient);
  const baseServer = await server;
  const baseClient = jsonPoster(`http://127.0.0.1:${basePort}`, {}, 4);
  let base = { samples: [] as number[], warmup: 0 };
  const baseCpu = await cpuPerUnit({ server: baseServer.pid, echo_client: echoClient.pid }, async () => {
    base = await measureRtt(baseClient.post, "/", echo, (r) => {
      if (r.name !== "agent.echo") throw new Error("baseline echo broken");
    });
    return base.warmup + base.samples.length;
  });
  baseClient.close();

  log(`starting ${AGENTS} agents…`);
  let farmOutput = "";
  const farm = await spawnReady([...profile, ...tsx, join(benchDir, "agent-farm.ts"), url, apiKey, String(AGENTS), join(dataDir, "farm")], process.env, (out) => {
    farmOutput = out;
    return out.includes('{"agents"');
  });
  const agents = (JSON.parse(farmOutput.slice(farmOutput.indexOf('{"agents"')).split("\n")[0]!) as { agents: string[] }).agents;
  await waitFor(async () => ((await (await fetch(`${url}/api/v1/health`)).json()) as { agents_connected: number }).agents_connected === AGENTS + 1);

  log(`measuring throughput: ${AGENTS} agents, ${IN_FLIGHT} in flight, ${THROUGHPUT_S} s…`);
  let completed = 0;
  let failed = 0;
  const deadline = Date.now() + THROUGHPUT_S * 1000;
  const startedAt = Date.now();
  const throughputCpu = await cpuPerUnit({ control_plane: cp.pid, agents: farm.pid }, async () => {
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, worker) => {
      let n = worker;
      while (Date.now() < deadline) {
        const agentId = agents[n++ % agents.length]!;
        const response = await client.post(`/api/v1/agents/${agentId}/commands?wait=30`, echo);
        if (response.body.status === "succeeded") completed++;
        else if (failed++ < 3) console.error("not succeeded:", response.status, JSON.stringify(response.body).slice(0, 600));
      }
    }),
  );
    return completed;
  });
  const elapsed = (Date.now() - startedAt) / 1000;
  client.close();

  const result = {
    rtt_p50_ms: round(percentile(full.samples, 50)),
    rtt_p99_ms: round(percentile(full.samples, 99)),
    baseline_rtt_p50_ms: round(percentile(base.samples, 50)),
    rtt_ratio: round(percentile(full.samples, 50) / percentile(base.samples, 50)),
    throughput_cmds_per_s: Math.round(completed / elapsed),
    agents: AGENTS,
  };
  log("");
  log("| metric | value | target |");
  log("| --- | --- | --- |");
  log(`| rtt p50 (full stack, agent.echo via POST ?wait; ${full.warmup} warm-up) | ${result.rtt_p50_ms} ms | |`);
  log(`| rtt p99 | ${result.rtt_p99_ms} ms | |`);
  log(`| baseline rtt p50 (bare http → ws → echo; ${base.warmup} warm-up) | ${result.baseline_rtt_p50_ms} ms | |`);
  log(`| rtt ratio | ${result.rtt_ratio} | ≤ 2.0 |`);
  log(`| throughput (${AGENTS} agents, ${IN_FLIGHT} in flight, ${THROUGHPUT_S} s) | ${result.throughput_cmds_per_s} cmds/s${failed ? ` (${failed} not succeeded)` : ""} | ≥ 3000 |`);
  const cpu = (perUnit: Record<string, number>) => Object.entries(perUnit).map(([name, us]) => `${name} ${us}`).join(", ");
  log("");
  log("CPU per command (µs): where the time goes");
  log(`  round trips: ${cpu(rttCpu)}`);
  log(`  baseline:    ${cpu(baseCpu)}`);
  log(`  throughput:  ${cpu(throughputCpu)}`);
  if (json) console.log(JSON.stringify(result));
}

const round = (value: number) => Math.round(value * 1000) / 1000;

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting for agents to connect");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function cleanup(): Promise<void> {
  await Promise.all(
    children.map((child) =>
      child.exitCode === null && child.signalCode === null
        ? new Promise((resolve) => {
            child.once("exit", resolve);
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
          })
        : null,
    ),
  );
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

// However the bench ends (an error, Ctrl-C, a kill from a timeout), what it started ends with it.
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => process.exit(130));

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    console.error(err);
    return cleanup().then(() => process.exit(1));
  },
);
