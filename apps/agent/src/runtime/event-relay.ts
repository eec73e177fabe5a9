import type { Logger } from "pino";
import { SyncthingClient } from "../executors/syncthing/client.js";
import { SyncthingEventFollower, type TargetEvent } from "../executors/syncthing/event-follower.js";
import type { Targets } from "../targets/targets.js";

const BUFFER_LIMIT = 500;
const RESCAN_TARGETS_MS = 15_000;

export type RelayedEvent = TargetEvent & { source: "syncthing"; target: string };

/**
 * Runs one event follower per SyncThing target (picking up targets added while running) and
 * hands events to `send`; while the tunnel is down they wait in a bounded buffer, newest kept.
 */
export class EventRelay {
  private readonly followers = new Map<string, SyncthingEventFollower>();
  private readonly buffer: RelayedEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: Targets,
    /** False only when the event should wait for the tunnel to come back. */
    private readonly send: (event: RelayedEvent) => boolean,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sync();
    this.timer = setInterval(() => this.sync(), RESCAN_TARGETS_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.followers.values()].map((follower) => follower.stop()));
    this.followers.clear();
  }

  /** Sends what waited while disconnected. */
  flush(): void {
    while (this.buffer.length > 0 && this.send(this.buffer[0]!)) this.buffer.shift();
  }

  private sync(): void {
    let wanted: string[];
    try {
      wanted = this.targets.list().filter((target) => target.kind === "syncthing").map((target) => target.name);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not read targets");
      return;
    }
    for (const [name, follower] of this.followers) {
      if (!wanted.includes(name)) {
        void follower.stop();
        this.followers.delete(name);
      }
    }
    for (const name of wanted) {
      if (this.followers.has(name)) continue;
      const follower = new SyncthingEventFollower(
        name,
        async () => {
          const { config, secret } = await this.targets.resolve(name, "syncthing");
          return new SyncthingClient({ url: config.url, apiKey: secret });
        },
        (event) => this.relay({ ...event, source: "syncthing", target: name }),
        this.log,
      );
      this.followers.set(name, follower);
      follower.start();
    }
  }

  private relay(event: RelayedEvent): void {
    if (this.buffer.length === 0 && this.send(event)) return;
    this.buffer.push(event);
    if (this.buffer.length > BUFFER_LIMIT) this.buffer.shift();
  }
}
