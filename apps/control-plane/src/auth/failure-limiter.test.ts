import { describe, expect, test } from "vitest";
import { clientKey, FailureLimiter } from "./failure-limiter.js";

describe("FailureLimiter", () => {
  test("a client is held back after its failures until its window ends; others are not", () => {
    let now = 1_000;
    const limiter = new FailureLimiter({ perKey: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) expect(limiter.attempt("a").waitMs).toBe(0);
    expect(limiter.attempt("a").waitMs).toBe(60_000);
    expect(limiter.attempt("b").waitMs).toBe(0);
    now += 59_000;
    expect(limiter.attempt("a").waitMs).toBe(1_000);
    now += 1_000;
    expect(limiter.attempt("a").waitMs).toBe(0);
  });

  test("attempts in flight count: a burst cannot pass before its first failure is known; a success gives its attempt back", () => {
    const limiter = new FailureLimiter({ perKey: 3, windowMs: 60_000 }, () => 0);
    const burst = Array.from({ length: 10 }, () => limiter.attempt("a"));
    expect(burst.filter((attempt) => attempt.waitMs === 0)).toHaveLength(3);
    burst[0]!.succeeded();
    expect(limiter.attempt("a").waitMs).toBe(0);
    expect(limiter.attempt("a").waitMs).toBeGreaterThan(0);
  });

  test("memory stays bounded: the oldest clients are forgotten first", () => {
    let now = 0;
    const limiter = new FailureLimiter({ perKey: 1, windowMs: 60_000, maxKeys: 2 }, () => now);
    for (const key of ["a", "b", "c"]) {
      limiter.attempt(key);
      now += 1;
    }
    expect(limiter.attempt("a").waitMs).toBe(0); // forgotten
    expect(limiter.attempt("c").waitMs).toBeGreaterThan(0);
  });

  test("an IPv6 client is its /64; IPv4 (mapped too) its address", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("::ffff:10.1.2.3")).toBe("::ffff:10.1.2.3");
  });
});
