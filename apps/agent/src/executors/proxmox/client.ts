import { Agent, request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_UPSTREAM_ANSWER_BYTES, readCapped } from "../answer-limit.js";
import { ExecutorError } from "../executor-error.js";
import { CONFLICT, connectionError, pveError } from "./errors.js";
import { Semaphore } from "./semaphore.js";
import { PinnedAgent } from "./tls.js";

export interface ProxmoxClientOptions {
  url: string;
  tokenId: string;
  secret: string;
  /** Trust exactly this leaf certificate (SHA-256). */
  fingerprint?: string;
  /** Or trust certificates signed by this CA. */
  caPem?: string;
  maxInFlight?: number;
  requestTimeoutMs?: number;
}

type Params = Record<string, string | number | boolean | undefined>;
export interface TaskOutcome {
  upid: string;
  exitstatus: string;
  duration_ms: number;
}

const TASK_POLL_MS = 250;

/** Proxmox VE API over HTTPS with an API token; TLS is verified by CA or by pinned fingerprint, never off. */
export class ProxmoxClient {
  /** Reads share kept-alive connections. */
  private readonly agent: Agent;
  /**
   * Each change gets a connection of its own: when one breaks after connecting, the request
   * may have reached PVE, and it is then never repeated. (A kept-alive connection that PVE closed
   * while idle would make every such break ambiguous.)
   */
  private readonly changeAgent: Agent;
  private readonly base: URL;
  private readonly limit: Semaphore;

  constructor(private readonly options: ProxmoxClientOptions) {
    if (!options.fingerprint && !options.caPem) throw new ExecutorError("PVE_TLS_MISMATCH", "A Proxmox target needs a pinned fingerprint or a CA file");
    this.base = new URL("/api2/json/", options.url);
    const agent = (keepAlive: boolean) => (options.fingerprint ? new PinnedAgent(options.fingerprint, { keepAlive }) : new Agent({ keepAlive, ca: options.caPem! }));
    this.agent = agent(true);
    this.changeAgent = agent(false);
    this.limit = new Semaphore(options.maxInFlight ?? 8);
  }

  close(): void {
    this.agent.destroy();
    this.changeAgent.destroy();
  }

