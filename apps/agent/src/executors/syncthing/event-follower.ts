import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { fullJitterDelay } from "../../tunnel/backoff.js";
import { toExecutorError, type ExecutorError } from "../executor-error.js";
import type { SyncthingClient } from "./client.js";
import { FOLLOWED_EVENT_TYPES, parseFollowedEvent, type FollowedEvent, type FollowedEventType } from "./events.js";
import type { RawEvent } from "./types.js";

/** A SyncThing start (its start time) and the last event id seen from it. */
export interface FollowerPosition {
  startedAt: string;
  eventId: number;
}

export interface EventFollowerOptions {
  /** The client, or a factory asked again after every failure (so a rotated key is picked up). */
  client: SyncthingClient | (() => SyncthingClient | Promise<SyncthingClient>);
  onEvent(event: FollowedEvent): void;
  /**
   * SyncThing restarted (its event ids began again at 1). The new instance's earlier events are
   * skipped, not replayed: re-read whatever state matters (folder status, connections).
   */
  onRestart?(info: { startedAt: string; previousStartedAt: string }): void;
  /** Events were lost: the follower fell more than SyncThing's buffer (1000 events) behind. */
  onGap?(info: { afterId: number; nextId: number }): void;
  /** A poll failed; the follower retries with backoff. `attempt` counts from 1 since the last success. */
  onError?(error: ExecutorError, attempt: number): void;
  /** A followed event whose payload is not what this code knows; it is skipped, the stream goes on. */
  onSkipped?(event: RawEvent, reason: string): void;
  /** Which followed types to deliver (default all five). */
  types?: readonly FollowedEventType[];
  /**
   * Where a previous follower stopped (its `position`). Resumes there when SyncThing is still the
   * instance that started at `startedAt`; otherwise starts from the newest event and calls
   * onRestart. Without it the follower starts from the newest event, skipping history.
   */
  resume?: FollowerPosition;
  /** Long-poll timeout (default 60 s). */
  pollTimeoutS?: number;
  /** Retry delays: full jitter between 0 and min(maxMs, baseMs * 2^attempt), at least 100 ms. */
  backoff?: { baseMs?: number; maxMs?: number };
}

/**
 * Follows SyncThing's event stream with the `since` long poll and hands on typed folder and
 * device events. It remembers the last event id and resumes from it after errors. Event ids
 * begin again at 1 whenever SyncThing restarts: before a batch is delivered the follower checks
 * that SyncThing's start time is still the one it synced with, so a restart is noticed whether
 * the new ids are below the remembered one (a poll would wait for nothing) or already above it
 * (a poll would replay the new instance's start-up backlog). Then it jumps to the newest id
 * and reports the restart instead of replaying.
 *
 * The poll asks SyncThing to filter by type: fewer and smaller answers than the full stream.
 * That uses SyncThing's per-mask subscription, which only holds events from its first request
 * on; the follower's first request is that one, and it starts from "now" anyway.
 */
export class EventFollower {
  private readonly abort = new AbortController();
  private readonly types: readonly FollowedEventType[];
  private running: Promise<void> | undefined;
  private lastId: number;
  private startedAt: string | undefined;

  constructor(private readonly options: EventFollowerOptions) {
    this.types = options.types ?? FOLLOWED_EVENT_TYPES;
    this.lastId = -1;
  }

  /** The id of the last event seen (of the SyncThing start it belongs to), -1 before the first sync. */
  get lastEventId(): number {
    return this.lastId;
  }

