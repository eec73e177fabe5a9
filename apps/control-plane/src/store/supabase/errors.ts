import { ApiError } from "../../errors/api-error.js";

/** How supabase-js reports a failed request: PostgREST's error body, or status 0 when nothing answered. */
export interface PostgrestFailure {
  error: { message: string; code?: string; details?: string | null; hint?: string | null };
  status: number;
}

const RETRY_AFTER_S = 5;

/** PostgREST codes for "cannot reach or use the database" (PGRST000–003) and PostgreSQL's connection classes. */
const UNAVAILABLE_CODE = /^(PGRST00[0-3]|08\w{3}|57P0[1-3]|53300)$/;

export function isUnavailable(failure: PostgrestFailure): boolean {
  return failure.status === 0 || failure.status === 502 || failure.status === 503 || failure.status === 504 || UNAVAILABLE_CODE.test(failure.error.code ?? "");
}

export function storeUnavailable(reason: string): ApiError {
  return new ApiError("STORE_UNAVAILABLE", `Supabase cannot be reached: ${reason}`, null, { "retry-after": String(RETRY_AFTER_S) });
}

/** Turns a failed Supabase call into the error the API answers with (or an internal one, logged). */
export function fromPostgrest(operation: string, failure: PostgrestFailure): Error {
  const { code = "", message } = failure.error;
  if (isUnavailable(failure)) return storeUnavailable(message);
  switch (code) {
    case "BMX01":
      return new ApiError("PAIRING_CODE_INVALID", "Pairing code is unknown or was already used", [{ path: "code", message: "unknown or already used" }]);
    case "BMX02":
      return new ApiError("PAIRING_CODE_EXPIRED", "Pairing code has expired; create a new one", [{ path: "code", message: "expired" }]);
    case "22P05":
    case "22021":
      // jsonb and text refuse \u0000; SQLite would have kept it, PostgreSQL cannot.
      return new ApiError("BAD_REQUEST", `The data cannot be stored: ${message}`, [{ path: "(body)", message: "contains \\u0000 or invalid text" }]);
  }
  const error = new Error(`Supabase ${operation} failed (${failure.status} ${code}): ${message}`);
  error.name = "SupabaseError";
  return error;
}
