import { z } from "zod";

/**
 * Every error code either half can report, with the HTTP status an operator sees and
 * whether retrying the same request can succeed. One table, so the control plane's
 * responses, the agent's command failures and the docs cannot drift apart.
 */
export const ERROR_CODES = {
  // Request and authentication errors (control plane HTTP API)
  BAD_REQUEST: { status: 400, retryable: false, summary: "The request is malformed or a field is invalid." },
  UNAUTHENTICATED: { status: 401, retryable: false, summary: "Missing or invalid credentials." },
  FORBIDDEN: { status: 403, retryable: false, summary: "The credentials do not allow this action." },
  NOT_FOUND: { status: 404, retryable: false, summary: "No such resource in this tenant." },
  CONFLICT: { status: 409, retryable: false, summary: "The resource is not in a state that allows this." },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false, summary: "The Idempotency-Key was used for a different request." },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, summary: "The body is larger than allowed." },
  UNKNOWN_COMMAND: { status: 400, retryable: false, summary: "The command name is not in the catalog." },
  INVALID_PARAMS: { status: 400, retryable: false, summary: "The command parameters do not match the catalog." },
  PAIRING_CODE_INVALID: { status: 400, retryable: false, summary: "The pairing code is unknown or was already used." },
  PAIRING_CODE_EXPIRED: { status: 410, retryable: false, summary: "The pairing code has expired." },
  TOO_MANY_ATTEMPTS: { status: 429, retryable: true, summary: "Too many failed attempts from this client address (an IPv6 /64 counts as one); wait for Retry-After." },
  AGENT_REVOKED: { status: 403, retryable: false, summary: "The agent has been revoked." },
  AGENT_OFFLINE: { status: 503, retryable: true, summary: "The agent is not connected." },
  STORE_UNAVAILABLE: { status: 503, retryable: true, summary: "The data store cannot be reached." },
  OVERLOADED: { status: 503, retryable: true, summary: "The server is shedding load; retry later." },
  AUTH_UNAVAILABLE: { status: 503, retryable: true, summary: "The signing keys of operator JWTs cannot be fetched right now." },
  INTERNAL: { status: 500, retryable: true, summary: "Unexpected server error." },

  // Tunnel frame errors (sent in an `error` frame; the connection stays open)
  INVALID_JSON: { status: 400, retryable: false, summary: "The frame is not valid JSON." },
  INVALID_FRAME: { status: 400, retryable: false, summary: "The frame is not a {v, type, payload} envelope or its payload fails the schema." },
  UNKNOWN_MESSAGE_TYPE: { status: 400, retryable: false, summary: "The frame type is not in the catalog for this direction." },
  UNSUPPORTED_PROTOCOL: { status: 400, retryable: false, summary: "No protocol version in common." },

  // Command execution errors (reported by the agent in a command result)
  COMMAND_TIMEOUT: { status: 504, retryable: true, summary: "The command ran past its timeout and was aborted." },
  COMMAND_CANCELLED: { status: 409, retryable: false, summary: "The command was cancelled." },
  COMMAND_EXPIRED: { status: 410, retryable: false, summary: "The agent did not pick the command up before it expired." },
  COMMAND_INTERRUPTED: { status: 500, retryable: false, summary: "The agent stopped while the command ran; it was not re-run because it may have had effects." },
  UNSUPPORTED_COMMAND: { status: 501, retryable: false, summary: "The agent does not implement this command." },
  AGENT_SHUTTING_DOWN: { status: 503, retryable: true, summary: "The agent is shutting down and did not start the command." },
  TARGET_NOT_FOUND: { status: 404, retryable: false, summary: "The agent has no target of that name." },
  RESULT_TOO_LARGE: { status: 413, retryable: false, summary: "The result is larger than a frame may carry; ask for less (a smaller limit or a narrower filter)." },
  RESULT_TOO_DEEP: { status: 502, retryable: false, summary: "The result (or its error details) nests deeper than 64 levels; it was not kept." },
  SECRET_LEAK_BLOCKED: { status: 500, retryable: false, summary: "The agent refused to send a frame containing a secret." },
  EXECUTION_FAILED: { status: 500, retryable: false, summary: "The command failed on the agent." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Executors add their own domain codes (PVE_*, ST_*); they travel as plain strings. */
export const errorBodySchema = z.object({
  code: z.string().min(1),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export function isKnownErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
