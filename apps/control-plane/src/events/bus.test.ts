import { describe, expect, test } from "vitest";
import { EventBus, type BusEvent } from "./bus.js";

const online = (tenant_id: string): BusEvent => ({ type: "agent.online", tenant_id, agent_id: "a", at: 0 });

describe("EventBus", () => {
  test("a repeated unsubscribe leaves a later subscriber of the same tenant in place", () => {
    const bus = new EventBus();
    const unsubscribeFirst = bus.subscribeTenant("t1", () => {});
    unsubscribeFirst();
    const seen: BusEvent[] = [];
    bus.subscribeTenant("t1", (event) => seen.push(event));
    unsubscribeFirst();

    bus.publish(online("t1"));
    expect(seen).toHaveLength(1);
  });

  test("tenant subscribers see only their tenant's events", () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribeTenant("t1", (event) => seen.push(event.tenant_id));
    bus.publish(online("t2"));
    bus.publish(online("t1"));
    expect(seen).toEqual(["t1"]);
  });

  test("a listener that throws is reported, and the listeners after it still hear the event", () => {
    const failures: unknown[] = [];
    const bus = new EventBus((err) => failures.push(err));
    const seen: string[] = [];
    bus.subscribeAll(() => {
      throw new RangeError("Invalid time value");
    });
    bus.subscribeTenant("t1", (event) => seen.push(event.type));
    bus.publish(online("t1"));
    expect(seen).toEqual(["agent.online"]);
    expect(failures).toEqual([new RangeError("Invalid time value")]);
  });
});
