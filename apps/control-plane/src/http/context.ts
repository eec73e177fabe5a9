import type { CommandService } from "../commands/command-service.js";
import type { Config } from "../config.js";
import type { EventBus } from "../events/bus.js";
import type { Gateway } from "../gateway/gateway.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/types.js";
import type { PolicyService } from "../policies/policy-service.js";
import type { OperatorAuth } from "./operator-auth.js";
import type { PairingCodes } from "../auth/pairing.js";

/** What every route module gets. */
export interface RouteContext {
  config: Config;
  store: Store;
  bus: EventBus;
  commands: CommandService;
  gateway: Gateway;
  auth: OperatorAuth;
  pairings: PairingCodes;
  policies: PolicyService;
  metrics: Metrics;
  log: Logger;
}
