import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AGENT_CLI } from "../../../../test/support/paths.js";

const home = mkdtempSync(join(tmpdir(), "agent-usage-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = { PATH: process.env.PATH, HOME: home, BOTMOX_AGENT_HOME: home, BOTMOX_VAULT: "file", BOTMOX_VAULT_PASSPHRASE: "usage" };
const agent = (...args: string[]) => spawnSync(process.execPath, [AGENT_CLI, ...args], { env, encoding: "utf8" });

describe("botmox-agent command line", () => {
  test("a command line it cannot act on exits 2 with the usage; asking for help exits 0", () => {
    for (const args of [[], ["pair"], ["pair", "--server", "http://127.0.0.1:9"], ["targets"], ["targets", "lst"], ["targets", "add"], ["targets", "add", "proxmox"], ["targets", "remove"], ["frobnicate"]]) {
      const result = agent(...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain("Usage: botmox-agent");
    }
    for (const args of [["--help"], ["help"]]) expect(agent(...args).status).toBe(0);
    const noScheme = agent("targets", "add", "proxmox", "pve", "--url", "127.0.0.1:8006", "--token-id", "root@pam!botmox", "--fingerprint", "AA");
    expect(noScheme.status).toBe(2);
    expect(noScheme.stderr).toContain('--url must be a URL such as https://HOST:8006, not "127.0.0.1:8006"');
  });

  test("a file named by a flag that cannot be read is named with its flag", () => {
    const missing = join(home, "nope.pem");
    const ca = agent("targets", "add", "proxmox", "pve", "--url", "https://127.0.0.1:9", "--token-id", "root@pam!botmox", "--ca", missing, "--secret-stdin");
    expect(ca.status).toBe(1);
    expect(ca.stderr).toContain(`--ca ${missing} cannot be read (ENOENT)`);
    const config = agent("targets", "add", "syncthing", "st", "--from-config", join(home, "nope.xml"));
    expect(config.status).toBe(1);
    expect(config.stderr).toContain(`--from-config ${join(home, "nope.xml")} cannot be read (ENOENT)`);
  });

  test("Ctrl-C at the hidden secret prompt exits 130 and stores nothing", async () => {
    // A real terminal (python's pty), as a person typing would have.
    const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
deadline = time.time() + 20
while b"API token secret" not in out and time.time() < deadline:
    out += os.read(fd, 1024)
os.write(fd, b"abc\\x03")
time.sleep(0.5)
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk: break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;
    const child = spawn("python3", ["-c", script, process.execPath, AGENT_CLI, "targets", "add", "proxmox", "pve", "--url", "https://127.0.0.1:9", "--token-id", "root@pam!botmox", "--fingerprint", "AA:BB"], { env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(output).toContain("Cancelled at the prompt");
    expect(code).toBe(130);
    expect(JSON.parse(agent("targets", "list").stdout).targets).toEqual([]);
  });
});
