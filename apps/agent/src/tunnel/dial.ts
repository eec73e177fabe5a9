import type { KeyObject } from "node:crypto";
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

/** The control plane's error body of a refused upgrade (`{ error: { code, message } }`), if it is one. */
export function refusalOf(body: string): { code?: string; message?: string } | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
  } catch {
    return undefined;
  }
}
