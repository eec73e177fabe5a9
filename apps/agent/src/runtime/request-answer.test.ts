import { describe, expect, test } from "vitest";
import { answerRequest } from "./request-answer.js";

type Sent = { request_id: string; ok: boolean; data?: unknown; error?: { code: string; message: string } };

/** A tunnel that refuses answers over `limit` bytes, as the real one refuses frames over MAX_FRAME_BYTES. */
function tunnel(limit: number) {
  const sent: Sent[] = [];
  const send = (response: Sent) => {
    if (JSON.stringify(response).length > limit) return false;
    sent.push(response);
    return true;
  };
  return { sent, send };
}

describe("answers to the control plane's requests", () => {
  test("the data goes back under the request's id", () => {
    const { sent, send } = tunnel(1_000);
    answerRequest({ request_id: "r1", kind: "inventory" }, () => [{ kind: "proxmox.vm", key: "100" }], send);
    expect(sent).toEqual([{ request_id: "r1", ok: true, data: [{ kind: "proxmox.vm", key: "100" }] }]);
  });

  test("an answer the tunnel refuses becomes a failure that says why, instead of silence", () => {
    const { sent, send } = tunnel(1_000);
    answerRequest({ request_id: "r2", kind: "inventory" }, () => "x".repeat(5_000), send);
    expect(sent).toEqual([{ request_id: "r2", ok: false, error: { code: "EXECUTION_FAILED", message: expect.stringContaining("over the frame size limit") } }]);
  });

  test("a failed read is answered as a failure", () => {
    const { sent, send } = tunnel(1_000);
    answerRequest({ request_id: "r3", kind: "command.result", command_id: "c" }, () => { throw new Error("disk I/O error"); }, send);
    expect(sent).toEqual([{ request_id: "r3", ok: false, error: { code: "INTERNAL", message: "disk I/O error" } }]);
  });
});
