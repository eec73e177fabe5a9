/** Values shorter than this are not guarded: they would match by accident. */
const MIN_SECRET_LENGTH = 8;

/**
 * Last line of defence for the data policy: no frame leaves the agent if it contains a
 * secret the vault holds, as it is or as it reads inside a JSON string (a secret with a quote,
 * a backslash or a control character is escaped there).
 */
export class SecretGuard {
  private vaultValues: string[] = [];
  private readonly resolved = new Set<string>();
  private needles: string[] = [];

  /** Everything the vault holds now (refreshed periodically). */
  update(values: readonly string[]): void {
    this.vaultValues = [...values];
    this.rebuild();
  }

  /** A secret just read for a command: guarded at once, before the next refresh of the vault's values. */
  add(value: string): void {
    if (this.resolved.has(value)) return;
    this.resolved.add(value);
    this.rebuild();
  }

  /** Whether the frame contains any secret the vault holds. */
  leakIn(frame: string): boolean {
    return this.needles.some((needle) => frame.includes(needle));
  }

  private rebuild(): void {
    const needles = new Set<string>();
    for (const value of [...this.vaultValues, ...this.resolved]) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      needles.add(value);
      needles.add(JSON.stringify(value).slice(1, -1));
    }
    this.needles = [...needles];
  }
}
