import { commandNamespace, type CommandName } from "@botmox/protocol";
import type { Targets } from "../targets/targets.js";
import { agentHandlers } from "./agent/agent-handlers.js";
import type { HandlerTable } from "./handler.js";
import { proxmoxHandlers } from "./proxmox/handlers.js";
import { syncthingHandlers } from "./syncthing/handlers.js";

export function buildHandlerTable(targets: Targets): HandlerTable {
  const table: HandlerTable = {
    ...agentHandlers(() => capabilitiesOf(table)),
    ...syncthingHandlers(targets),
    ...proxmoxHandlers(targets),
  };
  return table;
}

export function capabilitiesOf(table: HandlerTable): string[] {
  return [...new Set(Object.keys(table).map((name) => commandNamespace(name as CommandName)))].sort();
}
