import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { REPO_ROOT } from "./paths.js";
import { freePort } from "./ports.js";

export const SUPABASE_DIR = join(REPO_ROOT, "supabase");
export const MIGRATIONS_DIR = join(SUPABASE_DIR, "migrations");
const BOOTSTRAP = join(REPO_ROOT, "test/support/supabase-bootstrap.sql");

export interface Postgres {
  host: string;
  port: number;
  /** `supabase_admin`, the cluster's superuser: bootstrap and extensions only. */
  superuserUrl: string;
  /** `postgres`, as on Supabase: owns the schema, not a superuser, BYPASSRLS. Migrations, seed and pgTAP run as it. */
  databaseUrl: string;
  /** `authenticator`, the login PostgREST uses. */
  authenticatorUrl: string;
  /** HS256 secret for the JWTs PostgREST accepts (test/support/postgrest.ts). */
  jwtSecret: string;
  /** Runs SQL as `postgres` (or the superuser); resolves psql's unaligned, tuples-only output, rejects with its errors. */
  psql(sql: string, options?: { superuser?: boolean }): Promise<string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartPostgresOptions {
  /** Apply supabase/migrations (default true). */
  migrate?: boolean;
  /** Apply supabase/seed.sql after the migrations (default false). */
  seed?: boolean;
}

/** Directory of the PostgreSQL 15 server binaries: Debian's layout, else what pg_config says. */
export function pgBinDir(): string {
  const debian = "/usr/lib/postgresql/15/bin";
  if (existsSync(join(debian, "postgres"))) return debian;
  const config = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const dir = config.status === 0 ? config.stdout.trim() : "";
  if (dir && existsSync(join(dir, "postgres"))) return dir;
  throw new Error("PostgreSQL 15 server binaries not found (install postgresql-15; scripts/setup.sh --test does)");
}

/** The tools' environment: nothing from the caller's PG* variables leaks in. */
function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", PGCONNECT_TIMEOUT: "10", ...extra };
}

/** Runs psql against `url`; resolves stdout, rejects with stderr. `files` and `commands` run in order, in one transaction when asked. */
export function psqlAt(url: string, input: { sql?: string; files?: string[]; commands?: string[]; singleTransaction?: boolean; vars?: Record<string, string> }): Promise<string> {
  const args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url];
  if (input.singleTransaction) args.push("--single-transaction");
  for (const [name, value] of Object.entries(input.vars ?? {})) args.push("-v", `${name}=${value}`);
  for (const file of input.files ?? []) args.push("-f", file);
  for (const command of input.commands ?? []) args.push("-c", command);
  if (input.sql !== undefined) args.push("-f", "-");
  return new Promise((resolve, reject) => {
    const child = spawn(join(pgBinDir(), "psql"), args, { env: toolEnv(), stdio: [input.sql === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout.trimEnd()) : reject(new Error(`psql exited ${code}: ${stderr.trim()}`))));
    if (child.stdin) {
      // psql stopping early (ON_ERROR_STOP) is reported by its exit code, not as a broken pipe.
      child.stdin.on("error", () => undefined);
      child.stdin.end(input.sql);
    }
  });
}

/**
 * Applies supabase/migrations/<14-digit version>_<name>.sql in order, each in one transaction,
 * skipping versions already recorded in supabase_migrations.schema_migrations (the table the
 * Supabase CLI keeps). Resolves the versions it applied.
 */
export async function applyMigrations(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  await psqlAt(url, {
    sql: `set client_min_messages = warning;
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (version text primary key, statements text[], name text);`,
  });
  const done = new Set((await psqlAt(url, { sql: "select version from supabase_migrations.schema_migrations" })).split("\n").filter(Boolean));
  const applied: string[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".sql")).sort()) {
    const match = /^(\d{14})_(\w+)\.sql$/.exec(file);
    if (!match) throw new Error(`${file}: migration files are named <14-digit timestamp>_<name>.sql`);
    const [, version, name] = match as unknown as [string, string, string];
    if (done.has(version)) continue;
    await psqlAt(url, {
      singleTransaction: true,
      files: [join(dir, file)],
      commands: [`insert into supabase_migrations.schema_migrations (version, name) values ('${version}', '${name}')`],
    }).catch((error: Error) => {
      throw new Error(`migration ${file} failed: ${error.message}`);
    });
    applied.push(version);
  }
  return applied;
}

/** Clusters not stopped yet, stopped after the test file whatever happened to its own cleanup. */
const live = new Set<() => Promise<void>>();
// A test that times out never reaches its `await using`: stop what it left when the file ends.
// (A worker killed outright is covered by the postmaster's parent-death signal, see spawnPostmaster.)
if (process.env.VITEST) afterAll(() => Promise.all([...live].map((stop) => stop())).then(() => undefined));

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("no `postgres` system user (install postgresql-15)");
  return { uid, gid };
}

