import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Tokens } from "./auth.js";
import { generateCertificate } from "./certificate.js";
import { answerLost, type FailureRule, type LostAnswerRule } from "./faults.js";
import { DEFAULT_TIMINGS, type SimulatorTimings } from "./handlers/context.js";
import { answer, type Reply } from "./pipeline.js";
import { PveState } from "./state.js";
import { sleep, Tasks, type TaskFailureRule, type TaskWarningRule } from "./tasks.js";

export interface SimulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** API tokens and what they may do (default DEFAULT_TOKENS). */
  tokens?: Tokens;
  timings?: Partial<SimulatorTimings>;
  /** Added to every answer. */
  latencyMs?: number;
  /** Up to this much more, at random. */
  latencyJitterMs?: number;
  /** API calls that fail as PVE would have failed them (the array stays live: push rules at any time). */
  failures?: FailureRule[];
  /** Tasks that end with an error exitstatus instead of doing their work (live as well). */
  taskFailures?: TaskFailureRule[];
  /** Tasks that do their work and end in "WARNINGS: n" (live as well). */
  taskWarnings?: TaskWarningRule[];
  /** API calls carried out whose answer never arrives: the connection drops instead (live as well). */
  lostAnswers?: LostAnswerRule[];
  /** How late a 401 is answered (pveproxy: 3000 ms; default 0 to keep tests fast). */
  authFailureDelayMs?: number;
  /** Extra DNS names for the certificate (it always covers localhost, 127.0.0.1 and ::1). */
  hostnames?: string[];
}

export interface PveSimulator {
  /** `https://HOST:PORT` (the API lives under /api2/json). */
  url: string;
  port: number;
  /** SHA-256 of the leaf certificate, `AA:BB:…` like X509Certificate.fingerprint256. */
  fingerprint256: string;
  /** The private CA that signed the leaf (what a `--ca` file would contain). */
  caPem: string;
  certPem: string;
  /** Live: add, change or delete tokens while running. */
  tokens: Tokens;
  state: PveState;
  tasks: Tasks;
  failures: FailureRule[];
  taskFailures: TaskFailureRule[];
  taskWarnings: TaskWarningRule[];
  lostAnswers: LostAnswerRule[];
  timings: SimulatorTimings;
  close(): Promise<void>;
}

export const DEFAULT_TOKENS: Tokens = {
  "root@pam!botmox": { secret: "6f1c3a52-8d0e-4b9a-9e77-3c2d1b0a9f11", privileges: "*" },
  "auditor@pve!readonly": { secret: "0b8e2d4c-1a3f-4e5d-8c7b-6a9f0e1d2c3b", privileges: ["VM.Audit", "Sys.Audit", "Datastore.Audit"] },
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** Status line, headers and body the way pve-api-daemon writes them (errors close the connection). */
function send(res: ServerResponse, reply: Reply): void {
  const statusText = (reply.message.split("\n")[0] ?? "").replace(/[^\x20-\x7e]/g, "?");
  const now = new Date().toUTCString();
  const headers: Record<string, string | number> = { "Cache-Control": "max-age=0", Pragma: "no-cache", Expires: now, Server: "pve-api-daemon/3.0" };
  if (reply.status >= 400) headers.Connection = "close";
  const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? "");
  if (reply.json !== undefined) headers["Content-Type"] = "application/json;charset=UTF-8";
  if (body) headers["Content-Length"] = Buffer.byteLength(body);
  res.writeHead(reply.status, statusText, headers);
  res.end(body);
}

/** Starts the HTTPS API on a fresh self-signed certificate; the state starts from the seed cluster. */
export async function startPveSimulator(options: SimulatorOptions = {}): Promise<PveSimulator> {
  const certificate = generateCertificate(options.hostnames);
  const state = new PveState();
  state.fingerprints.pve1 = certificate.fingerprint256;
  const taskFailures = options.taskFailures ?? [];
  const taskWarnings = options.taskWarnings ?? [];
  const tasks = new Tasks(taskFailures, taskWarnings);
  const tokens = structuredClone(options.tokens ?? DEFAULT_TOKENS);
  const failures = options.failures ?? [];
  const lostAnswers = options.lostAnswers ?? [];
  const timings: SimulatorTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const context = { tokens, state, tasks, timings, failures, authFailureDelayMs: options.authFailureDelayMs ?? 0 };

  const server: Server = createServer({ key: certificate.keyPem, cert: certificate.certPem }, (req, res) => {
    readBody(req)
      .then(async (body) => {
        const latency = (options.latencyMs ?? 0) + Math.random() * (options.latencyJitterMs ?? 0);
        if (latency > 0) await sleep(latency);
        const reply = await answer(context, req, body);
        if (reply.delayMs) await sleep(reply.delayMs);
        const path = new URL(req.url ?? "/", "https://pve.invalid").pathname.replace(/^\/api2\/json/, "");
        if (answerLost(lostAnswers, (req.method ?? "GET").toUpperCase(), path)) return void req.socket.destroy();
        send(res, reply);
      })
      .catch((err: unknown) => send(res, { status: 500, message: String((err as Error).message), text: String((err as Error).message) }));
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `https://${urlHost}:${port}`,
    port,
    fingerprint256: certificate.fingerprint256,
    caPem: certificate.caPem,
    certPem: certificate.certPem,
    tokens,
    state,
    tasks,
    failures,
    taskFailures,
    taskWarnings,
    lostAnswers,
    timings,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
