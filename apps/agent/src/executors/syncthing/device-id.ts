import { ExecutorError } from "../executor-error.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** SyncThing's Luhn mod 32 check character over base32 text (lib/protocol/luhn.go). */
export function luhnBase32(text: string): string {
  let factor = 1;
  let sum = 0;
  for (const char of text) {
    const codepoint = ALPHABET.indexOf(char);
    if (codepoint < 0) throw new Error(`"${char}" is not a base32 character`);
    const addend = factor * codepoint;
    factor = factor === 2 ? 1 : 2;
    sum += Math.floor(addend / 32) + (addend % 32);
  }
  return ALPHABET[(32 - (sum % 32)) % 32]!;
}

export type DeviceIdCheck = { ok: true; deviceId: string } | { ok: false; reason: string };

/**
 * Checks a device id the way SyncThing parses one (DeviceID.UnmarshalText) and returns it in
 * canonical form (`XXXXXXX-XXXXXXX-…`, 8 groups of 7). Like SyncThing it ignores dashes, spaces
 * and case, reads the look-alikes 0, 1 and 8 as O, I and B, and accepts the old 52-character form
 * without check characters; the 56-character form carries a check character after every 13.
 */
export function checkDeviceId(input: string): DeviceIdCheck {
  const text = input
    .trim()
    .toUpperCase()
    .replace(/[-\s]/g, "")
    .replace(/0/g, "O")
    .replace(/1/g, "I")
    .replace(/8/g, "B");
  const bad = [...text].find((char) => !ALPHABET.includes(char));
  if (bad !== undefined) return { ok: false, reason: `"${bad}" is not a base32 character` };
  let bare: string;
  if (text.length === 52) {
    bare = text;
  } else if (text.length === 56) {
    bare = "";
    for (let group = 0; group < 4; group++) {
      const chunk = text.slice(group * 14, group * 14 + 13);
      if (luhnBase32(chunk) !== text[group * 14 + 13]) return { ok: false, reason: `check character ${group + 1} of 4 is incorrect (mistyped or truncated?)` };
      bare += chunk;
    }
  } else {
    return { ok: false, reason: `incorrect length: ${text.length} characters without dashes, expected 56` };
  }
  let full = "";
  for (let group = 0; group < 4; group++) {
    const chunk = bare.slice(group * 13, group * 13 + 13);
    full += chunk + luhnBase32(chunk);
  }
  return { ok: true, deviceId: full.match(/.{7}/g)!.join("-") };
}

/** The canonical device id, or ST_INVALID_PARAMS saying what is wrong with it. */
export function normalizeDeviceId(input: string, field = "device_id"): string {
  const result = checkDeviceId(input);
  if (result.ok) return result.deviceId;
  throw new ExecutorError("ST_INVALID_PARAMS", `${field} "${input}" is not a SyncThing device id: ${result.reason}`, { field, value: input, reason: result.reason });
}
