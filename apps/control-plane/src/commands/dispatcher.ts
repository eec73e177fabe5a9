import type { CommandRecord } from "../store/types.js";

/** A claimed in-flight slot on a live agent session. */
export interface Reservation {
  send(command: CommandRecord): void;
  release(): void;
}

/** What the command service needs from the gateway (implemented by it; a no-op before it exists). */
export interface Dispatcher {
  /** Tenant of the agent when it has a live session on this instance (saves a store read). */
  liveTenant(agentId: string): string | undefined;
  /** A free slot on a live session with no queued backlog, so a new command can be sent at once. */
  reserve(agentId: string): Reservation | undefined;
  /** New queued work for the agent. */
  queued(agentId: string): void;
  /** Asks a connected agent to abort a command; false when it is not connected here. */
  cancel(agentId: string, commandId: string): boolean;
}

export const NO_DISPATCHER: Dispatcher = {
  liveTenant: () => undefined,
  reserve: () => undefined,
  queued: () => {},
  cancel: () => false,
};
