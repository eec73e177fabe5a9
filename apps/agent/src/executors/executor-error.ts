import type { ErrorBody } from "@botmox/protocol";

/**
 * The one error type command handlers throw. `code` is a protocol code (ERROR_CODES) or an
 * executor domain code (`PVE_LOCKED`, `ST_AUTH`, ...); it reaches the operator unchanged in the
 * command's `error`. `retryable` tells callers (and retry loops) whether trying again can help.
 */
export class ExecutorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "ExecutorError";
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Turns anything a handler threw into an ExecutorError, keeping codes of known errors. */
export function toExecutorError(err: unknown): ExecutorError {
  if (err instanceof ExecutorError) return err;
  if (err instanceof Error && err.name === "AbortError") return new ExecutorError("COMMAND_CANCELLED", "The command was cancelled");
  const message = err instanceof Error ? err.message : String(err);
  return new ExecutorError("EXECUTION_FAILED", message);
}
