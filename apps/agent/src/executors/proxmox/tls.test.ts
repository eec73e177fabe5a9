import { createServer, type Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { pveSimulator } from "../../../../../test/support/pve.js";
import { ProxmoxClient } from "./client.js";
import { normalizeFingerprint, probeFingerprint } from "./tls.js";

describe("pinned-fingerprint connections", () => {
  test("a host that accepts the connection but never answers the handshake fails within the request timeout", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const client = new ProxmoxClient({ url: `https://127.0.0.1:${port}`, tokenId: "root@pam!botmox", secret: "s", fingerprint: "AA".repeat(32), requestTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(client.call("GET", "version")).rejects.toMatchObject({ code: "PVE_UNREACHABLE" });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("fingerprint probe (targets add)", () => {
  test("an IPv6 URL is probed at that address and port, as the client will connect", async () => {
    await using sim = await pveSimulator({ host: "::1" });
    expect(sim.url).toMatch(/^https:\/\/\[::1\]:\d+$/);
    expect(await probeFingerprint(sim.url)).toBe(normalizeFingerprint(sim.fingerprint256));
  });
});
