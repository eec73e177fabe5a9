import { request } from "node:https";
import { DEFAULT_TOKENS, startPveSimulator, type PveSimulator, type SimulatorOptions } from "./server.js";

export const ROOT = "root@pam!botmox";
export const AUDITOR = "auditor@pve!readonly";

/** A simulator that closes itself (`await using`), with fast tasks unless told otherwise. */
export async function simulator(options: SimulatorOptions = {}): Promise<PveSimulator & AsyncDisposable> {
  const sim = await startPveSimulator({ ...options, timings: { powerMs: 30, taskMs: 30, cloneMs: 60, ...options.timings } });
  return Object.assign(sim, { [Symbol.asyncDispose]: () => sim.close() });
}

export interface Answer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, when there is one. */
  json: { data?: any; message?: string; errors?: Record<string, string>; total?: number } | undefined;
}

/** A minimal HTTPS client that trusts the simulator's CA and verifies the certificate normally. */
export function api(sim: PveSimulator, tokenId: string | null = ROOT, secret?: string) {
  const authorization = tokenId === null ? undefined : `PVEAPIToken=${tokenId}=${secret ?? sim.tokens[tokenId]?.secret ?? DEFAULT_TOKENS[tokenId]?.secret ?? "none"}`;
  const raw = (method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        `${sim.url}${path}`,
        { method, ca: sim.caPem, headers: { ...(authorization ? { authorization } : {}), ...(options.body !== undefined ? { "content-length": Buffer.byteLength(options.body) } : {}), ...options.headers } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            let json: Answer["json"];
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers, text, json });
          });
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
  const form = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)])).toString();
  const withBody = (method: string) => (path: string, params: Record<string, string | number> = {}) =>
    raw(method, `/api2/json${path}`, { body: form(params), headers: { "content-type": "application/x-www-form-urlencoded" } });
  return {
    raw,
    get: (path: string, query: Record<string, string | number> = {}) => raw("GET", `/api2/json${path}${Object.keys(query).length ? `?${form(query)}` : ""}`),
    delete: (path: string, query: Record<string, string | number> = {}) => raw("DELETE", `/api2/json${path}${Object.keys(query).length ? `?${form(query)}` : ""}`),
    post: withBody("POST"),
    put: withBody("PUT"),
    json: (method: "POST" | "PUT", path: string, body: unknown) => raw(method, `/api2/json${path}`, { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  };
}

export type Api = ReturnType<typeof api>;

/** Polls a task until it stops and returns its status and log. */
export async function finished(client: Api, node: string, upid: string, timeoutMs = 10_000): Promise<{ exitstatus: string; log: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const path = `/nodes/${node}/tasks/${encodeURIComponent(upid)}`;
  while (Date.now() < deadline) {
    const status = await client.get(`${path}/status`);
    if (status.json?.data?.status === "stopped") {
      const log = await client.get(`${path}/log`, { limit: 0 });
      return { exitstatus: status.json.data.exitstatus, log: (log.json?.data as Array<{ t: string }>).map((line) => line.t) };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
}
