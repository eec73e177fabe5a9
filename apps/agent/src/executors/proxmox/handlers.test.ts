import { connect, createServer, type Socket } from "node:net";
import pino from "pino";
import { validateCommandParams } from "@botmox/protocol";
import { describe, expect, test } from "vitest";
import { freePort } from "../../../../../test/support/ports.js";
import { pveSimulator, ROOT_SECRET, ROOT_TOKEN } from "../../../../../test/support/pve.js";
import type { Targets } from "../../targets/targets.js";
import type { CommandContext } from "../command-context.js";
import { rejection } from "../rejection.testkit.js";
import { proxmoxHandlers } from "./handlers.js";

const targetsAt = (url: string, fingerprint: string) =>
  ({ resolve: async () => ({ config: { kind: "proxmox", url, token_id: ROOT_TOKEN, fingerprint }, secret: ROOT_SECRET }) }) as unknown as Targets;

function context(timeoutMs = 30_000): CommandContext & { messages: string[] } {
  const messages: string[] = [];
  return { commandId: "c1", signal: AbortSignal.timeout(timeoutMs), log: pino({ level: "silent" }), progress: (message) => messages.push(message), messages };
}

describe("Proxmox handlers when the network fails (simulator)", () => {
  test("a clone whose answer is lost is reported as of unknown outcome with the id it used, and not cloned again", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 50 }, lostAnswers: [{ method: "POST", path: /\/clone$/, times: 1 }] });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));

    const error = await rejection(pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-lost", full: false, wait: true }, context()));
    expect(error).toMatchObject({ code: "PVE_OUTCOME_UNKNOWN", retryable: false, details: { newid: 102, request: "POST /api2/json/nodes/pve1/qemu/9000/clone" } });
    expect(error.message).toContain("VM 102");
    await new Promise((resolve) => setTimeout(resolve, 300)); // the clone task PVE did start finishes
    const named = [...sim.state.vms.values()].filter((vm) => vm.config.name === "bot-lost");
    expect(named.map((vm) => vm.vmid)).toEqual([102]);
  });

  test("a config change whose answer is lost is not sent again; a read whose answer is lost is", async () => {
    const config = "/nodes/pve2/qemu/101/config";
    await using sim = await pveSimulator({ lostAnswers: [{ method: "PUT", path: config, times: 1 }, { method: "GET", path: config, times: 1 }] });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const vm = { target: "default", node: "pve2", vmid: 101 };

    const change = await rejection(pve["proxmox.vm.config.update"]({ ...vm, set: { memory: 6144 } }, context()));
    expect(change).toMatchObject({ code: "PVE_OUTCOME_UNKNOWN", details: { request: `PUT /api2/json${config}` } });
    expect(sim.state.vms.get(101)!.config.memory).toBe("6144"); // PVE did carry it out

    const read = await pve["proxmox.vm.config.get"](vm, context());
    expect(sim.lostAnswers[1]!.times).toBe(0); // the first read's answer was lost, and it was asked again
    expect(read.config).toMatchObject({ memory: "6144" });
  });

  test("a clone sent while Proxmox refuses connections is retried, and clones once when it is back", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 50 } });
    const port = await freePort();
    const pve = proxmoxHandlers(targetsAt(`https://127.0.0.1:${port}`, sim.fingerprint256));
    const ctx = context();

    const clone = pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-back", full: false, wait: true }, ctx);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect(sim.port, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(port, "127.0.0.1", resolve));
    try {
      expect(await clone).toMatchObject({ exitstatus: "OK", newid: 102 });
      expect(ctx.messages.some((message) => message.startsWith("PVE_UNREACHABLE"))).toBe(true);
      expect([...sim.state.vms.values()].filter((vm) => vm.config.name === "bot-back")).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      relay.close();
    }
  });
});

describe("Proxmox task outcomes (simulator)", () => {
  test("a task that ends in WARNINGS did its work: the command succeeds, while an error still fails", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 50 }, taskWarnings: [{ type: "qmclone", warnings: ["volume 'local-lvm:vm-9000-disk-1' is not in use"], times: 1 }] });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));

    const clone = await pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-warned", full: false, wait: true }, context());
    expect(clone).toMatchObject({ exitstatus: "WARNINGS: 1", newid: 102 });
    expect([...sim.state.vms.values()].filter((vm) => vm.config.name === "bot-warned").map((vm) => vm.vmid)).toEqual([102]);

    sim.taskFailures.push({ type: "qmclone", exitstatus: "clone failed: storage full", times: 1 });
    const failed = await rejection(pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-failed", full: false, wait: true }, context()));
    expect(failed).toMatchObject({ code: "PVE_TASK_FAILED", details: { exitstatus: "clone failed: storage full" } });
  });
});

