import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { MAX_COMMAND_DATA_BYTES, MAX_DATA_DEPTH, type CommandOutcome } from "@botmox/protocol";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { HandlerTable } from "../executors/handler.js";
import { ExecutorError } from "../executors/executor-error.js";
import { Journal } from "../journal/journal.js";
import { CommandRunner } from "./command-runner.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A runner on a real journal file, a second connection standing for another process, and an echo handler that records what it saw. */
function setup(extraHandlers: Partial<HandlerTable> = {}, maxInFlight?: number) {
  const dir = mkdtempSync(join(tmpdir(), "runner-"));
  dirs.push(dir);
  const file = join(dir, "journal.db");
  const journal = new Journal(file);
  const other = new Database(file);
  const committed = (id: string) => other.prepare("SELECT status FROM commands WHERE id = ?").get(id) as { status: string } | undefined;
  const seenByHandler: Array<string | undefined> = [];
  const handlers = {
    "agent.echo": async ({ data }: { data: unknown }, ctx: { commandId: string }) => {
      seenByHandler.push(committed(ctx.commandId)?.status);
      return { data };
    },
    ...extraHandlers,
  } as unknown as HandlerTable;
  const results: Array<{ outcome: CommandOutcome; committedStatus: string | undefined }> = [];
  const accepted: string[] = [];
  const runner = new CommandRunner(
    journal,
    handlers,
    { accepted: (id) => accepted.push(id), progress: () => {}, result: (outcome) => results.push({ outcome, committedStatus: committed(outcome.id)?.status }) },
    pino({ level: "silent" }),
    undefined,
    maxInFlight,
  );
  const close = () => {
    other.close();
    journal.close();
  };
  return { runner, journal, other, results, accepted, seenByHandler, close };
}

const dispatch = (id: string) => ({ id, name: "agent.echo", params: { data: id, delay_ms: 0 }, timeout_ms: 5_000, attempt: 1 });
const ids = ["0190a0b4-6f00-7000-8000-00000000000a", "0190a0b4-6f00-7000-8000-00000000000b"];

