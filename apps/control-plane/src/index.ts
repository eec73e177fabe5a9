export { startControlPlane, type ControlPlane } from "./app.js";
export { parseConfig, type Config } from "./config.js";
export { createLogger } from "./logger.js";
export { openStore } from "./store/open-store.js";
export { SqliteStore } from "./store/sqlite/sqlite-store.js";
export type * from "./store/types.js";
export { generateApiKey, sha256Hex } from "./auth/secrets.js";
