/** Where the agent keeps secrets: its private key and infrastructure credentials. Never plaintext. */
export interface Vault {
  readonly kind: "keychain" | "file";
  /** A human description of where secrets live, for `status` and `doctor`. */
  readonly location: string;
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<boolean>;
  /** Every secret value held, so outgoing frames can be checked for leaks. */
  values(): Promise<string[]>;
}

export class VaultError extends Error {
  constructor(
    readonly code: "VAULT_UNAVAILABLE" | "VAULT_LOCKED" | "VAULT_CORRUPT",
    message: string,
  ) {
    super(message);
    this.name = "VaultError";
  }
}

export const PRIVATE_KEY_SECRET = "agent.private_key";
