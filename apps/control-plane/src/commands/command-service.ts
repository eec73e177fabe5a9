import { COMMANDS, DEFAULT_EXPIRES_IN_MS, MAX_COMMAND_DATA_BYTES, bytesOverLimit, isFinalStatus, uuidv7, validateCommandParams, type CommandStatus } from "@botmox/protocol";
import { z } from "zod";
import { sha256Hex } from "../auth/secrets.js";
import { ApiError } from "../errors/api-error.js";
import type { EventBus } from "../events/bus.js";
import type { CommandRecord, Store } from "../store/types.js";
import { NO_DISPATCHER, type Dispatcher } from "./dispatcher.js";

export const submitBodySchema = z
  .object({
    name: z.string().min(1).max(100),
    params: z.record(z.string(), z.unknown()).optional(),
    timeout_ms: z.number().int().min(100).max(24 * 3_600_000).optional(),
    expires_in_ms: z.number().int().min(0).max(7 * 24 * 3_600_000).optional(),
  })
  .strict();
export type SubmitBody = z.infer<typeof submitBodySchema>;

/** Params must fit in a dispatch frame, or the agent would close the tunnel on every redelivery. */
function checkParamsSize(params: unknown): void {
  const bytes = bytesOverLimit(JSON.stringify(params), MAX_COMMAND_DATA_BYTES);
  if (bytes) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `params take ${bytes} bytes; at most ${MAX_COMMAND_DATA_BYTES} fit in a frame to the agent`, [
      { path: "params", message: `at most ${MAX_COMMAND_DATA_BYTES} bytes as JSON` },
    ]);
  }
}

/** JSON with every object's keys sorted: the same request hashes the same whatever order its keys came in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member && typeof member === "object" && !Array.isArray(member) ? Object.fromEntries(Object.entries(member).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : member,
  );
}

/** How releases before the canonical hash hashed a request: a retry across the upgrade still finds its command. */
function legacyRequestHash(agentId: string, body: SubmitBody): string {
  return sha256Hex(JSON.stringify([agentId, body.name, body.params ?? {}, body.timeout_ms ?? null]));
}

export interface Actor {
  tenant_id: string;
  actor: string;
}

/** Operator-facing command operations: submit, read, cancel, wait. */
export class CommandService {
  /** Set once the gateway exists. */
  dispatcher: Dispatcher = NO_DISPATCHER;
  /** Each waiting caller's "answer now with what there is" (see releaseWaiters). */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  async submit(input: Actor & { agent_id: string; body: SubmitBody; idempotencyKey: string | null }): Promise<{ command: CommandRecord; created: boolean }> {
    await this.checkAgent(input.tenant_id, input.agent_id);
    const check = validateCommandParams(input.body.name, input.body.params ?? {});
    if (!check.ok) throw new ApiError(check.code, check.message, check.details);
    checkParamsSize(check.params);

    const now = Date.now();
    const requestHash = input.idempotencyKey
      ? sha256Hex(canonicalJson([input.agent_id, input.body.name, input.body.params ?? {}, input.body.timeout_ms ?? null, input.body.expires_in_ms ?? null]))
      : null;
    const reservation = this.dispatcher.reserve(input.agent_id);
    const enqueued = this.store.enqueueCommand(
      {
      id: uuidv7(now),
      tenant_id: input.tenant_id,
      agent_id: input.agent_id,
      name: check.name,
      params: check.params,
      actor: input.actor,
      idempotency_key: input.idempotencyKey,
      request_hash: requestHash,
      timeout_ms: input.body.timeout_ms ?? COMMANDS[check.name].defaultTimeoutMs,
      created_at: now,
      expires_at: now + (input.body.expires_in_ms ?? DEFAULT_EXPIRES_IN_MS),
      },
      { dispatchNow: reservation !== undefined },
    );
    const { command, created } = await enqueued.catch((err: unknown) => {
      reservation?.release();
      throw err;
    });
    if (!created) {
      reservation?.release();
      if (command.request_hash !== requestHash && command.request_hash !== legacyRequestHash(input.agent_id, input.body)) {
        throw new ApiError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used for a different request", { command_id: command.id });
      }
      return { command, created };
    }
    this.bus.publish({ type: "command.updated", tenant_id: command.tenant_id, command });
    if (reservation && command.status === "dispatched") reservation.send(command);
    else this.dispatcher.queued(command.agent_id);
    return { command, created };
  }

  /** The agent exists in the tenant and may take commands; a live session proves it without a store read. */
  private async checkAgent(tenantId: string, agentId: string): Promise<void> {
    const liveTenant = this.dispatcher.liveTenant(agentId);
    if (liveTenant === tenantId) return;
    const agent = liveTenant === undefined ? await this.store.getAgent(agentId) : null;
    if (!agent || agent.tenant_id !== tenantId) throw new ApiError("NOT_FOUND", `Agent ${agentId} not found`);
    if (agent.status === "revoked") throw new ApiError("AGENT_REVOKED", "The agent has been revoked and cannot take commands");
  }

  async get(tenantId: string, id: string): Promise<CommandRecord> {
    const command = await this.store.getCommand(id);
    if (!command || command.tenant_id !== tenantId) throw new ApiError("NOT_FOUND", `Command ${id} not found`);
    return command;
  }

  async list(tenantId: string, agentId: string, limit: number, status?: CommandStatus): Promise<CommandRecord[]> {
    const agent = await this.store.getAgent(agentId);
    if (!agent || agent.tenant_id !== tenantId) throw new ApiError("NOT_FOUND", `Agent ${agentId} not found`);
    return this.store.listCommands({ tenant_id: tenantId, agent_id: agentId, limit, ...(status ? { status } : {}) });
  }