async function waitReady(port: number, postmaster: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (postmaster.exitCode !== null) throw new Error(`postgres exited ${postmaster.exitCode}:\n${log()}`);
    const ready = spawnSync(join(pgBinDir(), "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)], { env: toolEnv() });
    if (ready.status === 0) return;
    if (Date.now() > deadline) throw new Error(`postgres not ready within 30 s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ROOT_PREFIX = "botmox-pg-";

/**
 * A worker killed outright stops its server (parent-death signal) but cannot remove the
 * directory. Removes such leftovers: initialised, no server running (no postmaster.pid), and
 * untouched for ten minutes, so a cluster another test file is setting up right now is never one.
 */
function removeAbandonedClusters(): void {
  for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith(ROOT_PREFIX))) {
    const root = join(tmpdir(), name);
    try {
      const idle = Date.now() - statSync(root).mtimeMs > 600_000;
      if (idle && existsSync(join(root, "data", "PG_VERSION")) && !existsSync(join(root, "data", "postmaster.pid"))) rmSync(root, { recursive: true, force: true });
    } catch {
      /* removed meanwhile */
    }
  }
}

/**
 * Starts the postmaster as the `postgres` system user. Through util-linux's setpriv when present:
 * it drops to that user, sets a parent-death signal (SIGINT, fast shutdown) so that a test worker
 * killed outright does not leave a server behind, and execs the server, so signals sent to the
 * child reach the postmaster itself (runuser would stay in between as a parent process).
 */
function spawnPostmaster(command: string[], uid: number, gid: number, cwd: string): ChildProcess {
  const options = { env: toolEnv(), cwd, stdio: ["ignore", "ignore", "pipe"] as ["ignore", "ignore", "pipe"] };
  if (spawnSync("setpriv", ["--version"]).status === 0) {
    return spawn("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--pdeathsig", "INT", "--", ...command], options);
  }
  return spawn(command[0]!, command.slice(1), { ...options, uid, gid });
}

/**
 * A throwaway PostgreSQL 15 cluster on 127.0.0.1 with the Supabase-style bootstrap and (by
 * default) the project's migrations. Everything lives in one temporary directory, removed on stop.
 * The server binaries run as the `postgres` system user (initdb refuses root).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<Postgres> {
  removeAbandonedClusters();
  const root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
  const { uid, gid } = postgresUser();
  chownSync(root, uid, gid);
  const data = join(root, "data");
  const passwords = { supabase_admin: randomBytes(18).toString("base64url"), postgres: randomBytes(18).toString("base64url"), authenticator: randomBytes(18).toString("base64url") };
  const passwordFile = join(root, "initdb-password");
  writeFileSync(passwordFile, passwords.supabase_admin, { mode: 0o600 });
  chownSync(passwordFile, uid, gid);
  const asPostgres = { uid, gid, env: toolEnv(), cwd: root };
  const initdb = spawnSync(join(pgBinDir(), "initdb"), ["-D", data, "-U", "supabase_admin", `--pwfile=${passwordFile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], { ...asPostgres, encoding: "utf8" });
  if (initdb.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${initdb.stderr || initdb.stdout}`);
  }
  rmSync(passwordFile);

  const port = await freePort();
  const settings = { listen_addresses: "127.0.0.1", port: String(port), unix_socket_directories: root, fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "50", log_min_messages: "warning" };
  const postmaster = spawnPostmaster([join(pgBinDir(), "postgres"), "-D", data, ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])], uid, gid, root);
  let log = "";
  postmaster.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString("utf8")).slice(-8000)));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (postmaster.exitCode === null && postmaster.signalCode === null) {
        const exited = new Promise((resolve) => postmaster.once("exit", resolve));
        postmaster.kill("SIGINT"); // fast shutdown: roll back sessions, exit
        const timer = setTimeout(() => postmaster.kill("SIGQUIT"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(stop);
      rmSync(root, { recursive: true, force: true });
    })());
  live.add(stop);

  const url = (user: keyof typeof passwords) => `postgresql://${user}:${passwords[user]}@127.0.0.1:${port}/postgres`;
  const pg: Postgres = {
    host: "127.0.0.1",
    port,
    superuserUrl: url("supabase_admin"),
    databaseUrl: url("postgres"),
    authenticatorUrl: url("authenticator"),
    jwtSecret: randomBytes(32).toString("base64url"),
    psql: (sql, psqlOptions = {}) => psqlAt(psqlOptions.superuser ? url("supabase_admin") : url("postgres"), { sql }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
  try {
    await waitReady(port, postmaster, () => log);
    await psqlAt(pg.superuserUrl, { files: [BOOTSTRAP], vars: { postgres_password: passwords.postgres, authenticator_password: passwords.authenticator } });
    if (options.migrate !== false) await applyMigrations(pg.databaseUrl);
    if (options.seed) await psqlAt(pg.databaseUrl, { files: [join(SUPABASE_DIR, "seed.sql")], singleTransaction: true });
  } catch (error) {
    await stop();
    throw error;
  }
  return pg;
}