  call<T = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
    return this.limit.run(() => this.send<T>(method, path, params, signal), signal);
  }

  /** Retries lock contention and unreachability with backoff and jitter until the signal ends it. */
  async retrying<T>(operation: () => Promise<T>, signal: AbortSignal, onRetry?: (error: ExecutorError, attempt: number) => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (err) {
        if (!(err instanceof ExecutorError) || !err.retryable || signal.aborted) throw err;
        onRetry?.(err, attempt);
        const ceiling = Math.min(5_000, 100 * 2 ** attempt);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), undefined, { signal }).catch(() => {
          throw err; // the command's time ran out while waiting: report the last real error
        });
      }
    }
  }

  /**
   * Polls a task until it stops. As for PVE, exitstatus OK or "WARNINGS: n" is success (the work
   * was done; the warnings are in the task log); anything else is PVE_TASK_FAILED with the log tail.
   */
  async waitForTask(node: string, upid: string, signal: AbortSignal, progress?: (message: string) => void): Promise<TaskOutcome> {
    try {
      return await this.pollTask(node, upid, signal, progress);
    } catch (err) {
      // Stopped waiting (timeout, cancel, shutdown): the task goes on in PVE, and whoever looks needs its id.
      if (signal.aborted && !(err instanceof ExecutorError)) {
        throw new ExecutorError("PVE_TASK_RUNNING", `Stopped waiting for Proxmox task ${upid}; it may still be running (proxmox.task.status tells)`, { node, upid });
      }
      throw err;
    }
  }

  private async pollTask(node: string, upid: string, signal: AbortSignal, progress?: (message: string) => void): Promise<TaskOutcome> {
    const started = Date.now();
    const path = `nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`;
    let lastReport = 0;
    for (;;) {
      const status = await this.retrying(() => this.call<{ status: string; exitstatus?: string; type: string }>("GET", `${path}/status`, {}, signal), signal);
      if (status.status === "stopped") {
        const exitstatus = status.exitstatus ?? "unknown";
        const duration_ms = Date.now() - started;
        if (exitstatus === "OK" || /^WARNINGS: \d+$/.test(exitstatus)) return { upid, exitstatus, duration_ms };
        const log = await this.call<Array<{ n: number; t: string }>>("GET", `${path}/log`, { start: 0, limit: 5000 }, signal).catch(() => []);
        const tail = log.slice(-20).map((line) => line.t);
        const locked = /is locked|can't lock file/i.test(exitstatus);
        const code = locked ? "PVE_LOCKED" : CONFLICT.test(exitstatus) ? "PVE_CONFLICT" : "PVE_TASK_FAILED";
        throw new ExecutorError(code, `Proxmox task ${status.type} failed: ${exitstatus}`, { upid, exitstatus, log_tail: tail }, locked);
      }
      if (progress && Date.now() - lastReport >= 1_000) {
        lastReport = Date.now();
        progress(`waiting for ${status.type} task (${Math.round((Date.now() - started) / 1000)} s)`);
      }
      await sleep(TASK_POLL_MS, undefined, { signal });
    }
  }

  private send<T>(method: string, path: string, params: Params, signal?: AbortSignal): Promise<T> {
    const relative = path.replace(/^\//, "");
    const url = new URL(relative, this.base);
    // A "." or ".." segment would be resolved away: DELETE …/snapshot/.. is DELETE of the VM itself.
    if (url.pathname !== this.base.pathname + relative) {
      return Promise.reject(new ExecutorError("INVALID_PARAMS", `Refused a Proxmox API path with a "." or ".." segment: ${relative}`));
    }
    const defined = Object.entries(params).filter(([, value]) => value !== undefined) as Array<[string, string | number | boolean]>;
    const form = new URLSearchParams(defined.map(([key, value]): [string, string] => [key, typeof value === "boolean" ? (value ? "1" : "0") : String(value)]));
    const hasBody = method === "POST" || method === "PUT";
    if (!hasBody) form.forEach((value, key) => url.searchParams.set(key, value));
    const body = hasBody ? form.toString() : undefined;
    const described = `${method} ${url.pathname}`;
    const change = method !== "GET";
    return new Promise<T>((resolve, reject) => {
      // Once connected, PVE may have received the request: a change is then not safe to repeat.
      let connected = false;
      const failed = (err: Error) => {
        if (err instanceof ExecutorError || signal?.aborted) return reject(err);
        reject(connectionError(this.options.url, err, change && connected ? described : undefined));
      };
      const req = request(
        url,
        {
          method,
          agent: change ? this.changeAgent : this.agent,
          timeout: this.options.requestTimeoutMs ?? 30_000,
          headers: {
            authorization: `PVEAPIToken=${this.options.tokenId}=${this.options.secret}`,
            ...(body !== undefined ? { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const tooLarge = () => new ExecutorError("PVE_ERROR", `Proxmox answered ${described} with more than ${MAX_UPSTREAM_ANSWER_BYTES} bytes; the answer was dropped`, { request: described });
          readCapped(res, tooLarge).then((text) => {
            const status = res.statusCode ?? 0;
            const answer = readAnswer(text);
            if (status >= 200 && status < 300) return resolve(answer.data as T);
            reject(pveError(status, (answer.message ?? res.statusMessage ?? `HTTP ${status}`).trim(), answer.errors, described));
          }, failed);
        },
      );
      req.once("socket", (socket) => {
        if (socket.connecting) socket.once("connect", () => (connected = true));
        else connected = true;
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })));
      req.on("error", failed);
      req.end(body);
    });
  }
}

/**
 * PVE's JSON envelope, taking only what has the expected shape: a body that is not JSON (PVE
 * answers some errors as plain text), `null`, or a message that is not text reads as absent.
 */
function readAnswer(text: string): { data?: unknown; message?: string; errors?: Record<string, string> } {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    return {};
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return {};
  const { data, message, errors } = json as Record<string, unknown>;
  return {
    data,
    ...(typeof message === "string" ? { message } : {}),
    ...(typeof errors === "object" && errors !== null && !Array.isArray(errors) ? { errors: fieldErrors(errors as Record<string, unknown>) } : {}),
  };
}

/** Per-parameter errors as text; a value that is not text is shown as JSON (bounded), never trusted to print itself. */
function fieldErrors(errors: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors).map(([key, value]) => {
      if (typeof value === "string") return [key, value];
      let shown: string;
      try {
        shown = JSON.stringify(value)?.slice(0, 200) ?? String(value);
      } catch {
        shown = "(unreadable)";
      }
      return [key, shown];
    }),
  );
}
