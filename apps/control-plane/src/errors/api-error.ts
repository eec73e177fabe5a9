import { ERROR_CODES, isKnownErrorCode, type ErrorBody, type ErrorCode } from "@botmox/protocol";

/** The control plane's one error type: knows its code, HTTP status and whether a retry can help. */
export class ApiError extends Error {
  readonly status: number;
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? ERROR_CODES[code].summary);
    this.name = "ApiError";
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
  }

  toBody(): { error: ErrorBody & { details: unknown } } {
    return { error: { code: this.code, message: this.message, details: this.details ?? null } };
  }
}

/** Turns anything thrown into an ApiError; unknown failures become INTERNAL without leaking internals. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const maybe = err as { statusCode?: number; code?: string; message?: string } | null;
  if (maybe?.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return new ApiError("BAD_REQUEST", "The body is empty: send a JSON object (or no Content-Type)", [{ path: "(body)", message: "empty" }]);
  }
  if (maybe?.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (maybe?.statusCode === 400 && maybe.message?.includes("JSON"))) {
    // The parser says no more: refused prototype keys land here too.
    return new ApiError("BAD_REQUEST", "The body is not valid JSON, or has a __proto__ or constructor.prototype key, which is refused", [{ path: "(body)", message: "invalid JSON" }]);
  }
  if (maybe?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || maybe?.statusCode === 413) {
    return new ApiError("PAYLOAD_TOO_LARGE");
  }
  if (maybe?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || maybe?.statusCode === 415) {
    return new ApiError("BAD_REQUEST", "Content-Type must be application/json", [{ path: "(headers).content-type", message: "unsupported media type" }]);
  }
  if (maybe?.code && isKnownErrorCode(maybe.code)) return new ApiError(maybe.code, maybe.message);
  return new ApiError("INTERNAL", "Internal server error");
}
