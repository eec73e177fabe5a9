import type { Agent } from "node:http";
import { HttpsProxyAgent } from "https-proxy-agent";
import { getProxyForUrl } from "proxy-from-env";

/**
 * The proxy to reach the control plane at `url` through, per HTTPS_PROXY / HTTP_PROXY / ALL_PROXY
 * and NO_PROXY (either case), as a CONNECT tunnel: TLS to the control plane stays end to end and
 * is verified as without a proxy. Undefined: connect directly.
 */
export function proxyFor(url: string): { agent: Agent; proxy: string } | undefined {
  // proxy-from-env reads WSS_PROXY for wss: URLs; operators set HTTPS_PROXY.
  const proxy = getProxyForUrl(url.replace(/^ws(s?):/, "http$1:"));
  if (!proxy) return undefined;
  return { agent: new HttpsProxyAgent(proxy), proxy: withoutCredentials(proxy) };
}

function withoutCredentials(proxy: string): string {
  try {
    const parsed = new URL(proxy);
    if (parsed.username || parsed.password) parsed.username = parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable proxy URL)";
  }
}
