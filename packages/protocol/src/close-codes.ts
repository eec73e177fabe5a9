/**
 * WebSocket close codes used on the agent tunnel. 1000-1015 are RFC 6455; 4000-4999 are ours.
 * `reconnect` says whether an agent should dial again (with backoff) after seeing the code.
 */
export const CLOSE_CODES = {
  NORMAL: { code: 1000, reconnect: true, meaning: "Orderly close (agent or server shutting down)." },
  GOING_AWAY: { code: 1001, reconnect: true, meaning: "Server is restarting." },
  MESSAGE_TOO_BIG: { code: 1009, reconnect: true, meaning: "A frame exceeded MAX_FRAME_BYTES." },
  TRY_AGAIN_LATER: { code: 1013, reconnect: true, meaning: "Server is shedding load; reason carries {\"retry_after_ms\":N}." },
  HELLO_REQUIRED: { code: 4001, reconnect: true, meaning: "The first frame was not a valid hello, or it did not arrive in time." },
  UNSUPPORTED_PROTOCOL: { code: 4002, reconnect: false, meaning: "No protocol version in common." },
  AGENT_REVOKED: { code: 4003, reconnect: false, meaning: "The agent was revoked; it must be paired again." },
  SESSION_REPLACED: { code: 4004, reconnect: false, meaning: "A newer connection of the same agent took over." },
  TOO_MANY_BAD_FRAMES: { code: 4005, reconnect: true, meaning: "Too many malformed or unknown frames." },
} as const;

export type CloseCodeName = keyof typeof CLOSE_CODES;

export function closeCodeName(code: number): CloseCodeName | undefined {
  return (Object.keys(CLOSE_CODES) as CloseCodeName[]).find((name) => CLOSE_CODES[name].code === code);
}
