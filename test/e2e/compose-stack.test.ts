import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { apiClient } from "../support/api.js";
import { startChild } from "../support/child.js";
import { startControlPlane } from "../support/botmox.js";
import { AGENT_CLI, REPO_ROOT } from "../support/paths.js";

// No Docker engine runs here: the compose file is validated by docker-compose itself, and the
// two scripts the containers run (bootstrap, agent entrypoint) are run for real outside them.
describe("docker-compose developer stack", () => {
  test("docker-compose config accepts the file and names its services", () => {
    const ok = spawnSync("docker-compose", ["config"], { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, BOTMOX_VAULT_PASSPHRASE: "validation-only" } });
    expect(ok.status, ok.stderr).toBe(0);
    for (const service of ["control-plane:", "agent:", "pve-sim:", "syncthing:"]) expect(ok.stdout).toContain(service);
    const noPassphrase = spawnSync("docker-compose", ["config", "-q"], { cwd: REPO_ROOT, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(noPassphrase.status).not.toBe(0);
    expect(noPassphrase.stderr).toContain("set BOTMOX_VAULT_PASSPHRASE");
  });

  test("every volume a service writes is created in its image and owned by the user it runs as", () => {
    // A new named volume takes the ownership of the image's directory: a missing one is root's, and a non-root service cannot write it.
    const compose = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
    const services = compose.split(/^ {2}(?=[a-z-]+:$)/m).slice(1);
    let checked = 0;
    for (const service of services) {
      const dockerfile = /dockerfile: (\S+)/.exec(service)?.[1];
      if (!dockerfile) continue; // a published image
      const image = readFileSync(join(REPO_ROOT, dockerfile), "utf8");
      const user = /^USER (\S+)$/m.exec(image)?.[1];
      for (const [, target] of service.matchAll(/^ {6}- [\w-]+:(\/[^:\s]+)$/gm)) {
        checked++;
        expect(image, `${dockerfile}: ${target}`).toMatch(new RegExp(`^RUN mkdir -p [^\\n]*${target}\\b[^\\n]*&& chown (-R )?${user}:${user} [^\\n]*${target}\\b`, "m"));
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  test("bootstrap on first start, then the agent entrypoint pairs itself and serves commands", async () => {
    await using cp = await startControlPlane();
    const dir = mkdtempSync(join(tmpdir(), "botmox-compose-"));
    try {
      const bootstrapFile = join(dir, "bootstrap", "demo.json");
      const first = await cp.cli(["bootstrap", "--out", bootstrapFile]);
      expect(JSON.parse(first.stdout).bootstrapped).toBe(true);
      expect(JSON.parse((await cp.cli(["bootstrap", "--out", bootstrapFile])).stdout).bootstrapped).toBe(false);
      const demo = JSON.parse(readFileSync(bootstrapFile, "utf8")) as { api_key: string; pairing_code: string };

      const entrypoint = startChild("sh", [join(REPO_ROOT, "apps/agent/docker-entrypoint.sh")], {
        PATH: process.env.PATH,
        HOME: dir,
        BOTMOX_AGENT_CMD: `${process.execPath} ${AGENT_CLI}`,
        BOTMOX_SERVER: cp.url,
        BOTMOX_BOOTSTRAP_FILE: bootstrapFile,
        BOTMOX_AGENT_HOME: join(dir, "agent"),
        BOTMOX_VAULT: "file",
        BOTMOX_VAULT_PASSPHRASE: "compose test",
      });
      try {
        await entrypoint.waitForLog((line) => line.msg === "connected to control plane");
        const api = apiClient(cp.url, demo.api_key);
        const [agent] = (await api.get("/api/v1/agents")).body.agents;
        const ping = await api.post(`/api/v1/agents/${agent.id}/commands?wait=5`, { name: "agent.ping" });
        expect(ping.body.status).toBe("succeeded");
      } finally {
        await entrypoint.kill("SIGKILL");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
