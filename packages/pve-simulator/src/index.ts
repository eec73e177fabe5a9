export { startPveSimulator, DEFAULT_TOKENS, type PveSimulator, type SimulatorOptions, type FailureRule } from "./server.js";
export type { Tokens, TokenGrant } from "./auth.js";
