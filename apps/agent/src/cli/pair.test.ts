import { randomUUID } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { describe, expect, test } from "vitest";
import { memoryVault } from "../vault/memory-vault.testkit.js";
import { pair, parsePairingTarget } from "./pair.js";


/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("pairing target", () => {
  test("the server is reduced to its origin, from the flags or a pairing URI", () => {
    expect(parsePairingTarget({ server: "https://cp.example.com:8443/some/path", code: "BMX-AAAA-BBBB" })).toEqual({ server: "https://cp.example.com:8443", code: "BMX-AAAA-BBBB" });
    const uri = `botmox://pair?server=${encodeURIComponent("http://10.0.0.5:8080")}&code=BMX-AAAA-BBBB`;
    expect(parsePairingTarget({ uri, allowHttp: true })).toEqual({ server: "http://10.0.0.5:8080", code: "BMX-AAAA-BBBB" });
  });

  test("plain http:// is for this machine only, unless asked for: the code and every command would cross the network in clear", () => {
    for (const server of ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"]) {
      expect(parsePairingTarget({ server, code: "BMX-AAAA-BBBB" }).server, server).toBe(server);
    }
    for (const server of ["http://10.0.0.5:8080", "http://cp.example.com"]) {
      expect(() => parsePairingTarget({ server, code: "BMX-AAAA-BBBB" }), server).toThrow(/in clear.*use https:\/\/, or pass --allow-http/);
      expect(() => parsePairingTarget({ uri: `botmox://pair?server=${encodeURIComponent(server)}&code=X` }), server).toThrow(/--allow-http/);
      expect(parsePairingTarget({ server, code: "BMX-AAAA-BBBB", allowHttp: true }).server).toBe(new URL(server).origin);
    }
  });

  test("a server without http:// or https:// is refused with a message that says what to type", () => {
    for (const server of ["localhost:8080", "cp.example.com", "ftp://cp.example.com", "https://"]) {
      expect(() => parsePairingTarget({ server, code: "BMX-AAAA-BBBB" }), server).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    }
    expect(() => parsePairingTarget({ uri: "botmox://pair?server=localhost:8080&code=X" })).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(() => parsePairingTarget({ uri: "not a uri" })).toThrow(/Not a pairing URI/);
  });

  test("when the control plane cannot be reached, no key is left behind in the vault", async () => {
    const vault = memoryVault();
    const config = { instance_id: randomUUID(), targets: {} };
    await expect(pair({ server: `http://127.0.0.1:${await closedPort()}`, code: "BMX-AAAA-BBBB", config, vault })).rejects.toThrow();
    expect([...vault.entries.keys()]).toEqual([]);
  });

  test("an answer that is not a control plane's leaves the key and config in use as they were", async () => {
    for (const body of ["null", "{}", JSON.stringify({ agent_id: "x", tenant_id: "y" })]) {
      const server = createHttpServer((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(body));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const vault = memoryVault();
      await vault.set("agent.private_key", "the key in use");
      const config = { instance_id: randomUUID(), targets: {}, agent_id: randomUUID() };
      const attempt = pair({ server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, code: "BMX-AAAA-BBBB", config, vault });
      await expect(attempt, body).rejects.toThrow(/did not answer like a Bot-Mox control plane/);
      expect([...vault.entries.entries()], body).toEqual([["agent.private_key", "the key in use"]]);
      server.close();
    }
  });
});
