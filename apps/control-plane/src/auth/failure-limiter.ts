/**
 * Counts failed attempts (pairing codes that do not register) per client, in fixed windows. A code
 * has 40 bits: guessing one must not be something a client can do at request speed. Attempts in
 * flight count as failures until they succeed, so a burst of concurrent guesses cannot all pass
 * the check before the first failure is known. There is no overall limit: anyone could then lock
 * every tenant out of pairing with a few hundred bad requests.
 */
export class FailureLimiter {
  private readonly perKey = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly options: { perKey: number; windowMs: number; maxKeys?: number },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts an attempt of `key`: the milliseconds it must wait first (0: go ahead, then call the
   * returned `succeeded()` if it did, which takes the attempt back).
   */
  attempt(key: string): { waitMs: number; succeeded: () => void } {
    const now = this.now();
    let entry = this.perKey.get(key);
    if (!entry || now - entry.since >= this.options.windowMs) {
      this.perKey.delete(key); // re-inserted last: the map stays in order of window start
      entry = { count: 0, since: now };
      this.perKey.set(key, entry);
      this.forgetOld(now);
    }
    if (entry.count >= this.options.perKey) return { waitMs: entry.since + this.options.windowMs - now, succeeded: () => {} };
    entry.count++;
    const counted = entry;
    return { waitMs: 0, succeeded: () => void (counted.count = Math.max(0, counted.count - 1)) };
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

/** The client an address stands for: an IPv6 host usually has a whole /64 to pick addresses from. */
export function clientKey(address: string): string {
  if (!address.includes(":") || address.startsWith("::ffff:")) return address;
  const groups = address.split("::");
  const head = groups[0]!.split(":").filter(Boolean);
  const tail = groups.length > 1 ? groups[1]!.split(":").filter(Boolean) : [];
  const full = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
  return `${full.slice(0, 4).join(":")}::/64`;
}
