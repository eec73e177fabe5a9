import { describe, expect, test } from "vitest";
import { z } from "zod";
import { uuidv7 } from "./ids.js";

describe("uuidv7", () => {
  test("is a valid UUID of version 7 with the RFC variant", () => {
    const id = uuidv7();
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe("7");
    expect(["8", "9", "a", "b"]).toContain(id[19]);
  });

  test("ids from later milliseconds sort after earlier ones", () => {
    const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000].map((ms) => uuidv7(ms));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.replace(/-/g, "").slice(0, 12)).toBe((1_700_000_000_000).toString(16).padStart(12, "0"));
  });

  test("ids of the same millisecond differ", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_700_000_000_000)));
    expect(ids.size).toBe(1000);
  });
});
