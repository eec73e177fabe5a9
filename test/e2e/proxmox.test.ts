import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { commander, pairAgent, startControlPlane } from "../support/botmox.js";
import { addProxmoxTarget, pveSimulator, ROOT_SECRET } from "../support/pve.js";
import { captureProxy } from "../support/tcp-capture.js";
import { until } from "../support/until.js";



describe("Proxmox VE through the control plane (simulator validating the real PVE 9 schema)", () => {
  test("every command, end to end", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using sim = await pveSimulator({ timings: { powerMs: 50, cloneMs: 150, taskMs: 50 } });
    const added = await addProxmoxTarget(agent, "default", sim);
    expect(added.code, added.output).toBe(0);
    expect(JSON.parse((await agent.cli(["targets", "list"])).stdout).targets[0]).toMatchObject({ name: "default", kind: "proxmox", token_id: "root@pam!botmox" });
    await agent.start();
    const run = commander(tenant, agent);

    expect((await run("proxmox.version", {})).result.version).toMatch(/^9\./);
    expect((await run("proxmox.nodes.list", {})).result.nodes.map((n: { node: string }) => n.node)).toEqual(["pve1", "pve2"]);
    expect((await run("proxmox.cluster.resources", { type: "vm" })).result.resources.map((r: { vmid: number }) => r.vmid).sort()).toEqual([100, 101, 9000]);
    expect((await run("proxmox.cluster.nextid", {})).result.vmid).toBe(102);
    const all = await run("proxmox.vm.list", {});
    expect(all.result.vms.map((vm: { vmid: number; node: string }) => `${vm.node}/${vm.vmid}`)).toEqual(["pve1/100", "pve2/101", "pve1/9000"]);
    expect((await run("proxmox.vm.list", { node: "pve2" })).result.vms.map((vm: { vmid: number }) => vm.vmid)).toEqual([101]);

    const clone = await run("proxmox.vm.clone", { node: "pve1", vmid: 9000, name: "bot-42", full: false });
    expect(clone).toMatchObject({ status: "succeeded", result: { exitstatus: "OK", newid: 102, node: "pve1", upid: expect.stringMatching(/^UPID:pve1:.*:qmclone:9000:/) } });
    expect(clone.result.duration_ms).toBeGreaterThan(0);
    const vm = { node: "pve1", vmid: 102 };
    const config = await run("proxmox.vm.config.get", vm);
    expect(config.result.config).toMatchObject({ name: "bot-42", memory: "8192" });
    const updated = await run("proxmox.vm.config.update", { ...vm, set: { memory: 6144, description: "farm" }, delete: ["description"], digest: config.result.digest });
    expect(updated.status, JSON.stringify(updated.error)).toBe("failed");
    expect(updated.error).toMatchObject({ code: "PVE_INVALID_PARAMS" });
    const update = await run("proxmox.vm.config.update", { ...vm, set: { memory: 6144, cores: 2 }, digest: config.result.digest });
    expect(update.status).toBe("succeeded");
    const afterUpdate = await run("proxmox.vm.config.get", vm);
    expect(afterUpdate.result.config, JSON.stringify(afterUpdate.result)).toMatchObject({ memory: "6144", cores: 2 }); // PVE 9: memory is a property string
    const stale = await run("proxmox.vm.config.update", { ...vm, set: { memory: 2048 }, digest: config.result.digest });
    expect(stale.error).toMatchObject({ code: "PVE_CONFLICT", message: expect.stringContaining("file change by other user") });
    expect((await run("proxmox.vm.resize", { ...vm, disk: "scsi0", size: "+16G" })).result).toMatchObject({ exitstatus: "OK", disk: "scsi0" });
    expect((await run("proxmox.vm.config.get", vm)).result.config.scsi0).toContain("size=80G");

    // PVE reports a paused guest as status "running" with qmpstatus "paused".
    for (const [action, status, qmpstatus] of [["start", "running", "running"], ["suspend", "running", "paused"], ["resume", "running", "running"], ["reboot", "running", "running"], ["reset", "running", "running"], ["shutdown", "stopped", "stopped"], ["start", "running", "running"], ["stop", "stopped", "stopped"]] as const) {
      const result = await run(`proxmox.vm.${action}`, vm);
      expect(result, action).toMatchObject({ status: "succeeded", result: { exitstatus: "OK" } });
      expect((await run("proxmox.vm.status", vm)).result, action).toMatchObject({ status, qmpstatus });
    }
    await run("proxmox.vm.start", vm);
    const again = await run("proxmox.vm.start", vm);
    expect(again.error).toMatchObject({ code: "PVE_CONFLICT", details: { exitstatus: "VM 102 already running", log_tail: expect.arrayContaining(["TASK ERROR: VM 102 already running"]) } });
    await run("proxmox.vm.stop", vm);

    expect((await run("proxmox.vm.snapshot.create", { ...vm, snapname: "clean", description: "fresh install" })).status).toBe("succeeded");
    expect((await run("proxmox.vm.snapshot.list", vm)).result.snapshots.map((s: { name: string }) => s.name)).toEqual(["clean", "current"]);
    await run("proxmox.vm.config.update", { ...vm, set: { memory: 1024 } });
    expect((await run("proxmox.vm.snapshot.rollback", { ...vm, snapname: "clean" })).status).toBe("succeeded");
    expect((await run("proxmox.vm.config.get", vm)).result.config.memory).toBe("6144");
    expect((await run("proxmox.vm.snapshot.delete", { ...vm, snapname: "clean" })).status).toBe("succeeded");

    const started = await run("proxmox.vm.start", { ...vm, wait: false });
    expect(started.result.upid).toMatch(/^UPID:/);
    const taskStatus = await run("proxmox.task.status", { node: "pve1", upid: started.result.upid });
    expect(taskStatus.result).toMatchObject({ type: "qmstart", id: "102" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await run("proxmox.task.log", { node: "pve1", upid: started.result.upid })).result.lines.at(-1)).toMatchObject({ t: "TASK OK" });
    await run("proxmox.vm.stop", vm);

    expect((await run("proxmox.vm.template", vm)).result.exitstatus).toBe("OK");
    expect((await run("proxmox.vm.status", vm)).result.template).toBe(1);
    expect((await run("proxmox.vm.delete", { ...vm, purge: true, destroy_unreferenced_disks: true })).status).toBe("succeeded");
    expect((await run("proxmox.vm.status", vm)).error).toMatchObject({ code: "PVE_NOT_FOUND" });
  });

  test("TLS: unpinned add shows the fingerprint and the command; CA file works; a changed certificate is PVE_TLS_MISMATCH, not retried", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using sim = await pveSimulator();

    const unpinned = await addProxmoxTarget(agent, "pve", sim, []);
    expect(unpinned.code).toBe(1);
    expect(unpinned.output).toContain(sim.fingerprint256);
    expect(unpinned.output).toContain(`botmox-agent targets add proxmox pve --url ${sim.url} --token-id 'root@pam!botmox' --fingerprint ${sim.fingerprint256}`);

    const caFile = join(agent.home, "pve-ca.pem");
    writeFileSync(caFile, sim.caPem);
    expect((await addProxmoxTarget(agent, "byca", sim, ["--ca", caFile])).code).toBe(0);
    await using other = await pveSimulator();
    const wrongPin = await addProxmoxTarget(agent, "wrong", sim, ["--fingerprint", other.fingerprint256]);
    expect(wrongPin.code).toBe(1);
    expect(wrongPin.output).toContain(`not the pinned ${other.fingerprint256}`);

    expect((await addProxmoxTarget(agent, "pinned", sim)).code).toBe(0);
    await agent.start();
    const run = commander(tenant, agent);
    expect((await run("proxmox.version", { target: "byca" })).status).toBe("succeeded");
    expect((await run("proxmox.version", { target: "pinned" })).status).toBe("succeeded");

    // Same address, different certificate (a reinstall, or someone in the middle).
    await sim.close();
    await using impostor = await pveSimulator({ port: sim.port });
    expect(impostor.fingerprint256).not.toBe(sim.fingerprint256);
    const startedAt = Date.now();
    const mismatch = await run("proxmox.version", { target: "pinned" });
    expect(mismatch.error).toMatchObject({ code: "PVE_TLS_MISMATCH", details: { presented: impostor.fingerprint256, expected: sim.fingerprint256 } });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect((await run("proxmox.version", { target: "byca" })).error?.code).toBe("PVE_TLS_MISMATCH");
  });

  test("errors an operator can act on: PVE_AUTH, PVE_FORBIDDEN with the path, PVE_INVALID_PARAMS with PVE's per-parameter errors", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using sim = await pveSimulator();
    const wrongSecret = await addProxmoxTarget(agent, "x", sim, undefined, undefined, "not-the-secret");
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.output).toContain("Proxmox refused the API token");
    const addedTarget = await addProxmoxTarget(agent, "default", sim);
    expect(addedTarget.code, addedTarget.output).toBe(0);
    expect((await addProxmoxTarget(agent, "readonly", sim, undefined, "auditor@pve!readonly", sim.tokens["auditor@pve!readonly"]!.secret)).code).toBe(0);
    await agent.start();
    const run = commander(tenant, agent);

    const forbidden = await run("proxmox.vm.start", { target: "readonly", node: "pve2", vmid: 101 });
    expect(forbidden.error).toMatchObject({ code: "PVE_FORBIDDEN", details: { path: "/vms/101", privilege: "VM.PowerMgmt" } });
    expect((await run("proxmox.vm.status", { target: "readonly", node: "pve1", vmid: 100 })).status).toBe("succeeded");

    const invalid = await run("proxmox.vm.config.update", { node: "pve1", vmid: 100, set: { cores: "many", bios: "coreboot", nonsense: 1 } });
    expect(invalid.error).toMatchObject({
      code: "PVE_INVALID_PARAMS",
      details: { errors: { cores: "type check ('integer') failed - got 'many'", bios: "value 'coreboot' does not have a value in the enumeration 'seabios, ovmf'", nonsense: "property is not defined in schema and the schema does not allow additional properties" } },
    });

    delete sim.tokens["root@pam!botmox"];
    expect((await run("proxmox.version", {})).error).toMatchObject({ code: "PVE_AUTH" });
  });

  test("20 concurrent clone-then-start from one template all succeed; no lock error reaches the operator", async () => {
    await using cp = await startControlPlane({ LOG_LEVEL: "info" });
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { LOG_LEVEL: "info" });
    await using sim = await pveSimulator({ timings: { cloneMs: 600, cloneFileLockMs: 150, powerMs: 200 } });
    const addedTarget = await addProxmoxTarget(agent, "default", sim);
    expect(addedTarget.code, addedTarget.output).toBe(0);
    await agent.start();
    const run = commander(tenant, agent);

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const clone = await run("proxmox.vm.clone", { node: "pve1", vmid: 9000, name: `bot-${i}` }, 120);
        if (clone.status !== "succeeded") return { clone };
        const start = await run("proxmox.vm.start", { node: "pve1", vmid: clone.result.newid }, 120);
        return { clone, start };
      }),
    );
    const failures = outcomes.filter((o) => o.clone.status !== "succeeded" || o.start?.status !== "succeeded");
    expect(failures).toEqual([]);
    const newids = outcomes.map((o) => o.clone.result.newid);
    expect(new Set(newids).size).toBe(20);
    for (const id of newids) expect(sim.state.vms.get(id)?.status).toBe("running");
    // The contention was real: clones collided on the template's lock and were retried by the agent.
    expect(sim.state.fileLockTimeouts).toBeGreaterThan(0);
    const audit = await tenant.api.get("/api/v1/audit?limit=1000");
    expect(audit.body.entries.filter((e: { action: string }) => e.action === "command.succeeded")).toHaveLength(40);
  });

  test("a command waiting for a busy VM ends at its own timeout or cancel, not when the VM is free", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant);
    await using sim = await pveSimulator({ timings: { taskMs: 30_000 } });
    expect((await addProxmoxTarget(agent, "default", sim)).code).toBe(0);
    await agent.start();
    const api = tenant.as("operator");
    const vm = { node: "pve2", vmid: 101 };
    const long = await api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "proxmox.vm.snapshot.create", params: { ...vm, snapname: "s1" } });
    await until("the snapshot task to run", async () => ([...sim.tasks.all.values()].some((task) => task.type === "qmsnapshot" && task.status === "running") ? true : undefined), 10_000);

    const startedAt = Date.now();
    const timedOut = await api.post(`/api/v1/agents/${agent.agentId}/commands?wait=20`, { name: "proxmox.vm.config.update", params: { ...vm, set: { cores: 4 } }, timeout_ms: 1_000 });
    expect(timedOut.body).toMatchObject({ status: "failed", error: { code: "COMMAND_TIMEOUT" } });
    expect(Date.now() - startedAt).toBeLessThan(5_000);

    const waiting = await api.post(`/api/v1/agents/${agent.agentId}/commands`, { name: "proxmox.vm.start", params: vm });
    await until("the start to be running", async () => ((await api.get(`/api/v1/commands/${waiting.body.id}`)).body.status === "running" ? true : undefined), 10_000);
    await api.post(`/api/v1/commands/${waiting.body.id}/cancel`);
    expect((await api.get(`/api/v1/commands/${waiting.body.id}?wait=5`)).body.status).toBe("cancelled");
    expect((await api.get(`/api/v1/commands/${long.body.id}`)).body.status).toBe("running");
    expect(sim.state.vms.get(101)!.config.cores).toBe(2); // untouched: the timed-out change never reached PVE
  });

  test("SIGTERM is not held up by an inventory collection waiting on a Proxmox host that is down", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    await using agent = await pairAgent(cp, tenant, { BOTMOX_SHUTDOWN_GRACE_MS: "1000" });
    const sim = await pveSimulator();
    for (const name of ["pve-a", "pve-b"]) expect((await addProxmoxTarget(agent, name, sim)).code).toBe(0);
    await sim.close(); // the host goes down: every connection is refused, and retried

    const run = await agent.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the collection at start is retrying pve-a
    const stoppingAt = Date.now();
    const exit = await run.kill("SIGTERM");
    expect(exit.code).toBe(0);
    expect(Date.now() - stoppingAt).toBeLessThan(5_000);
    expect(run.logs().some((line) => line.msg === "target did not answer the inventory collection")).toBe(false);
  });

  test("the token secret never reaches the control plane: not the frames, its database, or either side's logs", async () => {
    await using cp = await startControlPlane();
    const tenant = await cp.tenant();
    // Every byte between agent and control plane goes through a capturing relay.
    await using wire = await captureProxy(cp.port);
    await using agent = await pairAgent(cp, tenant, {}, wire.url);
    await using sim = await pveSimulator({ timings: { cloneMs: 100, powerMs: 50, taskMs: 50 } });
    const addedTarget = await addProxmoxTarget(agent, "default", sim);
    expect(addedTarget.code, addedTarget.output).toBe(0);
    await agent.start();
    const run = commander(tenant, agent);
    const clone = await run("proxmox.vm.clone", { node: "pve1", vmid: 9000, name: "secret-check" });
    await run("proxmox.vm.start", { node: "pve1", vmid: clone.result.newid });
    await run("proxmox.vm.config.get", { node: "pve1", vmid: clone.result.newid });
    await run("proxmox.version", { target: "missing" });
    await cp.stop();

    const frames = wire.captured().toString("latin1");
    expect(frames).toContain("proxmox.vm.config.get"); // the capture saw the traffic
    const haystacks = [frames, cp.child.output(), agent.child!.output(), ...readdirSync(cp.dataDir).map((file) => readFileSync(join(cp.dataDir, file), "latin1"))];
    for (const text of haystacks) expect(text.includes(ROOT_SECRET)).toBe(false);
    expect(readFileSync(join(agent.home, "config.json"), "utf8")).not.toContain(ROOT_SECRET);
  });
});
