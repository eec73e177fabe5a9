import { z } from "zod";
import type { ErrorBody } from "./errors.js";

export type MessageCatalog = Record<string, z.ZodType>;
export type Message<C extends MessageCatalog> = {
  [K in keyof C & string]: { type: K; payload: z.output<C[K]> };
}[keyof C & string];

export type DecodeResult<C extends MessageCatalog> =
  | { ok: true; message: Message<C> }
  | { ok: false; error: ErrorBody & { code: "INVALID_JSON" | "INVALID_FRAME" | "UNKNOWN_MESSAGE_TYPE" } };

const envelopeSchema = z.object({ v: z.number().int().positive(), type: z.string().min(1).max(100), payload: z.unknown() });

export const FRAME_VERSION = 1;

/** Serialises one frame. The payload is not re-validated: callers hold typed values. */
export function encodeFrame<C extends MessageCatalog, K extends keyof C & string>(
  _catalog: C,
  type: K,
  payload: z.input<C[K]>,
): string {
  return JSON.stringify({ v: FRAME_VERSION, type, payload });
}

/** Parses and validates one frame against a direction's catalog; never throws. */
export function decodeFrame<C extends MessageCatalog>(catalog: C, raw: string): DecodeResult<C> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: { code: "INVALID_JSON", message: `Frame is not valid JSON: ${(err as Error).message}` } };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    return {
      ok: false,
      error: { code: "INVALID_FRAME", message: "Frame must be an object {v, type, payload}", details: flattenIssues(envelope.error) },
    };
  }
  const { type, payload } = envelope.data;
  const schema = Object.hasOwn(catalog, type) ? catalog[type] : undefined;
  if (!schema) {
    return { ok: false, error: { code: "UNKNOWN_MESSAGE_TYPE", message: `Unknown message type "${type}"`, details: { type } } };
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: "INVALID_FRAME", message: `Invalid payload for "${type}"`, details: flattenIssues(parsed.error) },
    };
  }
  return { ok: true, message: { type, payload: parsed.data } as Message<C> };
}

export interface FieldIssue {
  path: string;
  message: string;
}

/** zod issues as `[{ path: "params.delay_ms", message }]`, the shape every 400 uses in `details`. */
export function flattenIssues(error: z.ZodError, prefix = ""): FieldIssue[] {
  const at = (path: PropertyKey[]) => [prefix, path.map(String).join(".")].filter(Boolean).join(".") || "(root)";
  return error.issues.flatMap((issue) =>
    // An unknown field is named by its own path, one issue each, not as a complaint about its parent.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: "unknown field" }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}
