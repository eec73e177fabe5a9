import { describe, expect, test } from "vitest";
import { FailureLimiter } from "./failure-limiter.js";

describe("FailureLimiter", () => {
  test("an address is blocked after its failures until its window ends; others are not", () => {
    let now = 1_000;
    const limiter = new FailureLimiter({ perKey: 3, overall: 100, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.blockedFor("a")).toBe(0);
      limiter.recordFailure("a");
    }
    expect(limiter.blockedFor("a")).toBe(60_000);
    expect(limiter.blockedFor("b")).toBe(0);
    now += 59_000;
    expect(limiter.blockedFor("a")).toBe(1_000);
    now += 1_000;
    expect(limiter.blockedFor("a")).toBe(0);
  });

  test("failures from many addresses together block everyone for the rest of the window", () => {
    let now = 0;
    const limiter = new FailureLimiter({ perKey: 3, overall: 5, windowMs: 10_000 }, () => now);
    for (let i = 0; i < 5; i++) limiter.recordFailure(`addr-${i}`);
    expect(limiter.blockedFor("fresh")).toBe(10_000);
    now = 10_000;
    expect(limiter.blockedFor("fresh")).toBe(0);
  });

  test("memory stays bounded: the oldest addresses are forgotten first", () => {
    let now = 0;
    const limiter = new FailureLimiter({ perKey: 1, overall: 1_000_000, windowMs: 60_000, maxKeys: 2 }, () => now);
    for (const key of ["a", "b", "c"]) {
      limiter.recordFailure(key);
      now += 1;
    }
    expect(limiter.blockedFor("a")).toBe(0); // forgotten
    expect(limiter.blockedFor("b")).toBeGreaterThan(0);
    expect(limiter.blockedFor("c")).toBeGreaterThan(0);
  });
});
