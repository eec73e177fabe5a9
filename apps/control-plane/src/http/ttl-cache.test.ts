import { describe, expect, test } from "vitest";
import { TtlCache } from "./ttl-cache.js";

describe("TtlCache", () => {
  test("an eviction forgets the matching entries only, and a load under way meanwhile is not cached", async () => {
    const cache = new TtlCache<string>(60_000);
    await cache.get("a", async () => "key-1");
    await cache.get("b", async () => "key-2");
    let releaseLoad!: (value: string) => void;
    const slow = cache.get("c", () => new Promise<string>((resolve) => (releaseLoad = resolve)));
    cache.evict((value) => value === "key-1");
    releaseLoad("read before the eviction");
    expect(await slow).toBe("read before the eviction");

    let loads = 0;
    const load = async () => `fresh-${++loads}`;
    expect(await cache.get("a", load)).toBe("fresh-1"); // evicted: read again
    expect(await cache.get("b", load)).toBe("key-2"); // kept
    expect(await cache.get("c", load)).toBe("fresh-2"); // its stale read was not kept
  });
});
