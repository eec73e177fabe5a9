import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { authenticate, type Tokens } from "./auth.js";
import { generateCertificate } from "./certificate.js";
import type { Handler, SimulatorTimings } from "./handlers/context.js";
import { clusterHandlers } from "./handlers/cluster.js";
import { snapshotHandlers } from "./handlers/snapshots.js";
import { taskHandlers } from "./handlers/tasks.js";
import { vmConfigHandlers } from "./handlers/vm-config.js";
import { vmLifecycleHandlers } from "./handlers/vm-lifecycle.js";
import { vmPowerHandlers } from "./handlers/vm-power.js";
import { API_SCHEMA, matchPath } from "./schema.js";
import { PveError, PveState } from "./state.js";
import { Tasks } from "./tasks.js";
import { validateParams } from "./validate.js";

const HANDLERS: Record<string, Handler> = { ...clusterHandlers, ...taskHandlers, ...vmPowerHandlers, ...vmLifecycleHandlers, ...vmConfigHandlers, ...snapshotHandlers };

export interface FailureRule {
  method?: string;
  /** Matched against the path below /api2/json. */
  path: RegExp;
  status: number;
  message: string;
  /** How many requests fail before the rule stops applying (default: all). */
  times?: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  tokens?: Tokens;
  timings?: Partial<SimulatorTimings>;
  /** Added before every answer. */
  latencyMs?: number;
  failures?: FailureRule[];
}

export interface PveSimulator {
  url: string;
  port: number;
  fingerprint256: string;
  caPem: string;
  certPem: string;
  tokens: Tokens;
  state: PveState;
  tasks: Tasks;
  failures: FailureRule[];
  close(): Promise<void>;
}

export const DEFAULT_TOKENS: Tokens = {
  "root@pam!botmox": { secret: "6f1c3a52-8d0e-4b9a-9e77-3c2d1b0a9f11", privileges: "*" },
  "auditor@pve!readonly": { secret: "0b8e2d4c-1a3f-4e5d-8c7b-6a9f0e1d2c3b", privileges: ["VM.Audit", "Sys.Audit"] },
};

export async function startPveSimulator(options: SimulatorOptions = {}): Promise<PveSimulator> {
  const certificate = generateCertificate();
  const state = new PveState();
  const tasks = new Tasks();
  const tokens = structuredClone(options.tokens ?? DEFAULT_TOKENS);
  const failures = options.failures ?? [];
  const timings: SimulatorTimings = { powerMs: 150, cloneMs: 400, cloneFileLockMs: 120, taskMs: 150, ...options.timings };

  const server: Server = createServer({ key: certificate.keyPem, cert: certificate.certPem }, (req, res) => {
    readBody(req)
      .then((body) => answer(req, body))
      .then(
        (data) => reply(res, 200, "OK", { data }),
        (err: unknown) => {
          const error = err instanceof PveError ? err : new PveError(500, (err as Error).message);
          reply(res, error.status, error.message, { data: null, message: `${error.message}\n`, ...(error.errors ? { errors: error.errors } : {}) });
        },
      );
  });

  async function answer(req: IncomingMessage, body: string): Promise<unknown> {
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const url = new URL(req.url ?? "/", "https://pve");
    const method = (req.method ?? "GET").toUpperCase();
    if (!url.pathname.startsWith("/api2/json/")) throw new PveError(501, `Unsupported format '${url.pathname.split("/")[2] ?? ""}'`);
    const path = url.pathname.slice("/api2/json".length).replace(/\/+$/, "");
    const { tokenId, grant } = authenticate(req.headers.authorization, tokens);
    const matched = matchPath(path);
    const schema = matched ? API_SCHEMA[matched.template]?.[method as "GET"] : undefined;
    if (!matched || !schema) throw new PveError(501, `Method '${method} ${path}' not implemented`);
    const input = { ...Object.fromEntries(url.searchParams), ...parseBody(req.headers["content-type"], body), ...matched.params };
    const { errors, values } = validateParams(schema, input);
    if (Object.keys(errors).length > 0) throw new PveError(400, "Parameter verification failed.", errors);
    const failure = failures.find((rule) => (!rule.method || rule.method === method) && rule.path.test(path) && (rule.times === undefined || rule.times > 0));
    if (failure) {
      if (failure.times !== undefined) failure.times--;
      throw new PveError(failure.status, failure.message);
    }
    const handler = HANDLERS[`${method} ${matched.template}`];
    if (!handler) throw new PveError(501, `Method '${method} ${path}' not implemented by the simulator`);
    return handler({ params: values, grant, user: tokenId, state, tasks, timings });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    fingerprint256: certificate.fingerprint256,
    caPem: certificate.caPem,
    certPem: certificate.certPem,
    tokens,
    state,
    tasks,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** JSON or form-encoded, as pveproxy accepts; values become strings the schema then types. */
function parseBody(contentType: string | undefined, body: string): Record<string, string> {
  if (!body) return {};
  if (contentType?.includes("application/json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new PveError(400, "Parameter verification failed.", { body: "invalid JSON" });
    }
    return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([key, value]) => [key, typeof value === "boolean" ? (value ? "1" : "0") : String(value)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function reply(res: ServerResponse, status: number, message: string, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, message.replace(/[\r\n]+/g, " ").slice(0, 200), { "content-type": "application/json;charset=UTF-8", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
