import { hostname } from "node:os";
import { z } from "zod";
import type { AgentConfig } from "../config/agent-config.js";
import { generateAgentKeyPair } from "../identity/keys.js";
import { PRIVATE_KEY_SECRET, type Vault } from "../vault/vault.js";
import { postJson } from "./http-client.js";
import { UsageError } from "./usage-error.js";

const PENDING_KEY_SECRET = `${PRIVATE_KEY_SECRET}.pending`;

const registeredSchema = z.object({ agent_id: z.uuid(), tenant_id: z.uuid() });

const isLoopback = (host: string) => host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * The control plane's origin; checked before anything touches the vault or the one-time code.
 * Plain http:// carries the pairing code and every command in clear, and nothing would tell a
 * fake control plane from the real one: only this machine (loopback), or with `allowHttp`.
 */
function serverOrigin(server: string, allowHttp: boolean): string {
  const url = URL.canParse(server) ? new URL(server) : undefined;
  if (url?.protocol !== "http:" && url?.protocol !== "https:") {
    throw new Error(`The server must be an http:// or https:// URL such as https://botmox.example.com, not "${server}"`);
  }
  if (url.protocol === "http:" && !allowHttp && !isLoopback(url.hostname)) {
    throw new Error(
      `http://${url.host} would carry the pairing code and every command in clear, and anyone on the way could pose as the control plane: use https://, or pass --allow-http on a network you trust`,
    );
  }
  return url.origin;
}

/** Accepts `--server URL --code CODE` or a `botmox://pair?server=...&code=...` URI. */
export function parsePairingTarget(input: { server?: string; code?: string; uri?: string; allowHttp?: boolean }): { server: string; code: string } {
  const allowHttp = input.allowHttp ?? false;
  if (input.uri) {
    const uri = URL.canParse(input.uri) ? new URL(input.uri) : undefined;
    if (uri?.protocol !== "botmox:") throw new Error(`Not a pairing URI (botmox://pair?server=...&code=...): ${input.uri}`);
    const server = uri.searchParams.get("server");
    const code = uri.searchParams.get("code");
    if (!server || !code) throw new Error("The pairing URI needs server= and code=");
    return { server: serverOrigin(server, allowHttp), code };
  }
  if (!input.server || !input.code) throw new UsageError("pair needs --server URL and --code CODE (or --uri botmox://pair?...)");
  return { server: serverOrigin(input.server, allowHttp), code: input.code };
}

/**
 * Generates the key pair, checks the vault can hold it, registers the public half, then
 * stores the private half. The private key never leaves this machine.
 */
export async function pair(input: { server: string; code: string; config: AgentConfig; vault: Vault; caPem?: string }): Promise<AgentConfig> {
  const server = serverOrigin(input.server, true); // its scheme was judged by parsePairingTarget
  const keys = generateAgentKeyPair();
  // Prove the vault works before consuming the one-time code, without touching a key already in use.
  await input.vault.set(PENDING_KEY_SECRET, keys.privateKeyBase64);
  let response: z.infer<typeof registeredSchema>;
  try {
    const answer = await postJson<unknown>(`${server}/api/v1/agents/register`, { code: input.code, public_key: keys.publicKeyBase64, hostname: hostname() }, input.caPem);
    const parsed = registeredSchema.safeParse(answer);
    // Another service at that address (or a proxy answering for it): the identity in use stays as it is.
    if (!parsed.success) throw new Error(`${server} did not answer like a Bot-Mox control plane (no agent_id and tenant_id in its answer to the registration): check --server`);
    response = parsed.data;
  } catch (err) {
    await input.vault.delete(PENDING_KEY_SECRET);
    throw err;
  }
  await input.vault.set(PRIVATE_KEY_SECRET, keys.privateKeyBase64);
  await input.vault.delete(PENDING_KEY_SECRET);
  return { ...input.config, server, agent_id: response.agent_id, tenant_id: response.tenant_id, paired_at: new Date().toISOString() };
}