  /**
   * Best effort: a queued command is cancelled at once; one already sent is asked to stop
   * and ends `cancelled` when the agent confirms (or with its real outcome if it finished first).
   */
  async cancel(input: Actor & { id: string }): Promise<{ command: CommandRecord; cancel: "cancelled" | "requested" | "already_final" }> {
    const current = await this.get(input.tenant_id, input.id);
    if (isFinalStatus(current.status)) return { command: current, cancel: "already_final" };
    const now = Date.now();
    const cancelled = await this.store.transitionCommand({
      id: input.id,
      from: ["queued"],
      to: "cancelled",
      patch: { finished_at: now, cancel_requested_at: now, error: { code: "COMMAND_CANCELLED", message: `Cancelled by ${input.actor} before it was sent` } },
      actor: input.actor,
    });
    if (cancelled) {
      this.bus.publish({ type: "command.updated", tenant_id: cancelled.tenant_id, command: cancelled });
      return { command: cancelled, cancel: "cancelled" };
    }
    const requested = (await this.store.patchCommand({ id: input.id, patch: { cancel_requested_at: now } })) ?? current;
    await this.store.appendAudit({ tenant_id: input.tenant_id, actor: input.actor, action: "command.cancel_requested", target_type: "command", target_id: input.id, details: { status: requested.status } });
    if (isFinalStatus(requested.status)) return { command: requested, cancel: "already_final" };
    this.dispatcher.cancel(requested.agent_id, requested.id);
    return { command: requested, cancel: "requested" };
  }

  /**
   * A revoked agent never reports again: its unfinished commands end now instead of waiting forever.
   * Queued ones were never sent (cancelled); sent ones may have run (failed). Returns how many ended.
   */
  async endForRevokedAgent(input: Actor & { agent_id: string }): Promise<number> {
    const now = Date.now();
    const end = async (command: CommandRecord, sent: boolean) => {
      // Any status of its kind: the closing session may still take an acceptance (dispatched → running) meanwhile.
      const ended = await this.store.transitionCommand({
        id: command.id,
        agent_id: input.agent_id,
        from: sent ? ["dispatched", "running"] : ["queued"],
        to: sent ? "failed" : "cancelled",
        patch: {
          finished_at: now,
          error: {
            code: "AGENT_REVOKED",
            message: sent ? "The agent was revoked before it reported an outcome; the command may have run" : "The agent was revoked before the command was sent",
          },
        },
        actor: input.actor,
      });
      if (ended) this.bus.publish({ type: "command.updated", tenant_id: ended.tenant_id, command: ended });
      return ended ? 1 : 0;
    };
    // Queued ones first: one sent meanwhile is among the active ones read next. A pass that finds
    // commands but ends none saw each move on under it; a status moves forward at most twice more.
    let count = 0;
    for (let fruitless = 0; fruitless < 3; ) {
      const queued = await this.store.listCommands({ tenant_id: input.tenant_id, agent_id: input.agent_id, status: "queued", limit: 500 });
      let ended = 0;
      for (const command of queued) ended += await end(command, false);
      const active = await this.store.activeCommands(input.agent_id);
      for (const command of active) ended += await end(command, true);
      if (queued.length === 0 && active.length === 0) break;
      count += ended;
      fruitless = ended === 0 ? fruitless + 1 : 0;
    }
    return count;
  }

  /** At start: a revoke cut short by a crash left commands its agent will never report on; they end now. */
  async endForRevokedAgents(): Promise<number> {
    let count = 0;
    for (const agent of await this.store.revokedAgentsWithUnfinishedCommands()) count += await this.endForRevokedAgent({ ...agent, actor: "system" });
    return count;
  }

  /** On shutdown: every `?wait=` caller gets the command as it is now instead of holding the server open. */
  releaseWaiters(): void {
    for (const answerNow of [...this.waiters]) answerNow();
  }

  /**
   * Resolves with the command once final or when `waitMs` passes, whichever is first. `known` is
   * a copy read in this same turn of the event loop (no change can have been missed since), which
   * saves re-reading it.
   */
  async waitForFinal(tenantId: string, id: string, waitMs: number, known?: CommandRecord): Promise<CommandRecord> {
    if (known && isFinalStatus(known.status)) return known;
    if (waitMs <= 0) return known ?? this.get(tenantId, id);
    return new Promise<CommandRecord>((resolve, reject) => {
      let settled = false;
      const finish = (command: CommandRecord) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unwatch();
        this.waiters.delete(answerNow);
        resolve(command);
      };
      const unwatch = this.bus.watchCommand(id, (command) => {
        // Another tenant's id is a 404 (the read below says so too; the event may come first).
        if (command.tenant_id !== tenantId) fail(new ApiError("NOT_FOUND", `Command ${id} not found`));
        else if (isFinalStatus(command.status)) finish(command);
      });
      const answerNow = () => this.get(tenantId, id).then(finish, fail);
      const timer = setTimeout(answerNow, waitMs);
      this.waiters.add(answerNow);
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unwatch();
        this.waiters.delete(answerNow);
        reject(err);
      };
      // Subscribe first, then read: a change between the two is seen by one or the other.
      if (!known) {
        this.get(tenantId, id).then((command) => {
          if (isFinalStatus(command.status)) finish(command);
        }, fail);
      }
    });
  }
}
