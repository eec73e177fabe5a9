import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

describe("pve-sim command line", () => {
  test("a mistyped flag, a missing value or a bad number is a usage error (exit 2) naming it, not a stack trace", () => {
    for (const [args, named] of [[["--prot", "1"], "--prot"], [["--port"], "--port"], [["--latency-ms", "-5"], "--latency-ms"]] as const) {
      const run = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 10_000 });
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toContain(named);
      expect(run.stderr).toContain("Usage");
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
