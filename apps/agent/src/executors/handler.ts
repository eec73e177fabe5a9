import type { CommandName, CommandParams, CommandResult } from "@botmox/protocol";
import type { CommandContext } from "./command-context.js";

export type CommandHandler<N extends CommandName> = (params: CommandParams<N>, ctx: CommandContext) => Promise<CommandResult<N>>;

/** One handler per catalog entry: the compiler refuses a catalog command without one. */
export type HandlerTable = { [N in CommandName]: CommandHandler<N> };
