import type { IncomingMessage } from "node:http";
import type { KeyObject } from "node:crypto";
import { MAX_CLOCK_SKEW_MS, WS_PATH } from "@botmox/protocol";
import { ApiError } from "../errors/api-error.js";
import { clockSkewProblem, publicKeyFromBase64, readSignedUpgrade, verifyUpgradeSignature } from "../auth/agent-signature.js";
import type { AgentRecord, Store } from "../store/types.js";

/** Verifies a signed upgrade request; throws ApiError with the reason a refused agent sees. */
export class UpgradeAuthenticator {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly store: Store) {}

  async authenticate(req: IncomingMessage): Promise<AgentRecord> {
    const signed = readSignedUpgrade(req.headers);
    if ("error" in signed) throw new ApiError("UNAUTHENTICATED", `Agent authentication failed: ${signed.error}`);
    // A stale or made-up request is refused before it costs a store read (a handshake slot is held meanwhile).
    const skew = clockSkewProblem(signed, Date.now());
    if (skew) throw new ApiError("UNAUTHENTICATED", `Agent authentication failed: ${skew}`);
    const agent = await this.store.getAgent(signed.agentId);
    if (!agent) throw new ApiError("UNAUTHENTICATED", "Agent authentication failed: unknown agent");
    if (agent.status === "revoked") throw new ApiError("AGENT_REVOKED", "This agent has been revoked; pair it again to reconnect");
    const now = Date.now();
    const verdict = verifyUpgradeSignature(signed, this.publicKey(agent), WS_PATH, now);
    if (!verdict.ok) throw new ApiError("UNAUTHENTICATED", `Agent authentication failed: ${verdict.reason}`);
    const fresh = await this.store.recordAgentNonce({ agent_id: agent.id, nonce: signed.nonce, expires_at: now + 2 * MAX_CLOCK_SKEW_MS, now });
    if (!fresh) throw new ApiError("UNAUTHENTICATED", "Agent authentication failed: nonce already used (replayed request)");
    return agent;
  }

  private publicKey(agent: AgentRecord): KeyObject {
    let key = this.keys.get(agent.id);
    if (!key) this.keys.set(agent.id, (key = publicKeyFromBase64(agent.public_key)));
    return key;
  }
}
