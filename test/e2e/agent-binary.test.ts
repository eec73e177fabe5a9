import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run, startChild } from "../support/child.js";
import { startControlPlane } from "../support/botmox.js";
import { REPO_ROOT } from "../support/paths.js";

const platformName = { win32: "windows", darwin: "macos", linux: "linux" }[process.platform as string] ?? process.platform;
const binary = join(REPO_ROOT, "dist", `botmox-agent-${platformName}-${process.arch}`);
const version = (JSON.parse(readFileSync(join(REPO_ROOT, "apps/agent/package.json"), "utf8")) as { version: string }).version;

describe("the agent as one executable (npm run build:agent-binary)", () => {
  test("copied alone into an empty directory, it pairs, runs and answers agent.ping", async () => {
    expect(existsSync(binary), `${binary} is missing: run npm run build:agent-binary`).toBe(true);
    const expected = readFileSync(`${binary}.sha256`, "utf8").split(" ")[0];
    expect(createHash("sha256").update(readFileSync(binary)).digest("hex")).toBe(expected);

    const dir = mkdtempSync(join(tmpdir(), "botmox-binary-"));
    try {
      const copy = join(dir, "botmox-agent");
      copyFileSync(binary, copy);
      expect(readdirSync(dir)).toEqual(["botmox-agent"]);
      // No node, no node_modules: only the executable, which writes its native addons into its
      // home (the per-user cache is read-only under the service's sandbox).
      const env = { PATH: "/usr/bin:/bin", HOME: dir, XDG_CACHE_HOME: join(dir, "cache"), BOTMOX_AGENT_HOME: join(dir, "home"), BOTMOX_VAULT: "file", BOTMOX_VAULT_PASSPHRASE: "binary test" };

      const versionOut = await run(copy, ["--version"], env);
      expect(versionOut.stdout.trim()).toBe(version);
      expect(versionOut.output).not.toContain("Warning");

      await using cp = await startControlPlane();
      const tenant = await cp.tenant();
      const pairing = await tenant.api.post("/api/v1/agents/pairings");
      const paired = await run(copy, ["pair", "--server", cp.url, "--code", pairing.body.code], env);
      expect(paired.code, paired.output).toBe(0);
      const agentId = JSON.parse(paired.stdout).agent_id as string;

      const agent = startChild(copy, ["run"], env);
      try {
        await agent.waitForLog((line) => line.msg === "connected to control plane");
        const ping = await tenant.api.post(`/api/v1/agents/${agentId}/commands?wait=5`, { name: "agent.ping" });
        expect(ping.body).toMatchObject({ status: "succeeded", result: { pong: true } });
        const info = await tenant.api.post(`/api/v1/agents/${agentId}/commands?wait=5`, { name: "agent.info" });
        expect(info.body.result.version).toBe(version);
        expect((await agent.kill("SIGTERM")).code).toBe(0);
      } finally {
        await agent.kill("SIGKILL");
      }
      expect(readdirSync(join(dir, "home", "native", version)).length).toBe(2);
      expect(existsSync(join(dir, "cache"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
