import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, test } from "vitest";
import { commander, pairAgent, startControlPlane } from "../support/botmox.js";
import { until } from "../support/until.js";
import { openEventStream } from "../support/sse.js";
import { addSyncthingTarget, startSyncthing } from "../support/syncthing.js";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");



describe("SyncThing through the control plane (real SyncThing 1.19.2)", () => {
  test("wire two devices, share a folder, sync a file; accept a third device; events reach SSE", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using a = await startSyncthing("a");
    await using b = await startSyncthing("b");
    await using c = await startSyncthing("c");
    for (const [name, st] of [["alpha", a], ["beta", b]] as const) {
      const added = await agent.cli(["targets", "add", "syncthing", name, "--url", st.apiUrl, "--api-key-stdin", "--folder-root", st.dataDir], {}, `${st.apiKey}\n`);
      expect(added.code, added.output).toBe(0);
      expect(JSON.parse(added.stdout).device_id).toBe(st.deviceId);
    }
    expect(JSON.parse((await agent.cli(["targets", "list"])).stdout).targets.map((t: { name: string }) => t.name)).toEqual(["alpha", "beta"]);
    await agent.start();
    const run = commander(tenant, agent);
    const sse = await openEventStream(`${cp.url}/api/v1/events?types=agent.event`, tenant.keys.viewer);

    const status = await run("syncthing.status", { target: "alpha" });
    expect(status).toMatchObject({ status: "succeeded", result: { device_id: a.deviceId, version: expect.stringContaining("v1.19") } });

    expect((await run("syncthing.device.add", { target: "alpha", device_id: b.deviceId, name: "beta", addresses: [b.syncAddress] })).status).toBe("succeeded");
    expect((await run("syncthing.device.add", { target: "beta", device_id: a.deviceId, name: "alpha", addresses: [a.syncAddress] })).status).toBe("succeeded");
    const folderA = join(a.dataDir, "bots");
    const folderB = join(b.dataDir, "bots");
    mkdirSync(folderA, { recursive: true });
    const added = await run("syncthing.folder.add", { target: "alpha", id: "bots", label: "Bot files", path: folderA, devices: [b.deviceId] });
    expect(added).toMatchObject({ status: "succeeded", result: { folder: { id: "bots", label: "Bot files" } } });
    expect((await run("syncthing.folder.add", { target: "beta", id: "bots", path: folderB })).status).toBe("succeeded");
    expect((await run("syncthing.folder.share", { target: "beta", folder: "bots", device_id: a.deviceId })).result.devices).toContain(a.deviceId);

    const content = randomBytes(256 * 1024);
    writeFileSync(join(folderA, "profile.bin"), content);
    expect((await run("syncthing.folder.rescan", { target: "alpha", folder: "bots" })).status).toBe("succeeded");
    await until("the file on beta", async () => (existsSync(join(folderB, "profile.bin")) && sha(join(folderB, "profile.bin")) === sha(join(folderA, "profile.bin")) ? true : undefined));
    const completion = await until("completion 100%", async () => {
      const result = await run("syncthing.folder.completion", { target: "alpha", folder: "bots", device_id: b.deviceId });
      return result.result?.completion === 100 ? result : undefined;
    });
    expect(completion.status).toBe("succeeded");
    expect((await run("syncthing.folder.status", { target: "beta", folder: "bots" })).result).toMatchObject({ state: expect.any(String), globalFiles: 1 });
    await sse.waitFor((e) => e.data.source === "syncthing" && ["StateChanged", "FolderSummary", "FolderCompletion"].includes(e.data.event_type) && JSON.stringify(e.data.data).includes("bots"));
    await sse.waitFor((e) => e.data.event_type === "DeviceConnected");

    // A third device knocks on alpha's door and is accepted through the control plane.
    await fetch(`${c.apiUrl}/rest/config/devices`, { method: "POST", headers: { "X-API-Key": c.apiKey }, body: JSON.stringify({ deviceID: a.deviceId, addresses: [a.syncAddress] }) });
    const pending = await until("c pending on alpha", async () => {
      const result = await run("syncthing.pending.list", { target: "alpha" });
      return c.deviceId in (result.result?.devices ?? {}) ? result : undefined;
    });
    expect(pending.status).toBe("succeeded");
    expect((await run("syncthing.pending.accept", { target: "alpha", device_id: c.deviceId, name: "gamma" })).result).toMatchObject({ accepted: "device" });
    const devices = (await run("syncthing.devices.list", { target: "alpha" })).result.devices.map((d: { deviceID: string }) => d.deviceID);
    expect(devices).toEqual(expect.arrayContaining([a.deviceId, b.deviceId, c.deviceId]));

    const paused = await run("syncthing.folder.pause", { target: "alpha", folder: "bots" });
    expect(paused.result).toEqual({ folder: "bots", paused: true });
    expect((await run("syncthing.folder.resume", { target: "alpha", folder: "bots" })).result.paused).toBe(false);
    expect((await run("syncthing.device.pause", { target: "alpha", device_id: c.deviceId })).result.paused).toBe(true);
    expect((await run("syncthing.device.remove", { target: "alpha", device_id: c.deviceId })).status).toBe("succeeded");
    sse.close();
  });

  test("folders are added only under the target's --folder-root directories, never over the agent's home", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("guard");
    const root = join(st.dataDir, "bots");
    expect((await agent.cli(["targets", "add", "syncthing", "open", "--from-config", st.configPath])).code).toBe(0);
    const rooted = await agent.cli(["targets", "add", "syncthing", "rooted", "--from-config", st.configPath, "--folder-root", `${root}/`]);
    expect(JSON.parse(rooted.stdout).folder_roots).toEqual([root]);
    expect((await agent.cli(["targets", "add", "syncthing", "wide", "--from-config", st.configPath, "--folder-root", dirname(dirname(agent.home))])).code).toBe(0);
    const relativeRoot = await agent.cli(["targets", "add", "syncthing", "loose", "--from-config", st.configPath, "--folder-root", "bots"]);
    expect(relativeRoot.code).toBe(2); // a usage mistake
    expect(relativeRoot.output).toContain("--folder-root must be an absolute directory path");
    await agent.start();
    const run = commander(tenant, agent);

    const unrooted = await run("syncthing.folder.add", { target: "open", id: "anything", path: join(st.dataDir, "anything") });
    expect(unrooted.error).toMatchObject({ code: "ST_PATH_NOT_ALLOWED", message: expect.stringContaining("--folder-root") });
    // A link under the root (a remote device can sync one in) is judged by where it leads.
    mkdirSync(root, { recursive: true });
    symlinkSync(agent.home, join(root, "innocent"));
    for (const path of [agent.home, join(agent.home, "vault.enc"), "/root/.ssh", join(root, "..", "escape"), "bots/inner", "~/bots", join(root, "innocent"), join(root, "innocent", "deeper")]) {
      const refused = await run("syncthing.folder.add", { target: "rooted", id: "stolen", path });
      expect(refused.error, path).toMatchObject({ code: "ST_PATH_NOT_ALLOWED" });
    }
    const overHome = await run("syncthing.folder.add", { target: "wide", id: "home", path: dirname(agent.home) });
    expect(overHome.error).toMatchObject({ code: "ST_PATH_NOT_ALLOWED", message: expect.stringContaining("the agent's own files") });
    const offered = await run("syncthing.pending.accept", { target: "rooted", folder: "offered", device_id: st.deviceId, path: "/etc" });
    expect(offered.error).toMatchObject({ code: "ST_PATH_NOT_ALLOWED" });
    // A folder set up outside the roots by other means is not shared through this target either.
    await st.rest("POST", "/rest/config/folders", { id: "outside", path: join(st.dataDir, "outside") }); // rejects unless SyncThing took it
    expect((await run("syncthing.folder.share", { target: "rooted", folder: "outside", device_id: st.deviceId })).error).toMatchObject({ code: "ST_PATH_NOT_ALLOWED" });
    expect((await run("syncthing.pending.accept", { target: "rooted", folder: "outside", device_id: st.deviceId, path: join(root, "decoy") })).error).toMatchObject({ code: "ST_PATH_NOT_ALLOWED" });
    expect((await run("syncthing.folder.add", { target: "rooted", id: "inside", path: join(root, "inside") })).status).toBe("succeeded");
    const folders = (await run("syncthing.folders.list", { target: "rooted" })).result.folders as Array<{ id: string; path: string }>;
    expect(folders.filter((folder) => folder.id !== "default" && folder.id !== "outside").map((folder) => [folder.id, folder.path])).toEqual([["inside", join(root, "inside")]]);
  });

  test("errors an operator can act on: ST_NOT_FOUND, ST_INVALID_PARAMS, ST_AUTH, ST_UNREACHABLE and recovery", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("solo");
    expect((await agent.cli(["targets", "add", "syncthing", "solo", "--from-config", st.configPath])).code).toBe(0);
    const wrongKey = await agent.cli(["targets", "add", "syncthing", "bad", "--url", st.apiUrl, "--api-key-stdin"], {}, "not-the-key\n");
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.output).toContain("SyncThing refused the API key");
    await agent.start();
    const run = commander(tenant, agent);

    expect((await run("syncthing.folder.status", { target: "solo", folder: "nope" })).error).toMatchObject({ code: "ST_NOT_FOUND" });
    expect((await run("syncthing.device.add", { target: "solo", device_id: "NOT-A-DEVICE" })).error).toMatchObject({ code: "ST_INVALID_PARAMS" });
    expect((await run("syncthing.status", { target: "missing" })).error).toMatchObject({ code: "TARGET_NOT_FOUND" });

    await st.stop();
    expect((await run("syncthing.status", { target: "solo" })).error).toMatchObject({ code: "ST_UNREACHABLE" });
    await st.start();
    expect((await run("syncthing.status", { target: "solo" })).status).toBe("succeeded");

    // The key is rotated in SyncThing: the agent's stored key is now refused. (SyncThing restarts
    // its API listener after a GUI config change, so it is briefly unreachable first.)
    await fetch(`${st.apiUrl}/rest/config/gui`, { method: "PATCH", headers: { "X-API-Key": st.apiKey }, body: JSON.stringify({ apiKey: "rotated-key-0123456789" }) });
    const refused = await until("the old key refused", async () => {
      const result = await run("syncthing.status", { target: "solo" });
      return result.status === "failed" && result.error?.code !== "ST_UNREACHABLE" ? result : undefined;
    });
    expect(refused.error).toMatchObject({ code: "ST_AUTH" });
  });

  test("a folder's encryption password for an untrusted device never leaves the machine", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("vault");
    await using untrusted = await startSyncthing("untrusted");
    expect((await addSyncthingTarget(agent, "vault", st)).code).toBe(0);
    await agent.start();
    const run = commander(tenant, agent);
    const password = "correct-horse-battery-staple-7261";
    expect((await run("syncthing.device.add", { target: "vault", device_id: untrusted.deviceId, name: "untrusted" })).status).toBe("succeeded");
    const folder = { id: "sealed", path: join(st.dataDir, "sealed"), devices: [{ deviceID: untrusted.deviceId, encryptionPassword: password }] };
    const posted = await fetch(`${st.apiUrl}/rest/config/folders`, { method: "POST", headers: { "X-API-Key": st.apiKey }, body: JSON.stringify(folder) });
    expect(posted.ok).toBe(true);

    const listed = await run("syncthing.folders.list", { target: "vault" });
    const updated = await run("syncthing.folder.add", { target: "vault", id: "sealed", label: "Sealed", path: folder.path });
    for (const reply of [listed, updated]) {
      expect(reply.status).toBe("succeeded");
      expect(JSON.stringify(reply)).not.toContain(password);
    }
    const sealed = (listed.result.folders as Array<{ id: string; devices: unknown[] }>).find((entry) => entry.id === "sealed");
    expect(sealed?.devices).toContainEqual(expect.objectContaining({ deviceID: untrusted.deviceId, encrypted: true }));
    // Updating the folder through the agent kept the password in SyncThing.
    const stored = (await (await fetch(`${st.apiUrl}/rest/config/folders/sealed`, { headers: { "X-API-Key": st.apiKey } })).json()) as { label: string; devices: Array<{ encryptionPassword?: string }> };
    expect(stored.label).toBe("Sealed");
    expect(stored.devices.map((device) => device.encryptionPassword)).toContain(password);
  });
});

