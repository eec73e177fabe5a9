/** Protocol versions this build speaks; the agent offers a list, the control plane picks the highest shared one. */
export const PROTOCOL_VERSIONS = [1] as const;
export const CURRENT_PROTOCOL_VERSION = 1;

/** Largest WebSocket frame either side accepts; larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Largest serialised params or result a command may carry: the rest of a frame is room for its envelope. */
export const MAX_COMMAND_DATA_BYTES = MAX_FRAME_BYTES - 16 * 1024;

/** The UTF-8 size of `text` when it is over `limit` bytes, else 0. Cheap for small text: UTF-8 takes at most three bytes per UTF-16 unit. */
export function bytesOverLimit(text: string, limit: number): number {
  if (text.length * 3 <= limit) return 0;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : 0;
}

/** The longest delay Node's timers can wait for: a longer one fires after 1 ms, in a loop. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Default WebSocket ping interval; a peer silent for two intervals is considered dead. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Signed upgrade requests older or newer than this (relative to the server clock) are refused. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Default time a command may wait for an offline agent before it expires. */
export const DEFAULT_EXPIRES_IN_MS = 300_000;

export const WS_PATH = "/api/v1/agents/ws";
