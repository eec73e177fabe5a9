import { ExecutorError } from "../executor-error.js";

/**
 * SyncThing answers errors as plain text (`http.Error`), so the status carries most meaning:
 *  - 403 "CSRF Error" is a missing or wrong API key (also for paths that do not exist in 1.19,
 *    e.g. /rest/noauth/health, because the key check comes first); 401 means GUI basic auth.
 *  - 404 "No folder with given ID" / "no such folder" is an unknown folder or device, while
 *    "404 page not found" is an endpoint this SyncThing does not have.
 *  - 400 is a malformed request: a bad device id ("device ID invalid: incorrect length"), bad JSON.
 *  - 500 "no such folder" is what POST /rest/db/scan says about an unknown folder.
 */
export function syncthingError(status: number, body: string, request: string): ExecutorError {
  const text = body.trim().slice(0, 500);
  const details = { status, body: text, request };
  if (status === 401 || status === 403) {
    return new ExecutorError("ST_AUTH", `SyncThing refused the API key (${status} ${text || "Forbidden"}): check the key in SyncThing's settings (GUI > API Key)`, details);
  }
  if (status === 404 && /^404 page not found$/i.test(text)) {
    return new ExecutorError("ST_ERROR", `SyncThing has no endpoint for ${request}: is it older than 1.12?`, details);
  }
  if (status === 404 || /no such (folder|device)|no (folder|device) with given id|does not exist/i.test(text)) {
    return new ExecutorError("ST_NOT_FOUND", `SyncThing: ${text || "not found"} (${request})`, details);
  }
  if (status === 400) return new ExecutorError("ST_INVALID_PARAMS", `SyncThing rejected ${request}: ${text}`, details);
  return new ExecutorError("ST_ERROR", `SyncThing answered ${status} to ${request}: ${text}`, details, status >= 500);
}

/** A request that got no answer: retryable, SyncThing may be restarting. */
export function unreachableError(base: string, err: unknown, timeoutMs: number): ExecutorError {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  const reason = error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (error.cause?.code ?? error.cause?.message ?? error.message);
  return new ExecutorError("ST_UNREACHABLE", `SyncThing at ${base} is not reachable: ${reason}`, { url: base, reason }, true);
}
