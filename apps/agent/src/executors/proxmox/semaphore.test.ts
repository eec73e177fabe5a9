import { describe, expect, test } from "vitest";
import { KeyedMutex, Semaphore } from "./semaphore.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Work that runs until `finish()` is called, recording when it started. */
function gate(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: async () => (log.push(name), await done, name), finish };
}

describe("KeyedMutex", () => {
  test("one holder per key, in order; other keys run alongside", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const [a1, a2, b1] = [gate(log, "a1"), gate(log, "a2"), gate(log, "b1")];
    const runs = [mutex.run("a", a1.work), mutex.run("a", a2.work), mutex.run("b", b1.work)];
    await tick();
    expect(log).toEqual(["a1", "b1"]);
    a1.finish();
    await tick();
    expect(log).toEqual(["a1", "b1", "a2"]);
    a2.finish();
    b1.finish();
    expect(await Promise.all(runs)).toEqual(["a1", "a2", "b1"]);
  });

  test("a waiter whose signal aborts leaves at once with the reason; the queue behind it moves on", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const [holder, waiter, after] = [gate(log, "holder"), gate(log, "waiter"), gate(log, "after")];
    const controller = new AbortController();
    const held = mutex.run("vm", holder.work);
    const aborted = mutex.run("vm", waiter.work, controller.signal);
    const next = mutex.run("vm", after.work);
    controller.abort(new Error("timed out"));
    await expect(aborted).rejects.toThrow("timed out");
    expect(log).toEqual(["holder"]);
    holder.finish();
    await tick();
    expect(log).toEqual(["holder", "after"]);
    after.finish();
    expect([await held, await next]).toEqual(["holder", "after"]);
    // Released completely: a new holder gets the key at once.
    expect(await mutex.run("vm", async () => "free")).toBe("free");
  });

  test("an already aborted signal never takes the key", async () => {
    const mutex = new KeyedMutex();
    const holder = gate([], "holder");
    void mutex.run("vm", holder.work);
    await expect(mutex.run("vm", async () => "ran", AbortSignal.abort(new Error("gone")))).rejects.toThrow("gone");
    holder.finish();
  });
});

describe("Semaphore", () => {
  test("at most `limit` at once; an aborted waiter gives up its place, not a slot", async () => {
    const semaphore = new Semaphore(2);
    const log: string[] = [];
    const [one, two, three, four] = [gate(log, "1"), gate(log, "2"), gate(log, "3"), gate(log, "4")];
    const controller = new AbortController();
    const runs = [semaphore.run(one.work), semaphore.run(two.work)];
    const aborted = semaphore.run(three.work, controller.signal);
    const fourth = semaphore.run(four.work);
    await tick();
    expect(log).toEqual(["1", "2"]);
    controller.abort(new Error("cancelled"));
    await expect(aborted).rejects.toThrow("cancelled");
    one.finish();
    await tick();
    expect(log).toEqual(["1", "2", "4"]);
    two.finish();
    four.finish();
    await Promise.all([...runs, fourth]);
    // Every slot came back: two more run at once.
    const log2: string[] = [];
    const [five, six] = [gate(log2, "5"), gate(log2, "6")];
    const more = [semaphore.run(five.work), semaphore.run(six.work)];
    await tick();
    expect(log2).toEqual(["5", "6"]);
    five.finish();
    six.finish();
    await Promise.all(more);
  });
});
