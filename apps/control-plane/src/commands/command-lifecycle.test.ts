import { describe, expect, test } from "vitest";
import { EventBus } from "../events/bus.js";
import type { CommandRecord, Store } from "../store/types.js";
import { CommandLifecycle } from "./command-lifecycle.js";

describe("CommandLifecycle announcements", () => {
  test("an acceptance whose store call answers after the outcome's is not announced after it", async () => {
    const id = "0190a0b4-6f00-7000-8000-00000000000d";
    const record = (status: CommandRecord["status"]) => ({ id, tenant_id: "t", agent_id: "a", status }) as CommandRecord;
    let answerAcceptance!: () => void;
    // Two calls in flight at once, answered in the opposite order (as two PostgREST requests may be).
    const store = {
      transitionCommand: (input: { to: CommandRecord["status"] }) =>
        input.to === "running" ? new Promise<CommandRecord>((resolve) => (answerAcceptance = () => resolve(record("running")))) : Promise.resolve(record(input.to)),
    } as unknown as Store;
    const bus = new EventBus();
    const announced: string[] = [];
    bus.watchCommand(id, (command) => announced.push(command.status));
    const lifecycle = new CommandLifecycle(store, bus);

    const accepted = lifecycle.accepted("a", id);
    await lifecycle.finished("a", { id, status: "succeeded", result: {}, finished_at: Date.now() });
    answerAcceptance();
    await accepted;
    expect(announced).toEqual(["succeeded"]);
  });
});
