import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { connectSyncthing, startSyncthing, type SyncthingInstance } from "../../../../../test/support/syncthing.js";
import { until } from "../../../../../test/support/until.js";
import type { ExecutorError } from "../executor-error.js";
import { SyncthingClient } from "./client.js";
import { EventFollower, type EventFollowerOptions, type FollowerPosition } from "./event-follower.js";
import { FOLLOWED_EVENT_TYPES, type FollowedEvent } from "./events.js";

const clientFor = (st: SyncthingInstance) => new SyncthingClient({ url: st.apiUrl, apiKey: st.apiKey, timeoutMs: 5_000 });
const mentions = (event: FollowedEvent, folder: string) => "folder" in event.data && event.data.folder === folder;

/** A running follower that records what it reports; stopped by `await using`. */
function follow(st: SyncthingInstance, options: Partial<EventFollowerOptions> = {}) {
  const events: FollowedEvent[] = [];
  const restarts: Array<{ startedAt: string; previousStartedAt: string; at: number }> = [];
  const errors: ExecutorError[] = [];
  const follower = new EventFollower({
    client: clientFor(st),
    pollTimeoutS: 30,
    backoff: { baseMs: 100, maxMs: 500 },
    onEvent: (event) => events.push(event),
    onRestart: (info) => restarts.push({ ...info, at: Date.now() }),
    onError: (error) => errors.push(error),
    ...options,
  }).start();
  return {
    follower,
    events,
    restarts,
    errors,
    waitFor: (what: string, predicate: (event: FollowedEvent) => boolean, timeoutMs = 20_000) => until(what, async () => events.find(predicate), timeoutMs, 20),
    [Symbol.asyncDispose]: () => follower.stop(),
  };
}

/** Makes SyncThing emit a burst of StateChanged events (each resume rescans the folder). */
async function churn(client: SyncthingClient, folder: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await client.folderPause({ folder });
    await client.folderResume({ folder });
  }
}

