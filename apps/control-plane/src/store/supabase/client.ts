import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import WebSocket from "ws";

const REQUEST_TIMEOUT_MS = 10_000;

type RealtimeTransport = NonNullable<NonNullable<NonNullable<Parameters<typeof createClient>[2]>["realtime"]>["transport"]>;

/** Every request gives up after `timeoutMs` (or the caller's own signal), so an unreachable Supabase fails fast. */
function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetch(input, { ...init, signal });
  };
}

/**
 * The control plane's one long-lived client: service role, no auth session (nothing to persist
 * or refresh), `ws` for Realtime because Node 20 has no global WebSocket.
 */
export function createServiceClient(url: string, serviceRoleKey: string, timeoutMs = REQUEST_TIMEOUT_MS): SupabaseClient {
  return createClient(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as unknown as RealtimeTransport },
    global: { fetch: fetchWithTimeout(timeoutMs) },
    db: { schema: "public" },
  });
}