describe("SyncThing event stream", () => {
  test("after a SyncThing restart the agent resumes following without replaying old events", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("events");
    expect((await addSyncthingTarget(agent, "main", st)).code).toBe(0);
    // Old history the agent must not flood the control plane with.
    mkdirSync(join(st.dataDir, "old"), { recursive: true });
    await fetch(`${st.apiUrl}/rest/config/folders`, { method: "POST", headers: { "X-API-Key": st.apiKey }, body: JSON.stringify({ id: "old", path: join(st.dataDir, "old") }) });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const sse = await openEventStream(`${cp.url}/api/v1/events?types=agent.event`, tenant.keys.viewer);
    await agent.start();
    const run = commander(tenant, agent);
    mkdirSync(join(st.dataDir, "fresh"), { recursive: true });
    expect((await run("syncthing.folder.add", { target: "main", id: "fresh", path: join(st.dataDir, "fresh") })).status).toBe("succeeded");
    await sse.waitFor((e) => JSON.stringify(e.data.data).includes('"fresh"'));
    expect(sse.events.some((e) => JSON.stringify(e.data.data).includes('"folder":"old"'))).toBe(false);

    await st.stop();
    await st.start();
    await sse.waitFor((e) => e.data.event_type === "SyncthingRestarted", 60_000);
    const afterRestart = sse.events.length;
    mkdirSync(join(st.dataDir, "later"), { recursive: true });
    expect((await run("syncthing.folder.add", { target: "main", id: "later", path: join(st.dataDir, "later") })).status).toBe("succeeded");
    await sse.waitFor((e) => JSON.stringify(e.data.data).includes('"later"'), 60_000);
    // Only what happened after the restart came through, not the new instance's start-up backlog replayed from id 1.
    expect(sse.events.slice(afterRestart).length).toBeLessThan(20);
    sse.close();
  });
});

describe("SyncThing events across a tunnel outage", () => {
  test("events that happen while the control plane is away are delivered when the agent is back", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using st = await startSyncthing("outage");
    expect((await addSyncthingTarget(agent, "main", st)).code).toBe(0);
    const run = await agent.start();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the follower has synced with SyncThing's event ids

    await cp.stop();
    await run.waitForLog((line) => line.msg === "disconnected from control plane");
    mkdirSync(join(st.dataDir, "offline-change"), { recursive: true });
    await fetch(`${st.apiUrl}/rest/config/folders`, { method: "POST", headers: { "X-API-Key": st.apiKey }, body: JSON.stringify({ id: "offline-change", path: join(st.dataDir, "offline-change") }) });
    await new Promise((resolve) => setTimeout(resolve, 500));

    await cp.restart();
    const sse = await openEventStream(`${cp.url}/api/v1/events?types=agent.event`, tenant.keys.viewer);
    await sse.waitFor((e) => JSON.stringify(e.data.data).includes('"offline-change"'), 30_000);
    sse.close();
  });
});
