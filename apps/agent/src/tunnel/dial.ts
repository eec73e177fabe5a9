import type { KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { MAX_FRAME_BYTES, WS_PATH } from "@botmox/protocol";
import WebSocket from "ws";
import { signedUpgradeHeaders } from "../identity/keys.js";
import { proxyFor } from "./proxy.js";

/** Opens the signed WebSocket upgrade to the control plane (through HTTPS_PROXY when set). */
export function dialControlPlane(input: { server: string; agentId: string; privateKey: KeyObject; caPem?: string | undefined }): { ws: WebSocket; proxy: string | undefined } {
  const url = new URL(WS_PATH, input.server.replace(/^http/, "ws"));
  const proxy = proxyFor(url.href);
  const ws = new WebSocket(url, {
    headers: signedUpgradeHeaders(input.agentId, input.privateKey, WS_PATH),
    maxPayload: MAX_FRAME_BYTES,
    handshakeTimeout: 10_000,
    perMessageDeflate: false,
    ...(input.caPem ? { ca: input.caPem } : {}),
    ...(proxy ? { agent: proxy.agent } : {}),
  });
  return { ws, proxy: proxy?.proxy };
}

const REFUSAL_BODY_MAX = 4_096;
const REFUSAL_READ_MS = 10_000;

export interface Refusal {
  status: number;
  /** The start of the answer (at most 4 KiB). */
  body: string;
  /** The control plane's error (`{ error: { code, message } }`), when the body is one. */
  error: { code?: string; message?: string } | undefined;
  /** The Retry-After header in seconds, NaN when absent. */
  retryAfterS: number;
}

/**
 * Reads a refused upgrade's answer: only its start, and only for so long. A peer trickling an
 * endless answer must not hold the caller (the reconnect loop, doctor) or fill memory.
 */
export function readRefusal(res: IncomingMessage, readMs = REFUSAL_READ_MS): Promise<Refusal> {
  return new Promise((resolve) => {
    let body = "";
    const deadline = setTimeout(() => res.destroy(), readMs);
    res.on("data", (chunk: Buffer) => {
      if (body.length < REFUSAL_BODY_MAX) body += chunk.toString("utf8").slice(0, REFUSAL_BODY_MAX - body.length);
    });
    res.on("error", () => {}); // a cut answer is read as far as it came
    res.on("close", () => {
      clearTimeout(deadline);
      resolve({ status: res.statusCode ?? 0, body, error: errorOf(body), retryAfterS: Number(res.headers["retry-after"]) });
    });
  });
}

function errorOf(body: string): { code?: string; message?: string } | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
  } catch {
    return undefined;
  }
}
