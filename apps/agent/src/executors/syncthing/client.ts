import { ExecutorError } from "../executor-error.js";

export interface SyncthingClientOptions {
  url: string;
  apiKey: string;
  timeoutMs?: number;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** SyncThing's REST API (X-API-Key), with its plain-text errors turned into ST_* codes. */
export class SyncthingClient {
  private readonly base: string;

  constructor(private readonly options: SyncthingClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
  }

  async request<T = unknown>(method: Method, path: string, input: { query?: Record<string, string | undefined>; body?: unknown; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<T> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(input.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const timeout = AbortSignal.timeout(input.timeoutMs ?? this.options.timeoutMs ?? 15_000);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { "X-API-Key": this.options.apiKey, ...(input.body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
        signal: input.signal ? AbortSignal.any([input.signal, timeout]) : timeout,
      });
    } catch (err) {
      if (input.signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ExecutorError("ST_UNREACHABLE", `SyncThing at ${this.base} is not reachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { url: this.base }, true);
    }
    const text = await response.text();
    if (!response.ok) throw errorFor(response.status, text.trim(), method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = unknown>(path: string, query?: Record<string, string | undefined>, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
  }
}

function errorFor(status: number, body: string, method: string, path: string): ExecutorError {
  const details = { status, body: body.slice(0, 500), request: `${method} ${path}` };
  if (status === 401 || status === 403) return new ExecutorError("ST_AUTH", `SyncThing refused the API key (${status} ${body || "Forbidden"})`, details);
  if (status === 404 || /no such (folder|device)|not found|unknown (folder|device)/i.test(body)) return new ExecutorError("ST_NOT_FOUND", `SyncThing: ${body || "not found"}`, details);
  if (status === 400) return new ExecutorError("ST_INVALID_PARAMS", `SyncThing rejected the request: ${body}`, details);
  return new ExecutorError("ST_ERROR", `SyncThing answered ${status}: ${body}`, details, status >= 500);
}
