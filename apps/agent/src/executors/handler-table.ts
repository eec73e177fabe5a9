import { commandNamespace, type CommandName } from "@botmox/protocol";
import { agentHandlers } from "./agent/agent-handlers.js";
import type { HandlerTable } from "./handler.js";

export function buildHandlerTable(): HandlerTable {
  const table: HandlerTable = {
    ...agentHandlers(() => capabilitiesOf(table)),
  };
  return table;
}

export function capabilitiesOf(table: HandlerTable): string[] {
  return [...new Set(Object.keys(table).map((name) => commandNamespace(name as CommandName)))].sort();
}
