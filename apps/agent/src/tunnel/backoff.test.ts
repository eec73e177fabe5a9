import { describe, expect, test } from "vitest";
import { fullJitterDelay, retryAfterFromReason } from "./backoff.js";

describe("reconnect backoff", () => {
  test("full jitter stays within [0, min(cap, base·2^attempt)]", () => {
    expect(fullJitterDelay(0, 500, 30_000, () => 0.999)).toBe(499);
    expect(fullJitterDelay(3, 500, 30_000, () => 0.5)).toBe(2_000);
    expect(fullJitterDelay(20, 500, 30_000, () => 0.999)).toBe(29_970);
    expect(fullJitterDelay(5, 500, 30_000, () => 0)).toBe(0);
  });

  test("delays of many agents spread over the whole window", () => {
    const delays = Array.from({ length: 1000 }, () => fullJitterDelay(6, 500, 30_000));
    expect(Math.min(...delays)).toBeLessThan(3_000);
    expect(Math.max(...delays)).toBeGreaterThan(27_000);
  });

  test("retry_after_ms is read from a try-again-later close reason, anything else ignored", () => {
    expect(retryAfterFromReason('{"retry_after_ms":2500}')).toBe(2500);
    expect(retryAfterFromReason("server restarting")).toBeUndefined();
    expect(retryAfterFromReason('{"retry_after_ms":-1}')).toBeUndefined();
    expect(retryAfterFromReason('{"retry_after_ms":"soon"}')).toBeUndefined();
  });
});