describe("EventFollower against real SyncThing 1.19.2", () => {
  test("delivers typed folder state events as they happen, none from before it started", async () => {
    await using st = await startSyncthing("events");
    const client = clientFor(st);
    mkdirSync(join(st.dataDir, "old"));
    await client.folderAdd({ id: "old", path: join(st.dataDir, "old") });
    await until("history on SyncThing", async () => ((await client.events({ since: 0, timeoutS: 0 })).some((event) => event.type === "StateChanged") ? true : undefined));

    await using run = follow(st);
    await until("the follower synced", async () => run.follower.position);
    mkdirSync(join(st.dataDir, "fresh"));
    await client.folderAdd({ id: "fresh", path: join(st.dataDir, "fresh") });
    const idle = await run.waitFor("fresh idle", (event) => event.type === "StateChanged" && event.data.folder === "fresh" && event.data.to === "idle");
    expect(idle).toMatchObject({ type: "StateChanged", id: expect.any(Number), time: expect.any(String), data: { folder: "fresh", from: expect.any(String), to: "idle" } });
    writeFileSync(join(st.dataDir, "fresh", "a.txt"), "a");
    await client.folderRescan({ folder: "fresh" });
    const summary = await run.waitFor("a summary of fresh with the file", (event) => event.type === "FolderSummary" && event.data.folder === "fresh" && event.data.summary.localFiles === 1);
    expect(summary).toMatchObject({ type: "FolderSummary", data: { folder: "fresh", summary: { state: expect.any(String), globalFiles: 1 } } });

    expect(run.events.some((event) => mentions(event, "old"))).toBe(false);
    expect(run.events.every((event) => (FOLLOWED_EVENT_TYPES as readonly string[]).includes(event.type))).toBe(true);
    const ids = run.events.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    expect(run.restarts).toEqual([]);
  });

  test("device connections and folder completion of a peer", async () => {
    await using a = await startSyncthing("ev-a");
    await using b = await startSyncthing("ev-b");
    await using run = follow(a, { types: ["DeviceConnected", "DeviceDisconnected", "FolderCompletion"] });
    await until("the follower synced", async () => run.follower.position);
    await connectSyncthing(a, b);
    const connected = await run.waitFor("b connected", (event) => event.type === "DeviceConnected" && event.data.id === b.deviceId);
    expect(connected).toMatchObject({ data: { id: b.deviceId, addr: expect.stringContaining("127.0.0.1"), clientVersion: expect.stringContaining("v1.19") } });

    mkdirSync(join(a.dataDir, "shared"));
    writeFileSync(join(a.dataDir, "shared", "x.txt"), "x".repeat(10_000));
    await clientFor(a).folderAdd({ id: "shared", path: join(a.dataDir, "shared"), devices: [b.deviceId] });
    await clientFor(b).folderAdd({ id: "shared", path: join(b.dataDir, "shared"), devices: [a.deviceId] });
    const complete = await run.waitFor("b complete", (event) => event.type === "FolderCompletion" && event.data.device === b.deviceId && event.data.completion === 100 && event.data.globalBytes >= 10_000);
    expect(complete).toMatchObject({ data: { folder: "shared", device: b.deviceId, completion: 100, needBytes: 0 } });

    await b.stop();
    const gone = await run.waitFor("b disconnected", (event) => event.type === "DeviceDisconnected" && event.data.id === b.deviceId);
    expect(gone.data).toMatchObject({ id: b.deviceId, error: expect.any(String) });
    expect(run.events.every((event) => ["DeviceConnected", "DeviceDisconnected", "FolderCompletion"].includes(event.type))).toBe(true);
  });

  test("after a SyncThing restart it backs off while SyncThing is away, resyncs, and replays nothing", async () => {
    await using st = await startSyncthing("restart");
    const client = clientFor(st);
    mkdirSync(join(st.dataDir, "busy"));
    await client.folderAdd({ id: "busy", path: join(st.dataDir, "busy") });
    await using run = follow(st, { types: ["StateChanged"] });
    await until("the follower synced", async () => run.follower.position);
    // Old history: the remembered id ends up far above what the new instance will have reached
    // when it is polled, so polling it with the old id would wait for nothing.
    await churn(client, "busy", 10);
    await until("the churn seen", async () => (run.events.filter((event) => event.type === "StateChanged" && event.data.folder === "busy" && event.data.to === "idle").length >= 10 ? true : undefined));
    const before = run.follower.position!;
    expect(before.eventId).toBeGreaterThanOrEqual(30);

    await st.restart();
    await until("the restart noticed", async () => run.restarts[0], 20_000, 20);
    expect(run.restarts).toHaveLength(1);
    expect(run.restarts[0]!.previousStartedAt).toBe(before.startedAt);
    expect(run.errors.some((error) => error.code === "ST_UNREACHABLE" && error.retryable)).toBe(true);
    const delivered = run.events.length;

    mkdirSync(join(st.dataDir, "later"));
    const asked = Date.now();
    await client.folderAdd({ id: "later", path: join(st.dataDir, "later") });
    await run.waitFor("later idle", (event) => event.type === "StateChanged" && event.data.folder === "later" && event.data.to === "idle", 10_000);
    expect(Date.now() - asked).toBeLessThan(5_000); // well under the 30 s long poll: no stall on the old id
    const after = run.events.slice(delivered);
    // Nothing from before the restart was noticed comes through again.
    for (const event of after) expect(Date.parse(event.time), JSON.stringify(event)).toBeGreaterThanOrEqual(run.restarts[0]!.at - 1_000);
    expect(run.follower.position!.startedAt).not.toBe(before.startedAt);
    expect(run.follower.position!.eventId).toBeLessThan(before.eventId);
  });

  test("a follower resumes where an earlier one stopped; after a restart in between it starts from the newest event instead", async () => {
    await using st = await startSyncthing("resume");
    const client = clientFor(st);
    for (const folder of ["one", "two"]) mkdirSync(join(st.dataDir, folder));
    await client.folderAdd({ id: "one", path: join(st.dataDir, "one") });
    let position: FollowerPosition;
    {
      await using first = follow(st, { types: ["StateChanged"] });
      await until("the first synced", async () => first.follower.position);
      await churn(client, "one", 1);
      await first.waitFor("one idle", (event) => mentions(event, "one") && event.type === "StateChanged" && event.data.to === "idle");
      position = first.follower.position!;
    }

    // Nobody follows while this happens: the next follower picks it up.
    await client.folderAdd({ id: "two", path: join(st.dataDir, "two") });
    await until("two scanned", async () => ((await client.folderStatus({ folder: "two" })).state === "idle" ? true : undefined));
    {
      await using second = follow(st, { types: ["StateChanged"], resume: position });
      await second.waitFor("two idle, from before it started", (event) => mentions(event, "two") && event.type === "StateChanged" && event.data.to === "idle");
      expect(second.events.some((event) => mentions(event, "one"))).toBe(false);
      expect(second.restarts).toEqual([]);
      position = second.follower.position!;
    }

    // SyncThing restarts, and the new instance's stream already runs past the remembered id
    // before anyone follows it: a follower trusting the old id would replay those events.
    await st.restart();
    const stateStream = await client.events({ since: 0, timeoutS: 0, types: ["StateChanged"] }); // opens the stream, as an earlier follower would have
    expect(stateStream).toEqual([]);
    await churn(client, "one", Math.ceil(position.eventId / 3) + 2);
    await until("the new stream past the old id", async () => ((await client.newestEventId({ types: ["StateChanged"] })) > position.eventId ? true : undefined));
    const resumedAt = Date.now();
    await using third = follow(st, { types: ["StateChanged"], resume: position });
    await until("the restart reported", async () => third.restarts[0]);
    expect(third.restarts[0]).toMatchObject({ previousStartedAt: position.startedAt, startedAt: expect.any(String) });
    await churn(client, "two", 1);
    await third.waitFor("two idle again", (event) => mentions(event, "two") && event.type === "StateChanged" && event.data.to === "idle");
    expect(third.events.some((event) => mentions(event, "one"))).toBe(false);
    for (const event of third.events) expect(Date.parse(event.time)).toBeGreaterThanOrEqual(resumedAt - 1_000);
  });
});
