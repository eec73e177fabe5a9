/**
 * Last line of defence for the data policy: no frame leaves the agent if it contains a
 * secret the vault holds. Short values are ignored (they would match by accident).
 */
export class SecretGuard {
  private secrets: string[] = [];

  update(values: readonly string[]): void {
    this.secrets = values.filter((value) => value.length >= 8);
  }

  /** Whether the frame contains any secret the vault holds. */
  leakIn(frame: string): boolean {
    return this.secrets.some((secret) => frame.includes(secret));
  }
}
