#!/usr/bin/env node
import { parseArgs } from "node:util";
import { DEFAULT_TOKENS, startPveSimulator } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8006" },
    host: { type: "string", default: "127.0.0.1" },
    "latency-ms": { type: "string", default: "0" },
    "task-ms": { type: "string", default: "1000" },
    "clone-ms": { type: "string", default: "3000" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: botmox-pve-sim [--port 8006] [--host 127.0.0.1] [--latency-ms 0] [--task-ms 1000] [--clone-ms 3000]");
  process.exit(0);
}

const taskMs = Number(values["task-ms"]);
const simulator = await startPveSimulator({
  port: Number(values.port),
  host: values.host,
  latencyMs: Number(values["latency-ms"]),
  timings: { powerMs: taskMs, taskMs, cloneMs: Number(values["clone-ms"]), cloneFileLockMs: Math.min(500, taskMs) },
});
const [tokenId, grant] = Object.entries(DEFAULT_TOKENS)[0]!;
console.log(JSON.stringify({ msg: "pve simulator listening", url: `https://${values.host}:${simulator.port}`, fingerprint: simulator.fingerprint256, token_id: tokenId, token_secret: grant.secret }));
const stop = () => simulator.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
