import { Agent, type AgentOptions } from "node:https";
import { isIP } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { ExecutorError } from "../executor-error.js";

export const normalizeFingerprint = (value: string) => value.replace(/[^0-9a-f]/gi, "").toUpperCase().replace(/(..)(?!$)/g, "$1:");

export function tlsMismatch(presented: string, expected: string): ExecutorError {
  return new ExecutorError("PVE_TLS_MISMATCH", `Proxmox presented a certificate with SHA-256 fingerprint ${presented}, not the pinned ${expected}; refusing to talk to it`, { presented, expected });
}

/**
 * An https.Agent that accepts exactly one leaf certificate, by its SHA-256 fingerprint: the
 * handshake is checked before the request (and its token) is handed to the socket. Proxmox
 * ships self-signed certificates; this is how it is trusted without ever switching checks off.
 */
export class PinnedAgent extends Agent {
  private readonly pin: string;

  constructor(fingerprint: string, options: AgentOptions = {}) {
    super({ keepAlive: true, ...options });
    this.pin = normalizeFingerprint(fingerprint);
  }

  override createConnection(options: object, callback: (err: Error | null, socket?: Duplex) => void): Duplex | undefined {
    const socket: TLSSocket = connect({ ...(options as object), rejectUnauthorized: false });
    // The request's timeout only starts once it has the socket, after the handshake: bound the handshake too.
    const timeoutMs = (options as { timeout?: number }).timeout;
    if (timeoutMs) socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      const presented = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? "");
      if (presented !== this.pin) {
        const error = tlsMismatch(presented, this.pin);
        socket.destroy(error);
        return callback(error);
      }
      callback(null, socket);
    });
    socket.once("error", (err) => callback(err));
    return undefined;
  }
}

/** The SHA-256 fingerprint an endpoint presents, for `targets add` to show before anything is trusted. */
export function probeFingerprint(url: string, timeoutMs = 10_000): Promise<string> {
  const target = new URL(url);
  // The host and port the client will use: an IPv6 literal without its brackets, https's 443 when the URL names none.
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(target.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: isIP(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(normalizeFingerprint(fingerprint ?? ""));
    });
    socket.once("timeout", () => socket.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    socket.once("error", reject);
  });
}
