const UNTRUSTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED)$/;

/** A connection failure said in terms of what to do about it; the original stays as `cause`. */
export function explainConnectionError(err: Error & { code?: string }, url: URL, proxy?: string): Error {
  const code = err.code ?? "";
  const explained = (message: string) => new Error(`${message} (${code || err.message})`, { cause: err });
  if (code === "EPROTO" && /wrong version number/i.test(err.message)) return explained(`${url.origin} does not speak TLS: is it http:// rather than https://?`);
  if (UNTRUSTED.test(code)) return explained(`The certificate of ${url.origin} is not trusted here: set BOTMOX_CA_FILE to the PEM of the CA that signed it`);
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return explained(`The certificate of ${url.origin} is for another name: ${err.message}`);
  if (proxy && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT)$/.test(code)) return explained(`The proxy ${proxy} cannot be reached on the way to ${url.origin}`);
  if (code === "ECONNREFUSED") return explained(`${url.origin} refused the connection: is the control plane running there?`);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return explained(`${url.hostname} does not resolve`);
  return err;
}
