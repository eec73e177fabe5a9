import { describe, expect, test } from "vitest";
import { generateApiKey, generatePairingCode, isWellFormedPairingCode, normalizePairingCode, sha256Hex } from "./secrets.js";

describe("pairing codes", () => {
  test("generated codes are well formed and differ", () => {
    const codes = new Set(Array.from({ length: 200 }, generatePairingCode));
    expect(codes.size).toBe(200);
    for (const code of codes) expect(isWellFormedPairingCode(code)).toBe(true);
  });

  test("codes are accepted as people type them", () => {
    expect(normalizePairingCode(" bmx-7k2q-m9xd ")).toBe("BMX-7K2Q-M9XD");
    expect(normalizePairingCode("7K2QM9XD")).toBe("BMX-7K2Q-M9XD");
    expect(normalizePairingCode("BMX-7K2O-M9XL")).toBe("BMX-7K20-M9X1");
    expect(isWellFormedPairingCode(normalizePairingCode("BMX-123"))).toBe(false);
  });
});

describe("API keys", () => {
  test("only the hash is needed to recognise a key, and the prefix identifies it in logs", () => {
    const key = generateApiKey();
    expect(key.key).toMatch(/^bmx_[0-9A-Za-z]{40}$/);
    expect(key.hash).toBe(sha256Hex(key.key));
    expect(key.key.startsWith(key.prefix)).toBe(true);
  });
});
