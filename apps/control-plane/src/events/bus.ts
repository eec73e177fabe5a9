import { isFinalStatus, type CommandStatus } from "@botmox/protocol";
import type { CommandRecord } from "../store/types.js";

export type BusEvent =
  /** `replaces`: the final status this real outcome replaced (a command that expired while it was running). */
  | { type: "command.updated"; tenant_id: string; command: CommandRecord; replaces?: CommandStatus }
  | { type: "command.progress"; tenant_id: string; command_id: string; agent_id: string; message: string; percent?: number; at: number }
  | { type: "agent.online" | "agent.offline" | "agent.revoked"; tenant_id: string; agent_id: string; at: number }
  | { type: "agent.event"; tenant_id: string; agent_id: string; source: string; target: string; event_type: string; time: string; data: Record<string, unknown>; at: number };

/** Every event type a stream can carry (what `?types=` may name). */
export const BUS_EVENT_TYPES = ["command.updated", "command.progress", "agent.online", "agent.offline", "agent.revoked", "agent.event"] as const satisfies ReadonlyArray<BusEvent["type"]>;

type Listener<T> = (value: T) => void;

const ANNOUNCED_FINAL_KEPT = 10_000;

/**
 * In-process fan-out of state changes to SSE streams and `?wait` callers. The store stays
 * the source of truth: a waiter re-reads the store after subscribing, so a missed event
 * costs latency, never correctness.
 */
export class EventBus {
  private readonly tenants = new Map<string, Set<Listener<BusEvent>>>();
  private readonly commands = new Map<string, Set<Listener<CommandRecord>>>();
  private readonly everything = new Set<Listener<BusEvent>>();
  /**
   * Commands lately announced final. An update written before the final one but published after it
   * (two store calls racing, as on Supabase; a claim behind a cancel) is dropped: streams and
   * waiters must not end on `running`.
   */
  private readonly announcedFinal = new Set<string>();

  /** `onListenerError`: told of a listener that threw; the others still hear the event. Unset, the error surfaces as uncaught. */
  constructor(
    private readonly onListenerError: (err: unknown, event: BusEvent) => void = (err) =>
      queueMicrotask(() => {
        throw err;
      }),
  ) {}

  publish(event: BusEvent): void {
    if (event.type === "command.updated" && this.isStale(event.command)) return;
    for (const listener of this.everything) this.tell(listener, event, event);
    for (const listener of this.tenants.get(event.tenant_id) ?? []) this.tell(listener, event, event);
    if (event.type === "command.updated") {
      for (const listener of this.commands.get(event.command.id) ?? []) this.tell(listener, event.command, event);
    }
  }

  private tell<T>(listener: Listener<T>, value: T, event: BusEvent): void {
    try {
      listener(value);
    } catch (err) {
      this.onListenerError(err, event);
    }
  }

  private isStale(command: CommandRecord): boolean {
    if (!isFinalStatus(command.status)) return this.announcedFinal.has(command.id);
    this.announcedFinal.add(command.id);
    if (this.announcedFinal.size > ANNOUNCED_FINAL_KEPT) this.announcedFinal.delete(this.announcedFinal.values().next().value!);
    return false;
  }

  subscribeAll(listener: Listener<BusEvent>): () => void {
    this.everything.add(listener);
    return () => this.everything.delete(listener);
  }

  subscribeTenant(tenantId: string, listener: Listener<BusEvent>): () => void {
    return add(this.tenants, tenantId, listener);
  }

  watchCommand(commandId: string, listener: Listener<CommandRecord>): () => void {
    return add(this.commands, commandId, listener);
  }
}

function add<T>(map: Map<string, Set<Listener<T>>>, key: string, listener: Listener<T>): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    // Only this set: after it emptied once, the key may hold a newer one (a repeated unsubscribe).
    if (set.size === 0 && map.get(key) === set) map.delete(key);
  };
}
