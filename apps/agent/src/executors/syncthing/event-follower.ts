import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { SyncthingClient } from "./client.js";

export const FORWARDED_EVENTS = ["StateChanged", "FolderSummary", "FolderCompletion", "DeviceConnected", "DeviceDisconnected"] as const;
const FORWARDED = new Set<string>(FORWARDED_EVENTS);

export interface TargetEvent {
  type: string;
  time: string;
  data: Record<string, unknown>;
}

interface RawEvent {
  id: number;
  type: string;
  time: string;
  data: unknown;
}

/**
 * Follows SyncThing's event stream (long poll with `since`) for one target and hands on folder
 * state, completion and device connection changes. Event ids restart at 1 when SyncThing
 * restarts: the follower notices (new startTime), skips the new instance's backlog instead of
 * replaying it, and says so with a SyncthingRestarted event.
 */
export class SyncthingEventFollower {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly target: string,
    private readonly client: () => Promise<SyncthingClient>,
    private readonly emit: (event: TargetEvent) => void,
    private readonly log: Logger,
    private readonly pollTimeoutS = 60,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    let lastId = 0;
    let startTime: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const st = await this.client();
        const status = await st.get<{ startTime: string }>("/rest/system/status", undefined, signal);
        if (status.startTime !== startTime) {
          const newest = await st.get<RawEvent[]>("/rest/events", { since: "0", limit: "1", timeout: "0" }, signal);
          lastId = newest.at(-1)?.id ?? 0;
          if (startTime !== undefined) this.emit({ type: "SyncthingRestarted", time: new Date().toISOString(), data: { started_at: status.startTime } });
          startTime = status.startTime;
        }
        failures = 0;
        for (;;) {
          const events = await st.request<RawEvent[]>("GET", "/rest/events", {
            // Filtered client-side: 1.19's server-side `events=` mask silently drops events here.
            query: { since: String(lastId), timeout: String(this.pollTimeoutS) },
            signal,
            timeoutMs: (this.pollTimeoutS + 15) * 1000,
          });
          if (events.length === 0) break; // quiet: re-check that it is still the same SyncThing
          for (const event of events) {
            if (event.id <= lastId) continue;
            lastId = event.id;
            if (!FORWARDED.has(event.type)) continue;
            this.emit({ type: event.type, time: event.time, data: (event.data ?? {}) as Record<string, unknown> });
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        if (failures === 1) this.log.warn({ target: this.target, err: (err as Error).message }, "SyncThing event stream interrupted; retrying");
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), undefined, { signal }).catch(() => {});
      }
    }
  }
}
