import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { getEventListeners } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startSyncthing, type SyncthingInstance } from "../../../../../test/support/syncthing.js";
import { until } from "../../../../../test/support/until.js";
import { MAX_UPSTREAM_ANSWER_BYTES } from "../answer-limit.js";
import { writeForever } from "../endless-answer.testkit.js";
import { rejection } from "../rejection.testkit.js";
import { SyncthingClient } from "./client.js";
import { checkDeviceId } from "./device-id.js";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const clientFor = (st: SyncthingInstance, apiKey = st.apiKey) => new SyncthingClient({ url: st.apiUrl, apiKey, timeoutMs: 5_000 });

describe("SyncthingClient against real SyncThing 1.19.2 (three devices on loopback)", () => {
  let a: SyncthingInstance;
  let b: SyncthingInstance;
  let c: SyncthingInstance;
  let sta: SyncthingClient;
  let stb: SyncthingClient;
  let stc: SyncthingClient;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startSyncthing("a"), startSyncthing("b"), startSyncthing("c")]);
    [sta, stb, stc] = [clientFor(a), clientFor(b), clientFor(c)];
  });
  afterAll(async () => {
    await Promise.all([a, b, c].map((st) => st?.[Symbol.asyncDispose]()));
  });

  test("status: device id, version, uptime, start time", async () => {
    const status = await sta.status();
    expect(status).toEqual({ device_id: a.deviceId, version: expect.stringMatching(/^v1\.19\.2/), uptime_s: expect.any(Number), started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  test("two devices add each other, a folder offered by one is accepted by the other, a file arrives byte-identical and completion reaches 100%", async () => {
    const deviceB = await sta.deviceAdd({ device_id: b.deviceId.toLowerCase(), name: "beta", addresses: [b.syncAddress] });
    expect(deviceB).toMatchObject({ deviceID: b.deviceId, name: "beta", addresses: [b.syncAddress], paused: false });
    await stb.deviceAdd({ device_id: a.deviceId, name: "alpha", addresses: [a.syncAddress] });
    expect((await sta.devicesList()).map((device) => device.deviceID).sort()).toEqual([a.deviceId, b.deviceId].sort());
    await until("a and b connected", async () => ((await sta.connections()).connections[b.deviceId]?.connected ? true : undefined), 20_000, 100);

    const folderA = join(a.dataDir, "bots");
    const folderB = join(b.dataDir, "bots");
    mkdirSync(folderA);
    const added = await sta.folderAdd({ id: "bots", label: "Bot files", path: folderA, devices: [b.deviceId] });
    expect(added).toMatchObject({ id: "bots", label: "Bot files", path: folderA, type: "sendreceive", paused: false });
    expect(added.devices.map((device) => device.deviceID).sort()).toEqual([a.deviceId, b.deviceId].sort());
    expect((await sta.foldersList()).map((folder) => folder.id)).toEqual(["bots"]);

    // b is offered the folder and accepts it through the pending list.
    const pending = await until("the offer on b", async () => ((await stb.pendingList()).folders.bots?.offeredBy[a.deviceId] ? stb.pendingList() : undefined), 20_000, 100);
    expect(pending.folders.bots!.offeredBy[a.deviceId]).toMatchObject({ label: "Bot files", receiveEncrypted: false });
    expect(await stb.pendingAcceptFolder({ folder: "bots", device_id: a.deviceId, path: folderB })).toEqual({ accepted: "folder", folder: "bots", device_id: a.deviceId, devices: expect.arrayContaining([a.deviceId, b.deviceId]) });
    expect((await stb.folder({ folder: "bots" })).label).toBe("Bot files");
    await until("the offer gone", async () => ((await stb.pendingList()).folders.bots ? undefined : true), 10_000, 100);

    const content = randomBytes(1024 * 1024 + 17);
    writeFileSync(join(folderA, "profile.bin"), content);
    mkdirSync(join(folderA, "nested"));
    writeFileSync(join(folderA, "nested", "notes.txt"), "hello from a\n");
    expect(await sta.folderRescan({ folder: "bots" })).toEqual({ folder: "bots", rescanned: true });
    expect((await sta.folderStatus({ folder: "bots" })).localBytes).toBeGreaterThanOrEqual(content.length);

    // 1.19 also says 100% for a device that has not announced the folder yet (no remoteState
    // before 1.20), so completion alone proves nothing: wait for the file as well.
    const completion = await until("b 100% complete with the file", async () => {
      const result = await sta.folderCompletion({ folder: "bots", device_id: b.deviceId });
      const arrived = existsSync(join(folderB, "profile.bin")) && sha(join(folderB, "profile.bin")) === sha(join(folderA, "profile.bin"));
      return result.completion === 100 && result.globalBytes >= content.length && arrived ? result : undefined;
    }, 30_000, 100);
    expect(completion).toMatchObject({ completion: 100, needBytes: 0, needItems: 0 });
    expect(readFileSync(join(folderB, "profile.bin")).equals(content)).toBe(true);
    expect(readFileSync(join(folderB, "nested", "notes.txt"), "utf8")).toBe("hello from a\n");
    expect((await sta.folderCompletion({ folder: "bots" })).completion).toBe(100); // over all remote devices
    const statusB = await until("b idle", async () => {
      const status = await stb.folderStatus({ folder: "bots" });
      return status.state === "idle" && status.needFiles === 0 ? status : undefined;
    }, 10_000, 100);
    expect(statusB).toMatchObject({ globalFiles: 2, localFiles: 2, globalDirectories: 1, inSyncFiles: 2 });
    expect(statusB.inSyncBytes).toBeGreaterThanOrEqual(content.length + 13);
  });

  test("a third device shows up in pendingList; reject dismisses it until it dials again; accept adds it and it connects", async () => {
    await stc.deviceAdd({ device_id: a.deviceId, name: "alpha", addresses: [a.syncAddress] });
    const waiting = await until("c pending on a", async () => (await sta.pendingList()).devices[c.deviceId], 20_000, 100);
    expect(waiting).toMatchObject({ name: "c", address: expect.stringContaining("127.0.0.1") });

    expect(await sta.pendingReject({ device_id: c.deviceId })).toEqual({ rejected: "device" });
    expect((await sta.pendingList()).devices[c.deviceId]).toBeUndefined();

    // b offers a folder to a, a rejects the offer.
    mkdirSync(join(b.dataDir, "offer"));
    await stb.folderAdd({ id: "offer", label: "Offered", path: join(b.dataDir, "offer"), devices: [a.deviceId] });
    const offer = await until("the offer on a", async () => (await sta.pendingList()).folders.offer?.offeredBy[b.deviceId], 20_000, 100);
    expect(offer).toMatchObject({ label: "Offered", receiveEncrypted: false, remoteEncrypted: false });
    expect(await sta.pendingReject({ folder: "offer", device_id: b.deviceId })).toEqual({ rejected: "folder" });
    expect((await sta.pendingList()).folders.offer).toBeUndefined();
    expect((await rejection(sta.pendingReject({ folder: "offer", device_id: b.deviceId }))).code).toBe("ST_NOT_FOUND");
    expect((await rejection(sta.pendingAcceptFolder({ folder: "nothing", device_id: b.deviceId, path: join(a.dataDir, "nothing") }))).code).toBe("ST_NOT_FOUND");

    // SyncThing 1.19 only forgets a dismissed device: when c dials again it is pending again.
    // (c would redial by itself, but after a refused connection it backs off for 5 to 30 s and
    // more; a restart makes it dial at once.)
    await c.kill();
    await c.start();
    await until("c pending again", async () => (await sta.pendingList()).devices[c.deviceId], 20_000, 100);
    const accepted = await sta.pendingAcceptDevice({ device_id: c.deviceId, addresses: [c.syncAddress] });
    expect(accepted).toMatchObject({ accepted: "device", device_id: c.deviceId, device: { deviceID: c.deviceId, name: "c", addresses: [c.syncAddress] } });
    expect((await sta.pendingList()).devices[c.deviceId]).toBeUndefined();
    await until("a and c connected", async () => ((await sta.connections()).connections[c.deviceId]?.connected ? true : undefined), 20_000, 100);
    // Accepting again is not an error: it is configured.
    expect((await sta.pendingAcceptDevice({ device_id: c.deviceId, name: "ignored" })).device.name).toBe("c");
    expect((await rejection(sta.pendingReject({ device_id: c.deviceId }))).code).toBe("ST_NOT_FOUND");
  });

  test("folder and device changes: pause, resume, share, unshare, remove", async () => {
    await sta.deviceAdd({ device_id: b.deviceId, addresses: [b.syncAddress] }); // idempotent: an update
    expect((await sta.device({ device_id: b.deviceId })).name).toBe("beta");
    mkdirSync(join(a.dataDir, "cfg"));
    await sta.folderAdd({ id: "cfg", path: join(a.dataDir, "cfg"), type: "sendonly" });
    expect((await sta.folder({ folder: "cfg" })).devices.map((device) => device.deviceID)).toEqual([a.deviceId]);

    expect(await sta.folderShare({ folder: "cfg", device_id: b.deviceId })).toEqual({ folder: "cfg", devices: expect.arrayContaining([a.deviceId, b.deviceId]) });
    expect((await sta.folderShare({ folder: "cfg", device_id: b.deviceId })).devices).toHaveLength(2); // sharing twice changes nothing
    expect(await sta.folderUnshare({ folder: "cfg", device_id: b.deviceId })).toEqual({ folder: "cfg", devices: [a.deviceId] });
    expect((await rejection(sta.folderUnshare({ folder: "cfg", device_id: a.deviceId }))).code).toBe("ST_INVALID_PARAMS");

    // Updating a folder changes the given fields and keeps the rest.
    const updated = await sta.folderAdd({ id: "cfg", label: "Config", path: join(a.dataDir, "cfg"), devices: [b.deviceId] });
    expect(updated).toMatchObject({ label: "Config", type: "sendonly" });
    expect(updated.devices.map((device) => device.deviceID).sort()).toEqual([a.deviceId, b.deviceId].sort());

    expect(await sta.folderPause({ folder: "cfg" })).toEqual({ folder: "cfg", paused: true });
    expect(await sta.folderResume({ folder: "cfg" })).toEqual({ folder: "cfg", paused: false });
    expect(await sta.devicePause({ device_id: b.deviceId })).toEqual({ device_id: b.deviceId, paused: true });
    await until("b disconnected", async () => ((await sta.connections()).connections[b.deviceId]?.connected ? undefined : true), 10_000, 100);
    expect(await sta.deviceResume({ device_id: b.deviceId })).toEqual({ device_id: b.deviceId, paused: false });

    expect(await sta.folderRemove({ folder: "cfg" })).toEqual({ folder: "cfg", removed: true });
    expect(existsSync(join(a.dataDir, "cfg"))).toBe(true); // files stay
    expect((await rejection(sta.folderRemove({ folder: "cfg" }))).code).toBe("ST_NOT_FOUND");
    expect((await rejection(sta.deviceRemove({ device_id: a.deviceId }))).code).toBe("ST_INVALID_PARAMS");
    expect(await sta.deviceRemove({ device_id: c.deviceId })).toEqual({ device_id: c.deviceId, removed: true });
    expect((await rejection(sta.deviceRemove({ device_id: c.deviceId }))).code).toBe("ST_NOT_FOUND");
  });

  test("errors say what is wrong: ST_NOT_FOUND, ST_INVALID_PARAMS (ours and SyncThing's), ST_AUTH", async () => {
    for (const call of [
      () => sta.folderStatus({ folder: "nope" }),
      () => sta.folder({ folder: "nope" }),
      () => sta.folderRescan({ folder: "nope" }),
      () => sta.folderCompletion({ folder: "nope" }),
      () => sta.folderPause({ folder: "nope" }),
      () => sta.folderShare({ folder: "nope", device_id: b.deviceId }),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: "ST_NOT_FOUND", retryable: false });
    }
    const unknownDevice = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD";
    expect(await rejection(sta.devicePause({ device_id: unknownDevice }))).toMatchObject({ code: "ST_NOT_FOUND", message: expect.stringContaining("No device with given ID") });
    expect(await rejection(sta.pendingAcceptDevice({ device_id: unknownDevice }))).toMatchObject({ code: "ST_NOT_FOUND", message: expect.stringContaining("is not waiting for approval") });
    mkdirSync(join(a.dataDir, "errors"), { recursive: true });
    // SyncThing would drop the unknown device from the share list without a word.
    expect(await rejection(sta.folderAdd({ id: "errors", path: join(a.dataDir, "errors"), devices: [unknownDevice] }))).toMatchObject({ code: "ST_NOT_FOUND", message: expect.stringContaining(unknownDevice) });

    expect(await rejection(sta.deviceAdd({ device_id: "NOT-A-DEVICE" }))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("incorrect length") });
    expect(await rejection(sta.deviceAdd({ device_id: b.deviceId.replace(/.$/, b.deviceId.endsWith("A") ? "B" : "A") }))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("check character 4 of 4") });
    expect(await rejection(sta.deviceAdd({ device_id: b.deviceId, addresses: ["127.0.0.1:22000"] }))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("tcp://HOST:PORT") });
    expect(await rejection(sta.folderAdd({ id: "errors", path: "" }))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("home directory") });
    expect(await rejection(sta.folderAdd({ id: "errors", path: join(a.dataDir, "errors"), type: "mirror" as never }))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("not a folder type") });
    // SyncThing's own 400 (what the local check spares callers) keeps its text.
    expect(await rejection(sta.get("/rest/config/devices/NOT-A-DEVICE"))).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("device ID invalid: incorrect length") });
    expect((await sta.foldersList()).some((folder) => folder.id === "errors")).toBe(false);
    // "." and ".." would resolve to other endpoints: the folder list, the whole config with its API key.
    for (const call of [() => sta.folder({ folder: ".." }), () => sta.folder({ folder: "." }), () => sta.folderRemove({ folder: "." }), () => sta.folderAdd({ id: "a/b", path: join(a.dataDir, "errors") })]) {
      expect(await rejection(call())).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringContaining("cannot be . or .. or contain /") });
    }

    const wrongKey = await rejection(clientFor(a, "not-the-key").status());
    expect(wrongKey).toMatchObject({ code: "ST_AUTH", retryable: false, details: { status: 403, body: "CSRF Error" } });
    expect(wrongKey.message).toContain("SyncThing refused the API key");
    expect((await rejection(clientFor(a, "not-the-key").deviceRemove({ device_id: b.deviceId }))).code).toBe("ST_AUTH");
  });

  test("the local device-id check agrees with SyncThing's on valid ids and their mutations", async () => {
    const ids = [a.deviceId, b.deviceId, c.deviceId];
    const candidates = ids.flatMap((id) => [
      id,
      id.toLowerCase(),
      id.replace(/-/g, ""),
      id.slice(0, -1),
      id.slice(0, 20) + (id[20] === "A" ? "B" : "A") + id.slice(21),
      id.slice(0, 9) + id[10] + id[9] + id.slice(11), // two characters swapped
      id.replace(/O/g, "0"), // a look-alike digit
      [...id.replace(/-/g, "")].filter((_, i) => i % 14 !== 13).join(""),
    ]);
    for (const candidate of candidates) {
      const response = await fetch(`${a.apiUrl}/rest/config/devices/${encodeURIComponent(candidate)}`, { headers: { "X-API-Key": a.apiKey } });
      const syncthingSaysValid = response.status !== 400;
      expect(checkDeviceId(candidate).ok, `${candidate}: SyncThing answered ${response.status}`).toBe(syncthingSaysValid);
    }
  });
});