  /** Where the follower is, to hand to a later one as `resume`; undefined before the first sync. */
  get position(): FollowerPosition | undefined {
    return this.startedAt === undefined ? undefined : { startedAt: this.startedAt, eventId: this.lastId };
  }

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async client(): Promise<SyncthingClient> {
    return typeof this.options.client === "function" ? this.options.client() : this.options.client;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    const timeoutS = this.options.pollTimeoutS ?? 60;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const st = await this.client();
        // First time: learn where to start. After a failure: SyncThing may have restarted
        // meanwhile, and polling a new instance from an old id would wait for nothing.
        if (this.startedAt === undefined) await this.sync(st, signal);
        else await this.sameInstance(st, signal);
        for (;;) {
          const events = await st.events({ since: this.lastId, timeoutS, types: this.types, signal });
          // Still the SyncThing we synced with? Checked after the poll, before delivery.
          if (!(await this.sameInstance(st, signal))) continue;
          failures = 0;
          if (events.length === 0) continue;
          if (events[0]!.id <= this.lastId) {
            // Ids went backwards under the same start time (a restart within the same second): resync.
            await this.resync(st, signal);
            continue;
          }
          this.deliver(events);
        }
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        this.options.onError?.(toExecutorError(err), failures);
        const delay = Math.max(100, fullJitterDelay(failures, this.options.backoff?.baseMs ?? 500, this.options.backoff?.maxMs ?? 30_000));
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Learns the start time and the id to continue from: the resume position if it is this instance's, else the newest. */
  private async sync(st: SyncthingClient, signal: AbortSignal): Promise<void> {
    const { startTime } = await st.systemStatus({ signal });
    const resume = this.options.resume;
    if (resume?.startedAt === startTime) {
      this.lastId = resume.eventId;
    } else {
      await this.resync(st, signal);
    }
    this.startedAt = startTime;
    if (resume && resume.startedAt !== startTime) this.options.onRestart?.({ startedAt: startTime, previousStartedAt: resume.startedAt });
  }

  /** False (after resyncing and reporting the restart) when SyncThing started anew since the last check. */
  private async sameInstance(st: SyncthingClient, signal: AbortSignal): Promise<boolean> {
    const { startTime } = await st.systemStatus({ signal });
    if (startTime === this.startedAt) return true;
    const previous = this.startedAt!;
    await this.resync(st, signal);
    this.startedAt = startTime;
    this.options.onRestart?.({ startedAt: startTime, previousStartedAt: previous });
    return false;
  }

  /** Continues from the newest event: what the new instance did before now is not replayed. */
  private async resync(st: SyncthingClient, signal: AbortSignal): Promise<void> {
    this.lastId = await st.newestEventId({ types: this.types, signal });
  }

  private deliver(events: RawEvent[]): void {
    const first = events[0]!;
    if (this.lastId >= 0 && first.id > this.lastId + 1) this.options.onGap?.({ afterId: this.lastId, nextId: first.id });
    for (const event of events) {
      if (event.id <= this.lastId) continue;
      this.lastId = event.id;
      const parsed = parseFollowedEvent(event);
      if (parsed instanceof Error) this.options.onSkipped?.(event, parsed.message);
      else if (parsed && this.types.includes(parsed.type)) this.options.onEvent(parsed);
    }
  }
}

// --- the agent's event relay --------------------------------------------------------------

/** @deprecated name kept for the relay: FOLLOWED_EVENT_TYPES. */
export const FORWARDED_EVENTS = FOLLOWED_EVENT_TYPES;

/** An event as the relay forwards it to the control plane. */
export interface TargetEvent {
  type: string;
  time: string;
  data: Record<string, unknown>;
}

/**
 * One target's follower as the agent's event relay runs it: followed events and a
 * `SyncthingRestarted` marker go to `emit`; the first failure of a streak is logged.
 */
export class SyncthingEventFollower {
  private readonly follower: EventFollower;

  constructor(target: string, client: () => Promise<SyncthingClient>, emit: (event: TargetEvent) => void, log: Logger, pollTimeoutS = 60) {
    this.follower = new EventFollower({
      client,
      pollTimeoutS,
      onEvent: (event) => emit({ type: event.type, time: event.time, data: event.data as unknown as Record<string, unknown> }),
      onRestart: ({ startedAt }) => emit({ type: "SyncthingRestarted", time: new Date().toISOString(), data: { started_at: startedAt } }),
      onGap: ({ afterId, nextId }) => log.warn({ target, after_id: afterId, next_id: nextId }, "SyncThing events were lost (the follower fell behind)"),
      onError: (error, attempt) => {
        if (attempt === 1) log.warn({ target, code: error.code, err: error.message }, "SyncThing event stream interrupted; retrying");
      },
      onSkipped: (event, reason) => log.warn({ target, event_id: event.id, type: event.type, reason }, "SyncThing event skipped"),
    });
  }

  start(): void {
    this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
