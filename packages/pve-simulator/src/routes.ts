import type { Handler } from "./handlers/context.js";
import { clusterHandlers } from "./handlers/cluster.js";
import { snapshotHandlers } from "./handlers/snapshots.js";
import { taskHandlers } from "./handlers/tasks.js";
import { vmCloneHandlers } from "./handlers/vm-clone.js";
import { vmConfigHandlers } from "./handlers/vm-config.js";
import { vmLifecycleHandlers } from "./handlers/vm-lifecycle.js";
import { vmPowerHandlers } from "./handlers/vm-power.js";
import { vmStatusHandlers } from "./handlers/vm-status.js";
import { PERMISSIONS, type Permissions } from "./permissions.js";

const HANDLERS: Record<string, Handler> = {
  ...clusterHandlers,
  ...vmStatusHandlers,
  ...vmPowerHandlers,
  ...vmCloneHandlers,
  ...vmLifecycleHandlers,
  ...vmConfigHandlers,
  ...snapshotHandlers,
  ...taskHandlers,
};

/** What the simulator serves, keyed by `METHOD template`; every entry is an endpoint of the subset. */
export function route(key: string): { handler: Handler; permissions: Permissions } | undefined {
  const handler = HANDLERS[key];
  const permissions = PERMISSIONS[key];
  return handler && permissions ? { handler, permissions } : undefined;
}

export const SERVED_ENDPOINTS = Object.keys(HANDLERS).sort();
