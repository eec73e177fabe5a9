/**
 * An error the way pveproxy reports it: an HTTP status, PVE's message (most end in "\n", as
 * Perl's `die "...\n"` leaves them) and, for 400, the per-parameter `errors` object.
 */
export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
    this.name = "PveError";
  }
}

/** `die "...\n"` in an API handler: HTTP 500 with the message. */
export const fail = (message: string) => new PveError(500, `${message}\n`);

/** `raise_param_exc`: HTTP 400 "Parameter verification failed." with per-parameter errors. */
export const paramError = (errors: Record<string, string>) => new PveError(400, "Parameter verification failed.\n", errors);

/** `raise_perm_exc`: HTTP 403 "Permission check failed (path, privs)". */
export const permError = (what?: string) => new PveError(403, what ? `Permission check failed (${what})\n` : "Permission check failed\n");

/** How a worker's error ends up as the task's exitstatus: chomped, newlines turned into spaces. */
export const exitStatusOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\n+$/, "").replace(/\n/g, " ");
