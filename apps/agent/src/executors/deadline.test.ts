import { getEventListeners } from "node:events";
import { describe, expect, test } from "vitest";
import { deadlineSignal } from "./deadline.js";

describe("deadlineSignal", () => {
  test("aborts with the parent's reason, or with a TimeoutError when time runs out", async () => {
    const parent = new AbortController();
    const first = deadlineSignal(parent.signal, 60_000);
    parent.abort(new Error("cancelled"));
    expect(first.signal.reason).toMatchObject({ message: "cancelled" });
    first.release();

    const second = deadlineSignal(undefined, 20);
    await new Promise((resolve) => second.signal.addEventListener("abort", resolve));
    expect(second.signal.reason).toMatchObject({ name: "TimeoutError" });
  });

  test("released, it leaves nothing attached to a long-lived parent", () => {
    const parent = new AbortController().signal;
    for (let i = 0; i < 100; i++) deadlineSignal(parent, 60_000).release();
    expect(getEventListeners(parent, "abort")).toHaveLength(0);
  });

  test("an aborted parent throws at once", () => {
    expect(() => deadlineSignal(AbortSignal.abort(new Error("gone")), 1_000)).toThrow("gone");
  });
});
