/** Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^attempt)]. */
export function fullJitterDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** A "try again later" close carries `{"retry_after_ms": N}` as its reason. */
export function retryAfterFromReason(reason: string): number | undefined {
  try {
    const value = (JSON.parse(reason) as { retry_after_ms?: unknown }).retry_after_ms;
    return typeof value === "number" && value >= 0 && value <= 3_600_000 ? value : undefined;
  } catch {
    return undefined;
  }
}
