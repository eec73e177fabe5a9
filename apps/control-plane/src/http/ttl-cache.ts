/** Remembers what `load` answered for each key (misses included) for `ttlMs`; forgets everything past `maxEntries`. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  /** Bumped by every eviction: a load that was under way when one happened is not cached (it may be stale). */
  private evictions = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Forgets the entries whose value matches. */
  evict(matches: (value: V) => boolean): void {
    this.evictions++;
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached && cached.until > now) return cached.value;
    const evictionsBefore = this.evictions;
    const value = await load();
    if (this.evictions !== evictionsBefore) return value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }
}
