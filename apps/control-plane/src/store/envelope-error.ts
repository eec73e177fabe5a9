import type { ErrorBody } from "@botmox/protocol";

/** The message of an error kept as its code alone; the Supabase purge (SQL) writes the same text. */
export const KEPT_ON_AGENT_MESSAGE = "Details are kept on the agent (storage policy local); GET /api/v1/commands/:id/result fetches them";

/** What the control plane stores of an agent's error under the "local" policy: its code, and where the rest is. */
export function envelopeError(code: string): ErrorBody {
  return { code, message: KEPT_ON_AGENT_MESSAGE, details: { kept_on_agent: true } };
}

export function isKeptOnAgent(error: ErrorBody | null | undefined): boolean {
  return (error?.details as { kept_on_agent?: unknown } | undefined)?.kept_on_agent === true;
}
