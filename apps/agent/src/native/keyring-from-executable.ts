// Stands in for "@napi-rs/keyring" inside the single executable (see scripts/build-agent-binary.mjs):
// the same native classes, loaded from the addon the executable carries.
import type * as Keyring from "@napi-rs/keyring";
import { loadNativeAddon } from "./native-addons.js";

const binding = loadNativeAddon<typeof Keyring>("keyring.node");
export const AsyncEntry = binding.AsyncEntry;
export const Entry = binding.Entry;
export const findCredentials = binding.findCredentials;
export const findCredentialsAsync = binding.findCredentialsAsync;
