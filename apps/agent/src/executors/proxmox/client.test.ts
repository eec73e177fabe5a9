import type { ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateCertificate } from "../../../../../packages/pve-simulator/src/certificate.js";
import { writeForever } from "../endless-answer.testkit.js";
import { rejection } from "../rejection.testkit.js";
import { MAX_UPSTREAM_ANSWER_BYTES } from "../answer-limit.js";
import { ProxmoxClient } from "./client.js";

/** A host that answers each path as a broken or hostile Proxmox would. */
const answers: Record<string, (res: ServerResponse) => void> = {
  "/api2/json/null-body": (res) => res.writeHead(200, { "content-type": "application/json" }).end("null"),
  "/api2/json/odd-message": (res) => res.writeHead(500, { "content-type": "application/json" }).end('{"message":1}'),
  "/api2/json/odd-errors": (res) => res.writeHead(400, { "content-type": "application/json" }).end('{"errors":{"vmid":{"toString":1}},"message":"parameter verification failed."}'),
  "/api2/json/endless": writeForever,
};

describe("Proxmox client against a broken host", () => {
  const certificate = generateCertificate();
  const server = createServer({ key: certificate.keyPem, cert: certificate.certPem }, (req, res) => {
    res.on("error", () => {});
    const answer = answers[new URL(req.url!, "https://x").pathname];
    if (answer) answer(res);
    else res.writeHead(404).end();
  });
  let client: ProxmoxClient;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new ProxmoxClient({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, tokenId: "root@pam!botmox", secret: "s", fingerprint: certificate.fingerprint256 });
  });
  afterAll(() => {
    client.close();
    server.closeAllConnections();
    server.close();
  });

  test("a null body is an empty answer, not a crash", async () => {
    await expect(client.call("GET", "null-body")).resolves.toBeUndefined();
  });

  test("an error whose message is not text is reported with the status line", async () => {
    const error = await rejection(client.call("GET", "odd-message"));
    expect(error).toMatchObject({ code: "PVE_ERROR", message: "Proxmox answered 500: Internal Server Error" });
  });

  test("parameter errors that are not text are shown as JSON", async () => {
    const error = await rejection(client.call("GET", "odd-errors"));
    expect(error).toMatchObject({ code: "PVE_INVALID_PARAMS", message: 'Proxmox: parameter verification failed. vmid: {"toString":1}' });
  });

  test("an answer that goes on past the limit is dropped with a clear error, not read into memory", async () => {
    const error = await rejection(client.call("GET", "endless"));
    expect(error).toMatchObject({ code: "PVE_ERROR", message: `Proxmox answered GET /api2/json/endless with more than ${MAX_UPSTREAM_ANSWER_BYTES} bytes; the answer was dropped` });
  });
});
