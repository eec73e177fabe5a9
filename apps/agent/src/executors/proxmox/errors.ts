import { ExecutorError } from "../executor-error.js";

/** What PVE says when the thing asked for is already so, or changed under the caller (in answers and in task exit statuses). */
export const CONFLICT = /already (running|exists|used)|config file already exists|detected modified configuration|checksum mis+match/i;

/** PVE answers with a status, a message (status line and body) and, for 400, per-parameter errors. */
export function pveError(status: number, message: string, errors: Record<string, string> | undefined, request: string): ExecutorError {
  const details = { status, message, request, ...(errors ? { errors } : {}) };
  if (status === 401) return new ExecutorError("PVE_AUTH", `Proxmox refused the API token: ${message}`, details);
  if (status === 403) {
    const permission = /\(([^,]+), ([^)]+)\)/.exec(message);
    return new ExecutorError("PVE_FORBIDDEN", `Proxmox: ${message}`, { ...details, ...(permission ? { path: permission[1], privilege: permission[2] } : {}) });
  }
  if (status === 400) return new ExecutorError("PVE_INVALID_PARAMS", `Proxmox: ${message}${errors ? ` ${Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join("; ")}` : ""}`, details);
  if (/is locked|can't lock file|got timeout/i.test(message)) return new ExecutorError("PVE_LOCKED", `Proxmox: ${message}`, details, true);
  if (/does not exist|no such (node|vm|snapshot)|not found/i.test(message)) return new ExecutorError("PVE_NOT_FOUND", `Proxmox: ${message}`, details);
  if (CONFLICT.test(message)) return new ExecutorError("PVE_CONFLICT", `Proxmox: ${message}`, details);
  // Anything else is reported, not retried: repeating a failed mutation blindly is how VMs get cloned twice.
  return new ExecutorError("PVE_ERROR", `Proxmox answered ${status}: ${message}`, details);
}

const TLS_FAILURES = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_CERT|ERR_SSL|HOSTNAME_MISMATCH)/;

/**
 * A connection that failed. Certificate problems are never retried. `sentChange` names a
 * mutation whose connection was up when it broke: PVE may have received and carried it out, so it
 * is reported as of unknown outcome, never repeated. Anything else (refused, unroutable, a read)
 * is retried.
 */
export function connectionError(url: string, err: Error, sentChange?: string): ExecutorError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && TLS_FAILURES.test(code)) {
    return new ExecutorError("PVE_TLS_MISMATCH", `Proxmox at ${url} presented a certificate the configured CA does not vouch for (${code})`, { url, code });
  }
  if (sentChange) {
    return new ExecutorError(
      "PVE_OUTCOME_UNKNOWN",
      `The connection to Proxmox at ${url} broke after ${sentChange} was sent (${code ?? err.message}); Proxmox may have carried it out, so it was not repeated. Check the VM before sending the command again`,
      { url, code, request: sentChange },
    );
  }
  return new ExecutorError("PVE_UNREACHABLE", `Proxmox at ${url} is not reachable: ${code ?? err.message}`, { url, code }, true);
}