describe("SyncthingClient when SyncThing is not there", () => {
  test("a stopped SyncThing is ST_UNREACHABLE (retryable); after a restart the same client works again", async () => {
    await using st = await startSyncthing("outage");
    const client = clientFor(st);
    const before = await client.status();
    await st.stop();
    const error = await rejection(client.status());
    expect(error).toMatchObject({ code: "ST_UNREACHABLE", retryable: true, message: expect.stringContaining("ECONNREFUSED") });
    await st.start();
    const after = await client.status();
    expect(after.device_id).toBe(before.device_id);
    expect(after.uptime_s).toBeLessThanOrEqual(before.uptime_s + 1);
  });

  test("a server that accepts and never answers is ST_UNREACHABLE after the timeout; a cancel is the caller's AbortError", async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const client = new SyncthingClient({ url: `http://127.0.0.1:${port}/`, apiKey: "k", timeoutMs: 300 });
      expect(await rejection(client.status())).toMatchObject({ code: "ST_UNREACHABLE", retryable: true, message: expect.stringContaining("no answer within 300 ms") });
      const controller = new AbortController();
      const pending = client.foldersList({ signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("an answer that goes on past the limit is dropped with ST_ERROR, not read into memory", async () => {
    const server = createHttpServer((_req, res) => writeForever(res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const client = new SyncthingClient({ url: `http://127.0.0.1:${port}/`, apiKey: "k", timeoutMs: 30_000 });
      const error = await rejection(client.get("/rest/system/status"));
      expect(error).toMatchObject({ code: "ST_ERROR", message: `SyncThing answered GET /rest/system/status with more than ${MAX_UPSTREAM_ANSWER_BYTES} bytes; the answer was dropped` });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("requests made under one long-lived signal (the event follower's) leave nothing attached to it", async () => {
    const server = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const sockets: Socket[] = [];
    server.on("connection", (socket) => sockets.push(socket));
    try {
      const client = new SyncthingClient({ url: `http://127.0.0.1:${port}/`, apiKey: "k", timeoutMs: 5_000 });
      const following = new AbortController().signal;
      for (let i = 0; i < 200; i++) await client.get("/rest/system/status", undefined, following);
      // Node keeps the signals that depend on this one (AbortSignal.any) in a set that only grows.
      const dependants = Object.getOwnPropertySymbols(following).find((symbol) => symbol.description === "kDependantSignals");
      expect(dependants === undefined ? 0 : (following as unknown as Record<symbol, Set<unknown>>)[dependants]!.size).toBe(0);
      expect(getEventListeners(following, "abort")).toHaveLength(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
