#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseFailureSpec, parseTaskFailureSpec } from "./faults.js";
import { DEFAULT_TOKENS, startPveSimulator } from "./server.js";

const USAGE = `Usage: botmox-pve-sim [options]
  --port N                  listen port (default 8006)
  --host ADDR               listen address (default 127.0.0.1)
  --hostname NAME           extra DNS name for the certificate (repeatable)
  --ca-out FILE             write the CA certificate (for clients that trust a CA file)
  --latency-ms N            added to every answer (default 0)
  --latency-jitter-ms N     up to N ms more, at random (default 0)
  --power-ms N              start/stop/… task duration (default: --task-ms)
  --task-ms N               other task durations (default 1000)
  --clone-ms N              clone task duration (default 3000)
  --clone-setup-lock-ms N   contention injection: hold the clone source's lock exclusively
                            this long before forking (default 0: PVE 9 takes a shared lock)
  --auth-failure-delay-ms N answer 401s this late (pveproxy: 3000; default 0)
  --fail SPEC               failing API calls: '[METHOD ]PATH_REGEX=STATUS:MESSAGE[;times=N][;p=P]' (repeatable)
  --fail-task SPEC          failing tasks: 'TYPE[:VMID]=EXITSTATUS[;times=N][;p=P]' (repeatable)

Prints one JSON line (url, fingerprint, a token id and secret) and runs until SIGINT/SIGTERM.`;

const { values } = parseArgsOrExit({
  options: {
    port: { type: "string", default: "8006" },
    host: { type: "string", default: "127.0.0.1" },
    hostname: { type: "string", multiple: true, default: [] },
    "ca-out": { type: "string" },
    "latency-ms": { type: "string", default: "0" },
    "latency-jitter-ms": { type: "string", default: "0" },
    "power-ms": { type: "string" },
    "task-ms": { type: "string", default: "1000" },
    "clone-ms": { type: "string", default: "3000" },
    "clone-setup-lock-ms": { type: "string", default: "0" },
    "auth-failure-delay-ms": { type: "string", default: "0" },
    fail: { type: "string", multiple: true, default: [] },
    "fail-task": { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h" },
  },
});
/** A mistyped flag or a missing value is a usage error (exit 2), not a stack trace. */
function parseArgsOrExit<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const number = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} needs a non-negative number\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
};

try {
  const taskMs = number("task-ms");
  const simulator = await startPveSimulator({
    port: number("port"),
    host: values.host,
    hostnames: values.hostname,
    latencyMs: number("latency-ms"),
    latencyJitterMs: number("latency-jitter-ms"),
    authFailureDelayMs: number("auth-failure-delay-ms"),
    timings: { powerMs: values["power-ms"] === undefined ? taskMs : number("power-ms"), taskMs, cloneMs: number("clone-ms"), cloneFileLockMs: number("clone-setup-lock-ms") },
    failures: values.fail.map(parseFailureSpec),
    taskFailures: values["fail-task"].map(parseTaskFailureSpec),
  });
  if (values["ca-out"]) writeFileSync(values["ca-out"], simulator.caPem);
  const [tokenId, grant] = Object.entries(DEFAULT_TOKENS)[0]!;
  console.log(JSON.stringify({ msg: "pve simulator listening", url: simulator.url, fingerprint: simulator.fingerprint256, token_id: tokenId, token_secret: grant.secret }));
  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`botmox-pve-sim: ${(err as Error).message}`);
  process.exit(1);
}
