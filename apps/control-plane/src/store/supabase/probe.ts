import type { SupabaseClient } from "@supabase/supabase-js";
import { isUnavailable } from "./errors.js";

/**
 * One request at startup that tells a wrong key or a database without the Bot-Mox migrations
 * apart from a Supabase that is merely down: the first two stop startup with what to do, the
 * last only warns (the API answers 503 until Supabase is back).
 */
export async function probeSupabase(db: SupabaseClient, options: { url: string; log?: { warn(details: object, message: string): void } }): Promise<void> {
  const answer = await db.from("commands").select("id").limit(0).retry(false);
  if (!answer.error) return;
  const { code = "", message } = answer.error;
  if (isUnavailable({ error: answer.error, status: answer.status })) {
    options.log?.warn({ supabase_url: options.url, reason: message }, "Supabase cannot be reached yet; the API answers 503 until it can");
    return;
  }
  if (answer.status === 401 || answer.status === 403 || code.startsWith("PGRST3")) {
    throw new Error(`Supabase at ${options.url} refused SUPABASE_SERVICE_ROLE_KEY (${answer.status} ${code}: ${message}); use the project's service_role key`);
  }
  if (answer.status === 404 || code === "PGRST205" || code === "42P01") {
    throw new Error(`Supabase at ${options.url} has no Bot-Mox tables (${message}); apply supabase/migrations first (supabase db push)`);
  }
  throw new Error(`Supabase at ${options.url} answered ${answer.status} ${code}: ${message}`);
}
