import type { z } from "zod";
import { agentCommands } from "./agent.js";
import { proxmoxCommands } from "./proxmox.js";
import { syncthingCommands } from "./syncthing.js";
import type { CommandSpec } from "./define.js";

/** name → { params, result, defaultTimeoutMs, mutating }. A new command is one entry here plus one agent handler. */
export const COMMANDS = {
  ...agentCommands,
  ...syncthingCommands,
  ...proxmoxCommands,
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
export type CommandParams<N extends CommandName> = z.output<(typeof COMMANDS)[N]["params"]>;
export type CommandParamsInput<N extends CommandName> = z.input<(typeof COMMANDS)[N]["params"]>;
export type CommandResult<N extends CommandName> = z.output<(typeof COMMANDS)[N]["result"]>;

export const COMMAND_NAME_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*){1,3}$/;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The namespaces an agent can announce as capabilities (`agent`, `proxmox`, `syncthing`). */
export function commandNamespace(name: string): string {
  return name.split(".", 1)[0] ?? name;
}
