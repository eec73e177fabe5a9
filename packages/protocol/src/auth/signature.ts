/**
 * The agent proves possession of its Ed25519 private key on every WebSocket upgrade by
 * signing this canonical string. The server refuses timestamps outside MAX_CLOCK_SKEW_MS
 * and nonces it has already seen for the agent, so a captured upgrade cannot be replayed.
 */
export const AUTH_HEADERS = {
  agentId: "x-botmox-agent-id",
  timestamp: "x-botmox-timestamp",
  nonce: "x-botmox-nonce",
  signature: "x-botmox-signature",
} as const;

export function upgradeSigningString(input: { agentId: string; timestamp: number; nonce: string; path: string }): string {
  return ["botmox-ws-v1", input.agentId, String(input.timestamp), input.nonce, input.path].join("\n");
}
