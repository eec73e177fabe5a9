import type { Logger } from "pino";

/** What a command handler gets besides its params. */
export interface CommandContext {
  commandId: string;
  /** Aborted on cancel, timeout or agent shutdown; handlers pass it to every await that can take long. */
  signal: AbortSignal;
  /** Reports progress on long work; forwarded to the control plane as command.progress. */
  progress(message: string, percent?: number): void;
  log: Logger;
}
