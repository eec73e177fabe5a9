import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, test } from "vitest";
import { startTlsFront } from "../../../../test/support/proxies.js";
import { getJson, requestJson } from "./http-client.js";

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

  test("a server that trickles its answer, or sends far too much, is given up on", async () => {
    const trickle = createServer((_req, res) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.write("{");
      const drip = setInterval(() => res.write(" "), 100);
      res.on("close", () => clearInterval(drip));
    });
    const flood = createServer((_req, res) => res.end(`{"padding":"${"x".repeat(2 << 20)}"}`));
    for (const server of [trickle, flood]) await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = (server: typeof trickle) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/health`;
    try {
      const started = Date.now();
      await expect(requestJson("GET", url(trickle), undefined, undefined, 1_000)).rejects.toThrow(/did not answer within 1000 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
      await expect(getJson(url(flood))).rejects.toThrow(/more than 1048576 bytes: not a Bot-Mox control plane/);
    } finally {
      for (const server of [trickle, flood]) {
        server.closeAllConnections();
        server.close();
      }
    }
  });

  test("a refusal whose body is not the expected shape is reported by its status, and its readable parts kept", async () => {
    const bodies = ["null", '{"error":{"code":5,"message":"Pairing code is invalid","details":[{"path":{"toString":1},"message":"x"},{"path":"code","message":"unknown"}]}}'];
    const server = createServer((req, res) => res.writeHead(400, { "content-type": "application/json" }).end(bodies[Number(req.url!.slice(1))]));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(getJson(`${base}/0`)).rejects.toMatchObject({ status: 400, code: "HTTP_ERROR", message: "HTTP 400" });
      await expect(getJson(`${base}/1`)).rejects.toMatchObject({ status: 400, code: "HTTP_ERROR", message: "Pairing code is invalid (code: unknown)" });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
