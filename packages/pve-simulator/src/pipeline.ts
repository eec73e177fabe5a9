import type { IncomingMessage } from "node:http";
import { authenticate, type Caller, type Tokens } from "./auth.js";
import { paramError, PveError } from "./errors.js";
import { injectedFailure, type FailureRule } from "./faults.js";
import type { SimulatorTimings } from "./handlers/context.js";
import { WithTotal } from "./handlers/tasks.js";
import { checkPermissions } from "./permissions.js";
import { route } from "./routes.js";
import { matchPath, methodSchema } from "./schema.js";
import type { PveState } from "./state.js";
import type { Tasks } from "./tasks.js";
import { validateParams, type RawValue } from "./validate.js";

/** What goes back: a status line and either PVE's JSON or a plain body (pveproxy's `error()`). */
export interface Reply {
  status: number;
  message: string;
  json?: unknown;
  text?: string;
  /** 401s are answered late, as pveproxy delays them. */
  delayMs?: number;
}

export interface PipelineContext {
  tokens: Tokens;
  state: PveState;
  tasks: Tasks;
  timings: SimulatorTimings;
  failures: FailureRule[];
  authFailureDelayMs: number;
}

const MAX_POST = 64 * 1024;

/** pveproxy's `extract_params`: the body (JSON or form), then the query string on top. */
function extractParams(method: string, contentType: string | undefined, body: string, query: URLSearchParams): Record<string, RawValue> {
  let params: Record<string, RawValue> = {};
  if ((method === "PUT" || method === "POST") && body) {
    if (contentType?.split(";")[0]?.trim().toLowerCase() === "application/json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new PveError(500, `malformed JSON string, neither tag, array, object, number, string or atom, at character offset 0 (before "${body.slice(0, 20)}")\n`);
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new PveError(500, "JSON text must be an object\n");
      params = parsed as Record<string, RawValue>;
    } else {
      params = decodeUrlencoded(new URLSearchParams(body));
    }
  }
  return { ...params, ...decodeUrlencoded(query) };
}

/** A repeated key becomes an array, as pveproxy's decode_urlencoded makes it. */
function decodeUrlencoded(search: URLSearchParams): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const [key, value] of search) {
    const old = out[key];
    out[key] = old === undefined ? value : Array.isArray(old) ? [...old, value] : [old, value];
  }
  return out;
}

/** One request through pveproxy's steps, in its order. */
export async function answer(ctx: PipelineContext, req: IncomingMessage, body: string): Promise<Reply> {
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "https://pve.invalid");
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    /* uri_unescape leaves broken escapes alone */
  }
  if (!path.startsWith("/api2")) return { status: 404, message: `no such file '${path}'`, text: `no such file '${path}'` };
  const split = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(path);
  if (!split) return { status: 501, message: "no such uri", text: "no such uri" };
  const relUri = (split[2] ?? "/").replace(/\/+$/, "") || "/";
  let caller: Caller;
  try {
    caller = authenticate(req.headers.authorization, req.headers.cookie, ctx.tokens);
  } catch (err) {
    // pveproxy answers a failed login with only a status line (no body), three seconds late.
    return { status: 401, message: (err as PveError).message.trim(), delayMs: ctx.authFailureDelayMs };
  }
  if (body.length > 0 && method !== "PUT" && method !== "POST") return { status: 501, message: `Unexpected content for method '${method}'`, text: `Unexpected content for method '${method}'` };
  if (body.length > MAX_POST) return { status: 501, message: "for data too large", text: "for data too large" };
  const contentType = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (body.length > 0 && contentType && contentType !== "application/x-www-form-urlencoded" && contentType !== "application/json") {
    const text = `upload 'Content-Type '${req.headers["content-type"]}' not implemented`;
    return { status: 506, message: text, text };
  }
  if (split[1] !== "json") return { status: 501, message: `no formatter for uri ${relUri}, ${split[1]}`, text: `no formatter for uri ${relUri}, ${split[1]}` };

  try {
    const params = extractParams(method, req.headers["content-type"], body, url.searchParams);
    delete params._dc;
    const matched = matchPath(relUri);
    const schema = matched ? methodSchema(matched.template, method) : undefined;
    if (!matched || !schema) throw new PveError(501, `Method '${method} ${relUri}' not implemented`);
    const endpoint = route(`${method} ${matched.template}`);
    if (!endpoint) throw new PveError(501, `Method '${method} ${relUri}' is not modelled by the simulator`);
    for (const [name, value] of Object.entries(params)) {
      if (matched.params[name] !== undefined && matched.params[name] !== value) throw paramError({ [name]: "duplicate parameter (already defined in URI) with conflicting values!" });
    }
    const input: Record<string, RawValue> = { ...params, ...matched.params };
    if (!schema.allowtoken) throw new PveError(403, `Permission check failed (URI '${relUri}' not available with API token, need proper ticket.\n)\n`);
    checkPermissions(endpoint.permissions, caller.grant, input);
    if (schema.proxyto) {
      const node = input[schema.proxyto];
      if (node === undefined) throw paramError({ [schema.proxyto]: "proxyto parameter does not exist" });
      if (!ctx.state.hasNode(String(node))) throw new PveError(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known\n`);
    }
    const { errors, values } = validateParams(schema, input);
    if (Object.keys(errors).length > 0) throw paramError(errors);
    const injected = injectedFailure(ctx.failures, method, relUri, matched.template);
    if (injected) throw injected;
    const data = await endpoint.handler({ params: values, caller, state: ctx.state, tasks: ctx.tasks, timings: ctx.timings });
    if (data instanceof WithTotal) return { status: 200, message: "OK", json: { data: data.data, total: data.total } };
    return { status: 200, message: "OK", json: { data: data ?? null } };
  } catch (err) {
    const error = err instanceof PveError ? err : new PveError(500, `${(err as Error).message}\n`);
    return { status: error.status, message: error.message, json: { data: null, message: error.message, ...(error.errors ? { errors: error.errors } : {}) } };
  }
}
