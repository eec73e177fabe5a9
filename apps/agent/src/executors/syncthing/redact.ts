import type { FolderConfig } from "./types.js";

/**
 * A folder's config as it may leave the machine: the password a folder is encrypted with for an
 * untrusted device is a customer secret, so each device says only whether one is set.
 */
export function withoutEncryptionPasswords(folder: FolderConfig): FolderConfig {
  return { ...folder, devices: folder.devices.map(({ encryptionPassword, ...device }) => ({ ...device, encrypted: Boolean(encryptionPassword) })) };
}
