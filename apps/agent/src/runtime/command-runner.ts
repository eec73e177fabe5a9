import { COMMANDS, MAX_COMMAND_DATA_BYTES, MAX_DATA_DEPTH, bytesOverLimit, pathTooDeep, validateCommandParams, withheldOutcome, type CommandName, type CommandOutcome, type ServerToAgent } from "@botmox/protocol";
import type { Logger } from "pino";
import { ExecutorError, toExecutorError } from "../executors/executor-error.js";
import type { CommandHandler, HandlerTable } from "../executors/handler.js";
import { cancelledBeforeStart, type BeginResult, type Journal } from "../journal/journal.js";
import type { SecretGuard } from "../tunnel/secret-guard.js";

type Dispatch = ServerToAgent<"command.dispatch">["payload"];
type AbortReason = "cancelled" | "timeout" | "shutdown";

export interface RunnerOutput {
  accepted(id: string): void;
  progress(id: string, message: string, percent?: number): void;
  /** `name` is set for a command that just ran here (not for answers replayed from the journal). */
  result(outcome: CommandOutcome, name?: string): void;
}

/**
 * Executes dispatched commands effectively once: journal first (committed), then the handler
 * under a timeout and an abort signal, with `accepted` sent if it is still running on the next
 * turn, then the outcome journaled and committed, then `result`.
 */
