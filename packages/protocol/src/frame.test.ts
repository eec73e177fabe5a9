import { describe, expect, test } from "vitest";
import { AGENT_TO_SERVER } from "./messages/agent-to-server.js";
import { decodeFrame, encodeFrame } from "./frame.js";
import { MAX_DATA_DEPTH, validateCommandParams } from "./commands/validate.js";
import { SERVER_TO_AGENT } from "./messages/server-to-agent.js";

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

describe("bounds", () => {
  test("times a Date cannot hold and delays a timer cannot wait for are refused, not stored or obeyed", () => {
    const id = "0190a0b4-6f00-7000-8000-000000000000";
    const rejected = (catalog: typeof AGENT_TO_SERVER | typeof SERVER_TO_AGENT, type: string, payload: unknown) => {
      const result = decodeFrame(catalog, JSON.stringify({ v: 1, type, payload }));
      return !result.ok && result.error.code;
    };
    expect(rejected(AGENT_TO_SERVER, "command.result", { id, status: "succeeded", finished_at: 8.9e15 })).toBe("INVALID_FRAME");
    expect(rejected(AGENT_TO_SERVER, "command.result", { id, status: "succeeded", started_at: -1, finished_at: 1 })).toBe("INVALID_FRAME");
    expect(rejected(AGENT_TO_SERVER, "telemetry", { collected_at: 9e15, counts: {}, healthy_targets: 0, unhealthy_targets: 0 })).toBe("INVALID_FRAME");
    expect(rejected(SERVER_TO_AGENT, "welcome", { protocol_version: 1, session_id: "s", server_time: 1, heartbeat_ms: 3e9, max_frame_bytes: 1 })).toBe("INVALID_FRAME");
    expect(rejected(SERVER_TO_AGENT, "command.dispatch", { id, name: "agent.ping", params: {}, timeout_ms: 3e9, attempt: 1 })).toBe("INVALID_FRAME");
    expect(decodeFrame(AGENT_TO_SERVER, JSON.stringify({ v: 1, type: "command.result", payload: { id, status: "succeeded", finished_at: Date.now() } })).ok).toBe(true);
  });

  test("params nested past the limit are refused with their path instead of exhausting the stack", () => {
    let data: unknown = 1;
    for (let i = 0; i < 5_000; i++) data = [data];
    const deep = validateCommandParams("agent.echo", { data });
    expect(deep.ok).toBe(false);
    expect(!deep.ok && deep.details[0]).toEqual({ path: `params.data${".0".repeat(MAX_DATA_DEPTH - 1)}`, message: `nested deeper than ${MAX_DATA_DEPTH} levels` });
    let fine: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH - 1; i++) fine = [fine];
    expect(validateCommandParams("agent.echo", { data: fine }).ok).toBe(true);
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
