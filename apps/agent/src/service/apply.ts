import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ServicePlan } from "./plan.js";

/** Carries out a plan; stops at the first failing command and says which. */
export function applyPlan(plan: ServicePlan, options: { ignoreCommandFailures?: boolean } = {}): void {
  for (const file of plan.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content, { mode: 0o644 });
  }
  for (const path of plan.remove) rmSync(path, { force: true });
  for (const [command, ...args] of plan.commands) {
    const result = spawnSync(command!, args, { stdio: "inherit" });
    if (result.error || result.status !== 0) {
      const reason = result.error ? result.error.message : `exit code ${result.status}`;
      if (!options.ignoreCommandFailures) throw new Error(`"${[command, ...args].join(" ")}" failed (${reason}); nothing after it was run`);
    }
  }
}
