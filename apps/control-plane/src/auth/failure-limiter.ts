/**
 * Counts failed attempts (pairing codes that do not register) per client address and overall, in
 * fixed windows. A code has 40 bits: guessing one must not be something a client, or a crowd of
 * them, can do at request speed. Successful attempts are not counted.
 */
export class FailureLimiter {
  private readonly perKey = new Map<string, { count: number; since: number }>();
  private overall = { count: 0, since: 0 };

  constructor(
    private readonly options: { perKey: number; overall: number; windowMs: number; maxKeys?: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again, or 0. */
  blockedFor(key: string): number {
    const now = this.now();
    const windowEnd = (since: number) => since + this.options.windowMs - now;
    if (this.overall.count >= this.options.overall && windowEnd(this.overall.since) > 0) return windowEnd(this.overall.since);
    const entry = this.perKey.get(key);
    if (entry && entry.count >= this.options.perKey && windowEnd(entry.since) > 0) return windowEnd(entry.since);
    return 0;
  }

  recordFailure(key: string): void {
    const now = this.now();
    const fresh = (since: number) => now - since < this.options.windowMs;
    if (!fresh(this.overall.since)) this.overall = { count: 0, since: now };
    this.overall.count++;
    const entry = this.perKey.get(key);
    if (entry && fresh(entry.since)) entry.count++;
    else {
      this.perKey.delete(key); // re-inserted last: the map stays in order of window start
      this.perKey.set(key, { count: 1, since: now });
    }
    this.forgetOld(now);
  }

  /** Bounded memory: expired windows go, and past maxKeys the oldest windows go first. */
  private forgetOld(now: number): void {
    const maxKeys = this.options.maxKeys ?? 10_000;
    for (const [key, entry] of this.perKey) {
      if (this.perKey.size <= maxKeys && now - entry.since < this.options.windowMs) break;
      this.perKey.delete(key);
    }
  }
}
