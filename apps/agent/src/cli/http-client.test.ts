import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, test } from "vitest";
import { startTlsFront } from "../../../../test/support/proxies.js";
import { getJson } from "./http-client.js";

describe("the agent's HTTP client says what a failed connection means", () => {
  test("https:// to a plain HTTP server, an untrusted certificate, nothing listening", async () => {
    const plain = createServer((_req, res) => res.end("{}"));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const { port } = plain.address() as AddressInfo;
    const front = await startTlsFront(port);
    try {
      await expect(getJson(`https://127.0.0.1:${port}/api/v1/health`)).rejects.toThrow(/does not speak TLS: is it http:\/\/ rather than https:\/\/\?/);
      await expect(getJson(`${front.url}/api/v1/health`)).rejects.toThrow(/is not trusted here: set BOTMOX_CA_FILE/);
    } finally {
      await front.close();
      await new Promise((resolve) => plain.close(resolve));
    }
    await expect(getJson(`http://127.0.0.1:${port}/api/v1/health`)).rejects.toThrow(/refused the connection/);
  });
});
