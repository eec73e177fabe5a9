import { spawn, type ChildProcess } from "node:child_process";

export interface Child {
  readonly process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** JSON log lines parsed (non-JSON lines skipped). */
  logs(): Array<Record<string, unknown>>;
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<{ kill(signal?: NodeJS.Signals): Promise<unknown> }>();

/**
 * Kills whatever a test file started and did not stop: a test that times out never reaches its
 * `await using` cleanup. Registered for every test file in vitest.setup.ts.
 */
export async function killLeftoverChildren(): Promise<void> {
  await Promise.all([...live].map((child) => child.kill("SIGKILL")));
  live.clear();
}

/** Spawns a real process and keeps its output for assertions and failure messages. */
export function startChild(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { stdin?: string; cwd?: string; processGroup?: boolean } = {},
): Child {
  const child = spawn(command, args, {
    env: env as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
    // A wrapper (dbus-run-session) is killed with everything it started.
    detached: options.processGroup ?? false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let output = "";
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const logs = () =>
    output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const handle: Child = {
    process: child,
    output: () => output,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs().find(predicate);
          if (found) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`log line not seen within ${timeoutMs} ms; output so far:\n${output.slice(-4000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          if (options.processGroup) process.kill(-child.pid!, signal);
          else child.kill(signal);
        } catch {
          /* already gone */
        }
      }
      return exited;
    },
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

/** Runs a command to completion. */
export async function run(command: string, args: string[], env: Record<string, string | undefined>, stdin?: string): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = spawn(command, args, { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stdin.end(stdin ?? "");
  const code = await new Promise<number | null>((resolve) => child.on("exit", (exitCode) => resolve(exitCode)));
  return { code, stdout, output };
}
