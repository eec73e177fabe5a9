import { describe, expect, test } from "vitest";
import { parseAgentEnv } from "./env.js";

describe("agent environment", () => {
  test("a delay past what a timer can wait for is refused and named, instead of firing every millisecond", () => {
    for (const name of ["BOTMOX_INVENTORY_INTERVAL_MS", "BOTMOX_RESULT_RESEND_MS", "BOTMOX_RECONNECT_BASE_MS", "BOTMOX_RECONNECT_CAP_MS"]) {
      expect(() => parseAgentEnv({ [name]: "3000000000" }), name).toThrow(new RegExp(`${name}: Too big`));
      expect(parseAgentEnv({ [name]: "2000000000" })[name as "BOTMOX_RESULT_RESEND_MS"]).toBe(2_000_000_000);
    }
  });
});