describe("command runner", () => {
  test("a command runs only once its record is committed, and its result goes out only once its outcome is", async () => {
    const { runner, results, seenByHandler, close } = setup();
    for (const id of ids) runner.dispatch(dispatch(id));
    await until(() => results.length === 2);
    expect(seenByHandler).toEqual(["running", "running"]);
    expect(results.map((r) => [r.outcome.id, r.outcome.status, r.committedStatus])).toEqual(ids.map((id) => [id, "succeeded", "succeeded"]));
    close();
  });

  test("a cancel keeps the control plane's reason in the outcome, so an expired command does not read as an operator's cancel", async () => {
    const untilAborted = ((_params: unknown, ctx: { signal: AbortSignal }) =>
      new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted"))))) as unknown as HandlerTable["agent.echo"];
    const { runner, results, close } = setup({ "agent.echo": untilAborted });
    runner.dispatch(dispatch(ids[0]!));
    runner.dispatch(dispatch(ids[1]!));
    await until(() => runner.inFlight === 2);
    await new Promise((resolve) => setTimeout(resolve, 10)); // both handlers started
    runner.cancel(ids[0]!, "command is expired");
    runner.cancel(ids[1]!);
    await until(() => results.length === 2);
    const byId = new Map(results.map((r) => [r.outcome.id, r.outcome]));
    expect(byId.get(ids[0]!)).toMatchObject({ status: "cancelled", error: { code: "COMMAND_CANCELLED", message: "Cancelled by the control plane: command is expired" } });
    expect(byId.get(ids[1]!)).toMatchObject({ status: "cancelled", error: { code: "COMMAND_CANCELLED", message: "Cancelled on request" } });
    close();
  });

  test("dispatches past max_in_flight wait for a free slot, unjournaled; one cancelled while waiting never runs", async () => {
    const release = new Map<string, () => void>();
    const held = ((_params: unknown, ctx: { commandId: string }) => new Promise((resolve) => release.set(ctx.commandId, () => resolve({ data: ctx.commandId })))) as unknown as HandlerTable["agent.echo"];
    const { runner, results, other, close } = setup({ "agent.echo": held }, 2);
    const four = ["0190a0b4-6f00-7000-8000-000000000001", "0190a0b4-6f00-7000-8000-000000000002", "0190a0b4-6f00-7000-8000-000000000003", "0190a0b4-6f00-7000-8000-000000000004"];
    for (const id of four) runner.dispatch(dispatch(id));
    await until(() => release.size === 2);
    expect(runner.inFlight).toBe(2);
    expect(other.prepare("SELECT COUNT(*) AS n FROM commands").get()).toEqual({ n: 2 }); // the waiting ones are not journaled
    runner.cancel(four[3]!, "cancel requested by operator");
    await until(() => results.length === 1);
    expect(results[0]!.outcome).toMatchObject({ id: four[3], status: "cancelled", error: { code: "COMMAND_CANCELLED", message: "Cancelled before it started: cancel requested by operator" } });
    release.get(four[0]!)!();
    await until(() => release.size === 3); // the third starts in the freed slot
    expect([...release.keys()]).toEqual(four.slice(0, 3));
    for (const id of four.slice(1, 3)) release.get(id)!();
    await until(() => results.length === 4);
    expect(results.map((r) => [r.outcome.id, r.outcome.status])).toEqual([
      [four[3], "cancelled"],
      [four[0], "succeeded"],
      [four[1], "succeeded"],
      [four[2], "succeeded"],
    ]);
    close();
  });

  test("a cancel of a waiting dispatch whose journal commit fails is still reported, and a redelivery of it does not run", async () => {
    const release = new Map<string, () => void>();
    const held = ((_params: unknown, ctx: { commandId: string }) => new Promise((resolve) => release.set(ctx.commandId, () => resolve({ data: ctx.commandId })))) as unknown as HandlerTable["agent.echo"];
    const { runner, journal, other, results, close } = setup({ "agent.echo": held }, 1);
    runner.dispatch(dispatch(ids[0]!));
    runner.dispatch(dispatch(ids[1]!)); // waits for the slot
    await until(() => release.size === 1);
    // The commit fails and its writes are gone (disk I/O error).
    const durable = journal.durable.bind(journal);
    journal.durable = () =>
      durable().then(() => {
        other.prepare("DELETE FROM commands WHERE id = ?").run(ids[1]);
        throw new Error("disk I/O error");
      });
    runner.cancel(ids[1]!);
    await until(() => results.length === 1);
    journal.durable = durable;
    expect(results[0]!.outcome).toMatchObject({ id: ids[1], status: "cancelled", error: { code: "COMMAND_CANCELLED" } });
    release.get(ids[0]!)!();
    runner.dispatch(dispatch(ids[1]!)); // redelivered: answered from memory
    await until(() => results.length === 3);
    expect(results.map((r) => [r.outcome.id, r.outcome.status])).toEqual([
      [ids[1], "cancelled"],
      [ids[1], "cancelled"],
      [ids[0], "succeeded"],
    ]);
    expect([...release.keys()]).toEqual([ids[0]]);
    close();
  });

  test("when the journal cannot record a command it is not run, and its failure says why", async () => {
    const { runner, other, results, seenByHandler, close } = setup();
    other.exec("BEGIN IMMEDIATE"); // another process holds the write lock past the busy timeout
    runner.dispatch(dispatch(ids[0]!));
    other.exec("ROLLBACK");
    expect(seenByHandler).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]!.outcome).toMatchObject({ id: ids[0], status: "failed", error: { code: "EXECUTION_FAILED" } });
    expect(results[0]!.outcome.error!.message).toMatch(/^Not run: the agent's journal could not record the command \(database is locked\)/);
    close();
  }, 15_000);

  test("a repeat of a command running here is answered accepted even when the journal cannot be asked; its real outcome follows", async () => {
    const slow = async ({ data }: { data: unknown }) => (await new Promise((resolve) => setTimeout(resolve, 300)), { data });
    const { runner, other, results, accepted, close } = setup({ "agent.echo": slow } as unknown as Partial<HandlerTable>);
    runner.dispatch(dispatch(ids[0]!));
    await until(() => accepted.length === 1);
    other.exec("BEGIN IMMEDIATE"); // the journal is locked when the redelivery comes
    runner.dispatch({ ...dispatch(ids[0]!), attempt: 2 });
    other.exec("ROLLBACK");
    expect(accepted).toEqual([ids[0], ids[0]]);
    await until(() => results.length === 1);
    expect(results[0]!.outcome).toMatchObject({ id: ids[0], status: "succeeded" });
    close();
  }, 15_000);

  test("an outcome the journal cannot record (disk full) is still resent until acknowledged, and answers a repeat", async () => {
    const { runner, journal, results, close } = setup();
    // Fault injection: the journal's connection may grow by a couple of pages, not by the result.
    const db = (journal as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${(db.pragma("page_count", { simple: true }) as number) + 2}`);
    const big = { ...dispatch(ids[0]!), params: { data: "x".repeat(64 * 1024), delay_ms: 0 } };
    runner.dispatch(big);
    await until(() => results.length === 1);
    expect(results[0]!.outcome).toMatchObject({ id: ids[0], status: "succeeded" });

    expect(runner.resendUnacknowledged()).toBe(1); // the connection dropped before the ack: it goes again
    runner.dispatch({ ...big, attempt: 2 }); // a redelivery is answered with it, not run again
    expect(results.map((r) => r.outcome.id)).toEqual([ids[0], ids[0], ids[0]]);
    runner.acknowledged([ids[0]!]);
    expect(runner.resendUnacknowledged()).toBe(0);
    close();
  });

  test("the periodic resender waits from an outcome's last send, not from when it finished", async () => {
    const { runner, journal, results, close } = setup();
    const longAgo = Date.now() - 60_000;
    journal.begin(ids[0]!, "agent.echo", longAgo);
    journal.finish({ id: ids[0]!, status: "succeeded", result: { data: 1 }, finished_at: longAgo });
    await journal.durable();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      expect(runner.resendUnacknowledged()).toBe(1); // on connect: everything not acknowledged
      expect(runner.resendUnacknowledged(15_000)).toBe(0); // sent just now, however old the outcome
      vi.setSystemTime(Date.now() + 15_000);
      expect(runner.resendUnacknowledged(15_000)).toBe(1);
      runner.acknowledged([ids[0]!]);
      expect(runner.resendUnacknowledged()).toBe(0);
      expect(results.map((r) => r.outcome.id)).toEqual([ids[0], ids[0]]);
    } finally {
      vi.useRealTimers();
      close();
    }
  });

  test("a command stopped by its timeout says what it was up against", async () => {
    // As the Proxmox handlers do: retry a lock until the command's time runs out, then report the last real error.
    const lockedUntilAborted = async (_params: unknown, ctx: { signal: AbortSignal }) => {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      throw new ExecutorError("PVE_LOCKED", "VM is locked (backup)", { vmid: 101 });
    };
    const { runner, results, close } = setup({ "agent.echo": lockedUntilAborted } as unknown as Partial<HandlerTable>);
    runner.dispatch({ ...dispatch(ids[0]!), timeout_ms: 100 });
    await until(() => results.length === 1);
    expect(results[0]!.outcome).toMatchObject({
      status: "failed",
      error: { code: "COMMAND_TIMEOUT", message: expect.stringContaining("PVE_LOCKED: VM is locked (backup)"), details: { last_error: { code: "PVE_LOCKED", details: { vmid: 101 } } } },
    });
    close();
  });

  test("a result too large for a frame is journaled and sent as a RESULT_TOO_LARGE failure", async () => {
    const { runner, other, results, close } = setup();
    const huge = "é".repeat(MAX_COMMAND_DATA_BYTES / 2); // under the limit in characters, over it in UTF-8 bytes
    runner.dispatch({ ...dispatch(ids[0]!), params: { data: huge, delay_ms: 0 } });
    await until(() => results.length === 1);
    expect(results[0]!.outcome).toMatchObject({ id: ids[0], status: "failed", error: { code: "RESULT_TOO_LARGE" } });
    expect(results[0]!.outcome.error!.message).toMatch(/over the \d+ a frame can carry/);
    const journaled = other.prepare("SELECT status, result, error FROM commands WHERE id = ?").get(ids[0]) as { status: string; result: string | null; error: string };
    expect(journaled).toMatchObject({ status: "failed", result: null });
    expect(JSON.parse(journaled.error).code).toBe("RESULT_TOO_LARGE");
    close();
  });

  test("a result or error details nested too deep to serialise are journaled and sent as a RESULT_TOO_DEEP failure, and the agent carries on", async () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const { runner, other, results, close } = setup({
      "agent.echo": async (_params: unknown, ctx: { commandId: string }) => {
        if (ctx.commandId === ids[0]) return { data: deep };
        throw new ExecutorError("EXECUTION_FAILED", "the target answered with an odd body", { body: deep });
      },
    } as Partial<HandlerTable>);
    for (const id of ids) runner.dispatch(dispatch(id));
    await until(() => results.length === 2);
    const byId = new Map(results.map((r) => [r.outcome.id, r.outcome]));
    expect(byId.get(ids[0]!)).toMatchObject({ status: "failed", error: { code: "RESULT_TOO_DEEP", message: expect.stringContaining(`at result.data${".0".repeat(MAX_DATA_DEPTH - 1)}`) } });
    expect(byId.get(ids[1]!)).toMatchObject({ status: "failed", error: { code: "RESULT_TOO_DEEP", message: expect.stringContaining(`at error.details.body${".0".repeat(MAX_DATA_DEPTH - 1)}`) } });
    for (const id of ids) expect(JSON.parse((other.prepare("SELECT error FROM commands WHERE id = ?").get(id) as { error: string }).error).code).toBe("RESULT_TOO_DEEP");
    close();
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
