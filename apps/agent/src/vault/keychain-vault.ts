import { AsyncEntry, findCredentialsAsync, type EntryOptions } from "@napi-rs/keyring";
import { VaultError, type Vault } from "./vault.js";

const NO_KEYCHAIN_HELP =
  "No OS keychain is reachable (on Linux: a Secret Service such as gnome-keyring on the D-Bus session bus). " +
  "Start one, or use the encrypted file vault: BOTMOX_VAULT=file with BOTMOX_VAULT_PASSPHRASE set.";
/**
 * Without a pin, the library falls back on Linux to the kernel keyring when no Secret Service
 * answers: it takes the key, and a reboot wipes it. Ignored on macOS and Windows.
 */
const SECRET_SERVICE_ONLY: EntryOptions = { linux: { store: "secret-service" } };

/** OS keychain: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows. */
export class KeychainVault implements Vault {
  readonly kind = "keychain" as const;
  readonly location: string;
  private readonly service: string;

  constructor(instanceId: string) {
    this.service = `botmox-agent/${instanceId}`;
    this.location = `OS keychain, service "${this.service}"`;
  }

  private async call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw new VaultError("VAULT_UNAVAILABLE", `${NO_KEYCHAIN_HELP} (${(err as Error).message})`);
    }
  }

  private entry(name: string): AsyncEntry {
    return new AsyncEntry(this.service, name, SECRET_SERVICE_ONLY);
  }

  get(name: string): Promise<string | null> {
    return this.call(() => this.entry(name).getPassword());
  }

  async set(name: string, value: string): Promise<void> {
    await this.call(() => this.entry(name).setPassword(value));
    // Some Secret Service setups accept writes they cannot read back (locked collection): fail now, not at first use.
    if ((await this.get(name)) !== value) throw new VaultError("VAULT_LOCKED", `The keychain accepted "${name}" but did not return it; is the keyring unlocked?`);
  }

  delete(name: string): Promise<boolean> {
    return this.call(() => this.entry(name).deleteCredential());
  }

  async values(): Promise<string[]> {
    const credentials = await this.call(() => findCredentialsAsync(this.service));
    return credentials.map((credential) => credential.password);
  }
}
