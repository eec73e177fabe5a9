import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { proxyFor } from "../tunnel/proxy.js";
import { explainConnectionError } from "./connection-errors.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The JSON the server answered with. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** Answers to these calls are a few hundred bytes; anything far larger is not a control plane's. */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * Small JSON client for the few plain HTTP calls the agent makes (register, health), honouring a
 * custom CA and HTTPS_PROXY. `timeoutMs` bounds the whole exchange, not just each silence: a
 * server trickling its answer cannot hold `pair` or `doctor` forever.
 */
export function requestJson<T>(method: "GET" | "POST", url: string, body?: unknown, caPem?: string, timeoutMs = 10_000): Promise<T> {
  const target = new URL(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const proxy = proxyFor(url);
  return new Promise<T>((resolve, reject) => {
    const req = send(
      target,
      {
        method,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
        ...(caPem ? { ca: caPem } : {}),
        ...(proxy ? { agent: proxy.agent } : {}),
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
          if (text.length > MAX_ANSWER_BYTES) req.destroy(new Error(`${url} answered with more than ${MAX_ANSWER_BYTES} bytes: not a Bot-Mox control plane`));
        });
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            return reject(new HttpError(res.statusCode ?? 0, "BAD_RESPONSE", `${url} answered ${res.statusCode} with a non-JSON body`));
          }
          if ((res.statusCode ?? 500) >= 400) return reject(httpErrorFrom(res.statusCode ?? 0, json));
          resolve(json as T);
        });
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.on("close", () => clearTimeout(deadline));
    req.on("error", (err) => reject(explainConnectionError(err, target, proxy?.proxy)));
    req.end(payload);
  });
}

export const postJson = <T>(url: string, body: unknown, caPem?: string) => requestJson<T>("POST", url, body, caPem);
export const getJson = <T>(url: string, caPem?: string) => requestJson<T>("GET", url, undefined, caPem);

/** The `{ error: { code, message, details } }` body of a refusal; parts that are not of that shape are left out, not trusted. */
function httpErrorFrom(status: number, json: unknown): HttpError {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const error = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
  const body = typeof error === "object" && error !== null ? (error as { code?: unknown; message?: unknown; details?: unknown }) : {};
  // Field-level details say what to fix ("code: must look like BMX-XXXX-XXXX"): kept in the message.
  const fields = (Array.isArray(body.details) ? (body.details as unknown[]) : [])
    .map((detail) => (typeof detail === "object" && detail !== null ? (detail as { path?: unknown; message?: unknown }) : {}))
    .filter((detail) => text(detail.path) && text(detail.message))
    .map((detail) => `${text(detail.path)}: ${text(detail.message)}`);
  const message = `${text(body.message) ?? `HTTP ${status}`}${fields.length > 0 ? ` (${fields.join("; ")})` : ""}`;
  return new HttpError(status, text(body.code) ?? "HTTP_ERROR", message, json);
}
