export { startPveSimulator, DEFAULT_TOKENS, type PveSimulator, type SimulatorOptions } from "./server.js";
export type { Tokens, TokenGrant } from "./auth.js";
export type { FailureRule, LostAnswerRule } from "./faults.js";
export type { TaskFailureRule, TaskWarningRule, Task } from "./tasks.js";
export type { SimulatorTimings } from "./handlers/context.js";
export { PveState, type Vm, type Snapshot, type Storage, type RunState, type Config } from "./state.js";
export { SERVED_ENDPOINTS } from "./routes.js";
