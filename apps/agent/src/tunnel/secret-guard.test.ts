import { describe, expect, test } from "vitest";
import { SecretGuard } from "./secret-guard.js";

const frame = (value: unknown) => JSON.stringify({ type: "command.result", payload: { result: value } });

describe("SecretGuard", () => {
  test("finds a vault secret in a frame, also where JSON escapes it", () => {
    const guard = new SecretGuard();
    const tricky = 'pa"ss\\word\n2024';
    guard.update(["plain-secret-value", tricky]);
    expect(guard.leakIn(frame("x plain-secret-value y"))).toBe(true);
    expect(guard.leakIn(frame({ label: tricky }))).toBe(true);
    expect(guard.leakIn(frame("nothing to see"))).toBe(false);
  });

  test("values too short to tell from ordinary text are not guarded", () => {
    const guard = new SecretGuard();
    guard.update(["1234567"]);
    expect(guard.leakIn(frame("order 1234567"))).toBe(false);
  });

  test("a secret added for a command is guarded at once and survives the next refresh", () => {
    const guard = new SecretGuard();
    guard.add("fresh-target-token");
    expect(guard.leakIn(frame("fresh-target-token"))).toBe(true);
    guard.update([]);
    expect(guard.leakIn(frame("fresh-target-token"))).toBe(true);
  });
});
