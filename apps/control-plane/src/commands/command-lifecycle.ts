import type { CommandOutcome, CommandStatus } from "@botmox/protocol";
import type { EventBus } from "../events/bus.js";
import { envelopeError } from "../store/envelope-error.js";
import type { CommandRecord, Store } from "../store/types.js";

/** Agent-facing transitions: what a session does when the agent reports on a command. */
export class CommandLifecycle {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  private publish(command: CommandRecord | null, replaces?: CommandStatus): CommandRecord | null {
    if (command) this.bus.publish({ type: "command.updated", tenant_id: command.tenant_id, command, ...(replaces ? { replaces } : {}) });
    return command;
  }

  claim(agentId: string, limit: number): Promise<CommandRecord[]> {
    return this.store.claimCommands({ agent_id: agentId, limit, now: Date.now() }).then((commands) => {
      for (const command of commands) this.publish(command);
      return commands;
    });
  }

  /** A redelivery of a command the agent may or may not have seen; null when it is no longer in the status read. */
  redelivered(command: CommandRecord): Promise<CommandRecord | null> {
    return this.store.transitionCommand({
      id: command.id,
      agent_id: command.agent_id,
      from: [command.status],
      to: command.status,
      patch: { attempts_increment: 1 },
      actor: "system",
    });
  }

  /**
   * Published as soon as it is written, like outcomes: an outcome in the same read of the socket
   * must not be announced before it (a command would end on `running`). A lost commit is harmless:
   * the command is redelivered and accepted again.
   */
  async accepted(agentId: string, id: string): Promise<CommandRecord | null> {
    return this.publish(
      await this.store.transitionCommand({ id, agent_id: agentId, from: ["dispatched"], to: "running", patch: { started_at: Date.now() }, actor: `agent:${agentId}`, settleBeforeCommit: true }),
    );
  }

  /**
   * Stores the outcome; null when the command was already final (a repeated result), which is still
   * acknowledged. A command that expired while dispatched did reach the agent (only its acceptance
   * was lost), so its real outcome replaces `expired`. `envelopeOnly` ("local" tenants): the result
   * is relayed to waiters and SSE but not stored.
   *
   * Waiters hear it as soon as it is written, before the commit: the agent keeps the outcome until
   * it is acknowledged, so the caller acknowledges only once `store.committed()` settles.
   */
  async finished(agentId: string, outcome: CommandOutcome, envelopeOnly = false): Promise<CommandRecord | null> {
    const transition = (from: CommandStatus[]) =>
      this.store.transitionCommand({
        id: outcome.id,
        agent_id: agentId,
        from,
        to: outcome.status,
        patch: {
          result: outcome.status === "succeeded" ? (outcome.result ?? null) : undefined,
          // "local": the code alone; the message and details (task logs, paths) stay on the agent.
          error: outcome.error ? (envelopeOnly ? envelopeError(outcome.error.code) : outcome.error) : null,
          finished_at: outcome.finished_at,
          ...(outcome.started_at ? { started_at: outcome.started_at } : {}),
          ...(envelopeOnly ? { envelope_only: true } : {}),
        },
        actor: `agent:${agentId}`,
        settleBeforeCommit: true,
      });
    let stored = await transition(["dispatched", "running"]);
    let replaces: CommandStatus | undefined;
    if (!stored) {
      const current = await this.store.getCommand(outcome.id);
      if (current?.status === "expired" && current.dispatched_at !== null) {
        stored = await transition(["expired"]);
        replaces = "expired";
      }
    }
    // Waiters and SSE still get the whole outcome, live.
    return this.publish(stored && envelopeOnly ? { ...stored, result: outcome.status === "succeeded" ? (outcome.result ?? null) : null, error: outcome.error ?? null } : stored, replaces);
  }

  async expireDue(): Promise<number> {
    const expired = await this.store.expireCommands(Date.now());
    for (const command of expired) this.publish(command);
    return expired.length;
  }
}