describe("Proxmox clones that do not wait (simulator)", () => {
  test("get distinct VM ids even while PVE has not yet written the first one's config", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 50 } });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    // The template's config lock is held a while: the first clone's worker waits before it writes the new VM's config.
    const release = await sim.state.locks.acquire("pve1", "/var/lock/qemu-server/lock-9000.conf", { timeoutMs: 1_000 });
    const clone = (name: string) => pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name, full: false, wait: false }, context());
    const first = await clone("bot-a");
    const second = await clone("bot-b");
    setTimeout(release, 200);
    expect(second.newid).not.toBe(first.newid);
    const done = () => [...sim.state.vms.values()].filter((vm) => ["bot-a", "bot-b"].includes(String(vm.config.name)) && vm.config.lock === undefined);
    for (const deadline = Date.now() + 5_000; done().length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done().map((vm) => vm.vmid).sort()).toEqual([first.newid, second.newid].sort());
  });
});

describe("Proxmox commands stopped while their task runs (simulator)", () => {
  test("a clone stopped by its timeout names the task that goes on and the VM id it is creating", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 3_000 } });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const error = await rejection(pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-slow", full: false, wait: true }, context(500)));
    expect(error).toMatchObject({ code: "PVE_TASK_RUNNING", details: { node: "pve1", upid: expect.stringContaining(":qmclone:9000:"), newid: 102 } });
    expect(sim.tasks.all.get((error.details as { upid: string }).upid)?.status).toBe("running");
  });
});

describe("Proxmox task failures (simulator)", () => {
  test("starting a VM that already runs is PVE_CONFLICT, as an answer saying so would be", async () => {
    await using sim = await pveSimulator({ timings: { taskMs: 20, powerMs: 20 } });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const vm = { target: "default", node: "pve2", vmid: 101 };
    const start = () => pve["proxmox.vm.start"]({ ...vm, wait: true }, context());
    const status = (await pve["proxmox.vm.status"](vm, context())) as { status: string };
    if (status.status !== "running") await start();
    expect(await rejection(start())).toMatchObject({ code: "PVE_CONFLICT", details: { exitstatus: expect.stringContaining("already running") } });
  });
});

describe("Proxmox clones whose task fails (simulator)", () => {
  test("a clone failing for another reason than its VM id (a checksum mismatch) is reported once, not retried with id after id", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 20 } });
    sim.taskFailures.push({ type: "qmclone", exitstatus: "checksum mismatch (file change by other user?)" });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const ctx = context();
    const error = await rejection(pve["proxmox.vm.clone"]({ target: "default", node: "pve1", vmid: 9000, name: "bot-once", full: false, wait: true }, ctx));
    expect(error).toMatchObject({ code: "PVE_CONFLICT" });
    expect(ctx.messages.filter((message) => message.includes("was taken by another client"))).toEqual([]);
  });
});

describe("Proxmox paths built from parameters (simulator)", () => {
  test('a snapshot named ".." is refused: by the protocol, and by the client should a handler ever pass one, and the VM stays', async () => {
    await using sim = await pveSimulator();
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const vm = { target: "default", node: "pve2", vmid: 101 };

    for (const name of ["proxmox.vm.snapshot.delete", "proxmox.vm.snapshot.rollback"] as const) {
      expect(validateCommandParams(name, { ...vm, snapname: ".." })).toMatchObject({ ok: false, code: "INVALID_PARAMS", details: [{ path: "params.snapname" }] });
    }
    expect(validateCommandParams("proxmox.task.status", { target: "default", node: "pve2", upid: ".." })).toMatchObject({ ok: false, details: [{ path: "params.upid" }] });

    const error = await rejection(pve["proxmox.vm.snapshot.delete"]({ ...vm, snapname: "..", wait: true }, context()));
    expect(error).toMatchObject({ code: "INVALID_PARAMS" });
    expect(sim.state.vms.has(101)).toBe(true);
  });

  test("task ids as Proxmox writes them are accepted", async () => {
    await using sim = await pveSimulator({ timings: { cloneMs: 50 } });
    const pve = proxmoxHandlers(targetsAt(sim.url, sim.fingerprint256));
    const { upid } = await pve["proxmox.vm.start"]({ target: "default", node: "pve2", vmid: 101, wait: false }, context());
    expect(validateCommandParams("proxmox.task.status", { target: "default", node: "pve2", upid })).toMatchObject({ ok: true });
    expect(validateCommandParams("proxmox.task.status", { target: "default", node: "pve2", upid: "UPID:pve-2:0012A3F4:1B2C3D4E5:6543210A:qmstart:101:botmox@pve!ci:" })).toMatchObject({ ok: true });
  });
});
