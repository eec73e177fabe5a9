import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { REPO_ROOT } from "./paths.js";

const BIN = "/usr/lib/postgresql/15/bin";

export interface Postgres {
  port: number;
  url: string;
  /** Runs SQL (a file or a string) as the superuser; throws with psql's output on error. */
  psql(input: { file?: string; sql?: string }): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A throwaway PostgreSQL 15 cluster on loopback, with the Supabase-style bootstrap and our migrations. */
export async function startPostgres(options: { migrate?: boolean } = {}): Promise<Postgres> {
  const root = mkdtempSync(join(tmpdir(), "botmox-pg-"));
  chmodSync(root, 0o777);
  const data = join(root, "data");
  const asPostgres = (command: string, args: string[]) => {
    const result = spawnSync("runuser", ["-u", "postgres", "--", command, ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  asPostgres(`${BIN}/initdb`, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  const server: ChildProcess = spawn("runuser", ["-u", "postgres", "--", `${BIN}/postgres`, "-D", data, "-p", String(port), "-k", root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"], { stdio: "ignore" });
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 20_000;
  while (spawnSync(`${BIN}/pg_isready`, ["-h", "127.0.0.1", "-p", String(port)]).status !== 0) {
    if (Date.now() > deadline) throw new Error("PostgreSQL did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const psql = (input: { file?: string; sql?: string }) => {
    const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", ...(input.file ? ["-f", input.file] : ["-c", input.sql ?? ""])];
    const result = spawnSync("psql", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
    return result.stdout;
  };
  psql({ file: join(REPO_ROOT, "test/support/supabase-bootstrap.sql") });
  if (options.migrate !== false) {
    const dir = join(REPO_ROOT, "supabase/migrations");
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".sql")).sort()) psql({ file: join(dir, file) });
  }
  return {
    port,
    url,
    psql,
    async [Symbol.asyncDispose]() {
      // runuser does not pass signals on to postgres: ask the server itself to stop.
      const exited = server.exitCode !== null ? Promise.resolve() : new Promise((resolve) => server.once("exit", resolve));
      spawnSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"], { stdio: "ignore" });
      await exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
