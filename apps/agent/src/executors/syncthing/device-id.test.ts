import { describe, expect, test } from "vitest";
import { ExecutorError } from "../executor-error.js";
import { checkDeviceId, luhnBase32, normalizeDeviceId } from "./device-id.js";

// The example id of SyncThing's own tests (lib/protocol/deviceid_test.go).
const CANONICAL = "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2";

describe("device ids (Luhn base32, as SyncThing checks them)", () => {
  test("accepts the forms SyncThing accepts and returns the canonical one", () => {
    for (const form of [
      CANONICAL,
      CANONICAL.toLowerCase(),
      CANONICAL.replace(/-/g, ""),
      CANONICAL.replace(/-/g, " "),
      `  ${CANONICAL}\n`,
      // The old 52-character form without check characters.
      [...CANONICAL.replace(/-/g, "")].filter((_, i) => i % 14 !== 13).join(""),
    ]) {
      expect(checkDeviceId(form), form).toEqual({ ok: true, deviceId: CANONICAL });
    }
  });

  test("reads the look-alike digits 0, 1 and 8 as O, I and B", () => {
    expect(checkDeviceId(CANONICAL.replace("IOI", "1O1"))).toEqual({ ok: true, deviceId: CANONICAL });
    expect(checkDeviceId(CANONICAL.replace("TBBZ", "T88Z"))).toEqual({ ok: true, deviceId: CANONICAL });
  });

  test("says what is wrong: a mistyped character, a wrong length, a character outside base32", () => {
    expect(checkDeviceId(CANONICAL.replace("MZJNU2Y", "MZJNU2Z"))).toEqual({ ok: false, reason: expect.stringContaining("check character 1 of 4 is incorrect") });
    expect(checkDeviceId(CANONICAL.slice(0, -1))).toEqual({ ok: false, reason: expect.stringContaining("incorrect length: 55") });
    expect(checkDeviceId("NOT-A-DEVICE")).toEqual({ ok: false, reason: expect.stringContaining("incorrect length") });
    expect(checkDeviceId(CANONICAL.replace("P56", "P9_"))).toEqual({ ok: false, reason: '"9" is not a base32 character' });
  });

  test("normalizeDeviceId throws ST_INVALID_PARAMS naming the field and the problem", () => {
    expect(normalizeDeviceId(CANONICAL.toLowerCase())).toBe(CANONICAL);
    let error: unknown;
    try {
      normalizeDeviceId("ABC", "devices[]");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ExecutorError);
    expect(error).toMatchObject({ code: "ST_INVALID_PARAMS", message: expect.stringMatching(/^devices\[\] "ABC" is not a SyncThing device id: incorrect length/), retryable: false });
  });

  test("the check character is Luhn mod 32 over SyncThing's base32 alphabet", () => {
    expect(luhnBase32("P56IOI7MZJNU2")).toBe("Y");
    expect(luhnBase32("AAAAAAAAAAAAA")).toBe("A");
  });
});
