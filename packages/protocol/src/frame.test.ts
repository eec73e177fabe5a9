import { describe, expect, test } from "vitest";
import { AGENT_TO_SERVER } from "./messages/agent-to-server.js";
import { decodeFrame, encodeFrame } from "./frame.js";
import { validateCommandParams } from "./commands/validate.js";

describe("frames", () => {
  test("a frame encoded by one side decodes on the other", () => {
    const raw = encodeFrame(AGENT_TO_SERVER, "command.accepted", { id: "0190a0b4-6f00-7000-8000-000000000000" });
    expect(decodeFrame(AGENT_TO_SERVER, raw)).toEqual({ ok: true, message: { type: "command.accepted", payload: { id: "0190a0b4-6f00-7000-8000-000000000000" } } });
  });

  test.each([
    ["not json", "{", "INVALID_JSON"],
    ["no envelope", JSON.stringify({ type: "hello" }), "INVALID_FRAME"],
    ["unknown type", JSON.stringify({ v: 1, type: "nope", payload: {} }), "UNKNOWN_MESSAGE_TYPE"],
    ["bad payload", JSON.stringify({ v: 1, type: "command.accepted", payload: { id: 5 } }), "INVALID_FRAME"],
    ["prototype key as type", JSON.stringify({ v: 1, type: "constructor", payload: {} }), "UNKNOWN_MESSAGE_TYPE"],
  ])("%s is rejected with %s and never throws", (_name, raw, code) => {
    const result = decodeFrame(AGENT_TO_SERVER, raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe(code);
  });
});

describe("command params", () => {
  test("defaults are applied and unknown fields refused with their path", () => {
    expect(validateCommandParams("agent.echo", { data: 1 })).toEqual({ ok: true, name: "agent.echo", params: { data: 1, delay_ms: 0 } });
    const bad = validateCommandParams("agent.echo", { delay_ms: "soon", extra: 1 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "params.delay_ms" }), { path: "params.extra", message: "unknown field" }]));
  });

  test("a SyncThing folder id that would address another endpoint is refused before anything is queued", () => {
    for (const folder of [".", "..", "a/b"]) {
      const bad = validateCommandParams("syncthing.folder.status", { folder });
      expect(!bad.ok && bad.details, folder).toEqual([expect.objectContaining({ path: "params.folder", message: expect.stringContaining("cannot be . or ..") })]);
    }
    expect(validateCommandParams("syncthing.folder.status", { folder: "abcd-1234.x" }).ok).toBe(true);
  });

  test("an unknown command names the field and lists the known ones", () => {
    const unknown = validateCommandParams("agent.reboot", {});
    expect(!unknown.ok && unknown.code).toBe("UNKNOWN_COMMAND");
    expect(!unknown.ok && unknown.details).toEqual([{ path: "name", message: expect.stringContaining("agent.ping") }]);
  });
});