export class CommandRunner {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; cancelReason?: string }>();
  /** When each outcome not acknowledged yet was last sent: the resender waits from then, not from when it finished. */
  private readonly sentAt = new Map<string, number>();
  /** Outcomes the journal could not record (disk full): kept here until acknowledged, so they are still resent and repeats answered. */
  private readonly unjournaled = new Map<string, CommandOutcome>();
  /**
   * Dispatches past `maxInFlight`, not journaled yet: the control plane keeps to the window, but a
   * stalled agent can still find old dispatches in its socket after the control plane gave up on them.
   */
  private readonly waiting = new Map<string, Dispatch>();
  private accepting = true;

  constructor(
    private readonly journal: Journal,
    private readonly handlers: HandlerTable,
    private readonly output: RunnerOutput,
    private readonly log: Logger,
    private readonly guard?: SecretGuard,
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {}

  get inFlight(): number {
    return this.running.size;
  }

  dispatch(command: Dispatch): void {
    if (!this.accepting) {
      // Not journaled, not accepted: the control plane redelivers it after the restart.
      this.log.info({ command_id: command.id }, "shutting down; leaving command for redelivery");
      return;
    }
    const kept = this.unjournaled.get(command.id);
    if (kept) return this.sendResult(kept);
    // Neither running here nor ever journaled (read only when it matters).
    let unseen: boolean | undefined;
    const isUnseen = () => (unseen ??= !this.running.has(command.id) && !this.journal.knows(command.id));
    if (command.sent_to_other_process && isUnseen()) return this.refuseSentElsewhere(command);
    if (this.running.size >= this.maxInFlight && isUnseen()) {
      if (!this.waiting.has(command.id)) this.log.warn({ command_id: command.id, max_in_flight: this.maxInFlight }, "more commands than max_in_flight; this one waits for a free slot");
      this.waiting.set(command.id, command);
      return;
    }
    let state: BeginResult;
    try {
      state = this.journal.begin(command.id, command.name);
    } catch (err) {
      // A repeat of one running here is running, whatever the journal says now.
      if (this.running.has(command.id)) return this.output.accepted(command.id);
      // Not recorded, so not run: say so at once rather than leave the command hanging.
      this.log.error({ err, command_id: command.id }, "the journal could not record a command; it was not run");
      return this.sendResult({ id: command.id, status: "failed", error: notRecorded(err).toBody(), finished_at: Date.now() }, command.name);
    }
    if (state.kind === "new") {
      this.start(command);
      // Announced on the next turn, after the journal commit: a command that finishes at once goes out as its result alone.
      setImmediate(() => {
        if (this.running.has(command.id)) this.output.accepted(command.id);
      });
      return;
    }
    // A repeat is answered from the journal once what it says is committed.
    this.journal.durable().then(
      () => (state.kind === "done" ? this.sendResult(state.outcome) : this.output.accepted(command.id)),
      (err: unknown) => this.log.error({ err, command_id: command.id }, "journal commit failed; the command will be redelivered"),
    );
  }

  /** Sent before to another process of this agent, never seen here: it may be running there, so it does not run here too. */
  private refuseSentElsewhere(command: Dispatch): void {
    this.log.warn({ command_id: command.id }, "command was sent to another process of this agent; not running it here");
    this.reportNotRun(command, "failed", {
      code: "COMMAND_INTERRUPTED",
      message: "Sent to another process of this agent (a copy of its home?) whose connection this one replaced; not run here because it may have run there",
    });
  }

  /** Journals an outcome for a command that will not run, then reports it (answered from the journal if it knew the id already). */
  private reportNotRun(command: Dispatch, status: "failed" | "cancelled", error: { code: string; message: string }): void {
    const outcome: CommandOutcome = { id: command.id, status, error, finished_at: Date.now() };
    // Kept in memory until acknowledged, like an outcome the journal could not take: a redelivery must not run it.
    const keepUnjournaled = (err: unknown) => {
      this.log.error({ err, command_id: command.id }, "could not journal the outcome of a command not run; sending it anyway");
      this.unjournaled.set(command.id, outcome);
      this.sendResult(outcome);
    };
    try {
      this.journal.recordNotRun({ id: command.id, name: command.name, status, error });
    } catch (err) {
      return keepUnjournaled(err);
    }
    this.journal.durable().then(() => this.sendResult(this.journal.outcome(command.id) ?? outcome), keepUnjournaled);
  }

  /** `reason`: the control plane's, kept in the outcome (an operator's cancel, or a command that expired before it was accepted). */
  cancel(id: string, reason?: string): void {
    const held = this.waiting.get(id);
    if (held) {
      this.waiting.delete(id);
      return this.reportNotRun(held, "cancelled", cancelledBeforeStart(reason));
    }
    const entry = this.running.get(id);
    if (entry) {
      entry.cancelReason ??= reason;
      entry.controller.abort("cancelled" satisfies AbortReason);
      return;
    }
    this.journal.recordCancelledBeforeStart(id);
  }

  acknowledged(ids: readonly string[]): void {
    this.journal.markAcked(ids);
    for (const id of ids) {
      this.sentAt.delete(id);
      this.unjournaled.delete(id);
    }
  }

  /** Sends again the results not acknowledged yet that were last sent at least `olderThanMs` ago (or never since this start). */
  resendUnacknowledged(olderThanMs = 0): number {
    const before = Date.now() - olderThanMs;
    const outcomes = [...this.journal.unacked(), ...this.unjournaled.values()].filter((outcome) => (this.sentAt.get(outcome.id) ?? -Infinity) <= before);
    for (const outcome of outcomes) this.sendResult(outcome);
    return outcomes.length;
  }

  private sendResult(outcome: CommandOutcome, name?: string): void {
    this.sentAt.set(outcome.id, Date.now());
    this.output.result(outcome, name);
  }

  /** Stops taking work, lets running commands finish for `graceMs`, then aborts what is left. */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    // Never journaled: the control plane sends them again after the restart.
    this.waiting.clear();
    const all = () => Promise.all([...this.running.values()].map((entry) => entry.done));
    if (this.running.size === 0) return;
    this.log.info({ in_flight: this.running.size, grace_ms: graceMs }, "waiting for running commands");
    const timedOut = await Promise.race([all().then(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, graceMs, true).unref())]);
    if (timedOut) {
      for (const entry of this.running.values()) entry.controller.abort("shutdown" satisfies AbortReason);
      await all();
    }
  }

  private start(command: Dispatch): void {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort("timeout" satisfies AbortReason), command.timeout_ms);
    const startedAt = Date.now();
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ command_id: command.id, command: command.name }));
    const debug = this.log.isLevelEnabled("debug");
    // Registered before the journal commit, so a cancel arriving meanwhile finds it.
    const done = this.journal
      .durable()
      .then(
        () => {
          if (debug) log().debug({ attempt: command.attempt }, "command started");
          return this.execute(command, controller.signal, log);
        },
        (err: unknown) => {
          throw notRecorded(err);
        },
      )
      .then(
        (result): CommandOutcome => ({ id: command.id, status: "succeeded", result, started_at: startedAt, finished_at: Date.now() }),
        (err: unknown): CommandOutcome => this.failure(command.id, err, controller.signal, startedAt, this.running.get(command.id)?.cancelReason),
      )
      .then(async (raw) => {
        const outcome = this.screen(raw);
        clearTimeout(timer);
        this.running.delete(command.id);
        this.startWaiting();
        try {
          this.journal.finish(outcome);
          await this.journal.durable();
        } catch (err) {
          // The control plane still gets the real outcome, resent from memory until acknowledged; only the local copy is missing.
          this.log.error({ err, command_id: command.id }, "could not journal the outcome; sending it anyway");
          this.unjournaled.set(outcome.id, outcome);
        }
        if (debug) log().debug({ status: outcome.status, error_code: outcome.error?.code }, "command finished");
        this.sendResult(outcome, command.name);
      });
    this.running.set(command.id, { controller, done });
  }

  private startWaiting(): void {
    for (const [id, command] of this.waiting) {
      if (this.running.size >= this.maxInFlight) return;
      this.waiting.delete(id);
      this.dispatch(command);
    }
  }

  private async execute(command: Dispatch, signal: AbortSignal, log: () => Logger): Promise<unknown> {
    const check = validateCommandParams(command.name, command.params);
    if (!check.ok) {
      throw new ExecutorError(check.code === "UNKNOWN_COMMAND" ? "UNSUPPORTED_COMMAND" : "INVALID_PARAMS", check.message, check.details);
    }
    const handler = this.handlers[check.name] as CommandHandler<CommandName> | undefined;
    if (!handler) throw new ExecutorError("UNSUPPORTED_COMMAND", `This agent does not implement ${command.name}`);
    const result = await handler(check.params as never, {
      commandId: command.id,
      signal,
      get log() {
        return log();
      },
      progress: (message, percent) => this.output.progress(command.id, message, percent),
    });
    signal.throwIfAborted();
    // Checked before the schema, which may recurse as deep as the value goes.
    const deep = pathTooDeep(result, "result");
    if (deep) throw new ExecutorError("RESULT_TOO_DEEP", `${command.name} produced a result nested deeper than ${MAX_DATA_DEPTH} levels (at ${deep})`);
    const parsed = COMMANDS[check.name].result.safeParse(result);
    if (!parsed.success) throw new ExecutorError("EXECUTION_FAILED", `${command.name} produced a result that does not match its schema`);
    return parsed.data;
  }

  /**
   * Before an outcome is journaled or sent: one nested too deep to serialise, carrying a vault
   * secret, or too large for a frame (which the control plane would answer by closing the tunnel,
   * again on every resend), is replaced by a failure that says so.
   */
  private screen(outcome: CommandOutcome): CommandOutcome {
    // A result was checked when it was produced (execute); error details were not.
    const deep = pathTooDeep(outcome.error?.details, "error.details");
    if (deep) {
      this.log.error({ command_id: outcome.id, path: deep }, "command outcome is nested too deep to send; it was withheld");
      return withheldOutcome(outcome, "RESULT_TOO_DEEP", `The outcome nests deeper than ${MAX_DATA_DEPTH} levels (at ${deep}); it was withheld`);
    }
    const json = JSON.stringify(outcome);
    const bytes = bytesOverLimit(json, MAX_COMMAND_DATA_BYTES);
    if (bytes) {
      this.log.error({ command_id: outcome.id, bytes }, "command result is too large to send; it was withheld");
      return withheldOutcome(outcome, "RESULT_TOO_LARGE", `The result is ${bytes} bytes, over the ${MAX_COMMAND_DATA_BYTES} a frame can carry; ask for less`);
    }
    if (!this.guard?.leakIn(json)) return outcome;
    this.log.error({ command_id: outcome.id }, "command result contained a vault secret; it was withheld");
    return withheldOutcome(outcome, "SECRET_LEAK_BLOCKED", "The result contained a secret held in the agent's vault and was withheld");
  }

  private failure(id: string, err: unknown, signal: AbortSignal, startedAt: number, cancelReason?: string): CommandOutcome {
    const base = { id, started_at: startedAt, finished_at: Date.now() };
    if (signal.aborted) {
      // What the handler was up against when it was stopped (a lock it kept retrying, a task still running) is kept.
      const last = err instanceof ExecutorError ? err : undefined;
      const aborted = (code: string, message: string) =>
        last ? { code, message: `${message}; the last error was ${last.code}: ${last.message}`, details: { last_error: last.toBody() } } : { code, message };
      const reason = signal.reason as AbortReason;
      if (reason === "cancelled") return { ...base, status: "cancelled", error: aborted("COMMAND_CANCELLED", cancelReason ? `Cancelled by the control plane: ${cancelReason}` : "Cancelled on request") };
      if (reason === "timeout") return { ...base, status: "failed", error: aborted("COMMAND_TIMEOUT", "The command ran past its timeout and was aborted") };
      return { ...base, status: "failed", error: aborted("AGENT_SHUTTING_DOWN", "Aborted because the agent shut down") };
    }
    return { ...base, status: "failed", error: toExecutorError(err).toBody() };
  }
}

function notRecorded(err: unknown): ExecutorError {
  return new ExecutorError("EXECUTION_FAILED", `Not run: the agent's journal could not record the command (${(err as Error).message})`);
}
