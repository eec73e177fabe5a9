import { readFileSync } from "node:fs";
import { missingKeyMessage } from "../vault/open-vault.js";
import { agentDataFiles } from "../config/home.js";
import type { Logger } from "pino";
import { COMMANDS, type CommandName, type ServerToAgent } from "@botmox/protocol";
import { controlPlaneCaFile, type PairedConfig } from "../config/agent-config.js";
import type { AgentEnv } from "../config/env.js";
import { buildHandlerTable, capabilitiesOf } from "../executors/handler-table.js";
import { Targets } from "../targets/targets.js";
import { EventRelay } from "./event-relay.js";
import { InventoryCollector } from "./inventory-collector.js";
import { InventoryStore } from "../journal/inventory-store.js";
import { loadPrivateKey } from "../identity/keys.js";
import { Journal } from "../journal/journal.js";
import { SecretGuard } from "../tunnel/secret-guard.js";
import { Tunnel } from "../tunnel/tunnel.js";
import { PRIVATE_KEY_SECRET, type Vault } from "../vault/vault.js";
import { CommandRunner } from "./command-runner.js";
import { answerRequest } from "./request-answer.js";
import { writeRunState } from "./state-file.js";

export interface AgentRuntime {
  /** Resolves when the agent must stop on its own (revoked, protocol mismatch) with the reason. */
  fatal: Promise<string>;
  stop(): Promise<void>;
}

/** `botmox-agent run`: journal, runner and tunnel wired together. */
export async function startAgent(input: { home: string; config: PairedConfig; env: AgentEnv; vault: Vault; log: Logger }): Promise<AgentRuntime> {
  const { home, config, env, vault, log } = input;
  const privateKeyBase64 = await vault.get(PRIVATE_KEY_SECRET);
  if (!privateKeyBase64) throw new Error(missingKeyMessage(home, vault.location, { BOTMOX_VAULT: env.BOTMOX_VAULT }));
  const guard = new SecretGuard();
  guard.update(await vault.values());
  // Targets added while running (botmox-agent targets add) bring new secrets to guard; a command
  // using one guards it at once (see Targets), this catches the rest.
  const guardRefresh = setInterval(() => {
    vault.values().then((values) => guard.update(values), (err: unknown) => log.warn({ err: (err as Error).message }, "could not refresh the secret guard"));
  }, 15_000);
  guardRefresh.unref();

  const journal = new Journal(agentDataFiles(home).journal);
  const interrupted = journal.recoverInterrupted();
  if (interrupted > 0) log.warn({ count: interrupted }, "commands were interrupted by the last stop; reporting them failed");
  const retentionMs = env.BOTMOX_JOURNAL_RETENTION_DAYS * 86_400_000;
  const prune = () => {
    try {
      const pruned = journal.prune(Date.now() - retentionMs);
      if (pruned > 0) log.info({ count: pruned }, "pruned acknowledged results past their retention from the journal");
    } catch (err) {
      log.warn({ err: (err as Error).message }, "could not prune the journal; trying again later");
    }
  };
  prune();
  const pruner = setInterval(prune, pruneIntervalMs(retentionMs));
  pruner.unref();

  const targets = new Targets(home, vault, (secret) => guard.add(secret));
  const handlers = buildHandlerTable(targets);
  const startedAt = new Date().toISOString();
  const state = (connected: boolean, sessionId: string | null) =>
    writeRunState(home, { pid: process.pid, started_at: startedAt, connected, session_id: sessionId, changed_at: new Date().toISOString() });
  state(false, null);

  let resolveFatal!: (reason: string) => void;
  const fatal = new Promise<string>((resolve) => (resolveFatal = resolve));
  const caFile = controlPlaneCaFile(env, config);
  let policy: ServerToAgent<"policy">["payload"] | undefined;

  // The tunnel and the runner reference each other through closures; neither acts before start().
  const tunnel = new Tunnel({
    server: config.server,
    agentId: config.agent_id,
    privateKey: loadPrivateKey(privateKeyBase64),
    capabilities: capabilitiesOf(handlers),
    maxInFlight: env.BOTMOX_MAX_IN_FLIGHT,
    ...(caFile ? { caPem: readFileSync(caFile, "utf8") } : {}),
    log,
    guard,
    backoffBaseMs: env.BOTMOX_RECONNECT_BASE_MS,
    backoffCapMs: env.BOTMOX_RECONNECT_CAP_MS,
    onConnected: (welcome) => {
      // Buffered work first: a state file that cannot be written (a full disk) must not hold it back.
      events.flush();
      const resent = runner.resendUnacknowledged();
      if (resent > 0) log.info({ count: resent }, "resent results the control plane had not acknowledged");
      state(true, welcome.session_id);
    },
    onDisconnected: () => state(false, null),
    onFatal: (reason) => {
      log.error({ reason }, "control plane refused this agent for good; stopping");
      resolveFatal(reason);
    },
    onMessage: (message: ServerToAgent) => {
      switch (message.type) {
        case "command.dispatch":
          return runner.dispatch(message.payload);
        case "command.cancel":
          return runner.cancel(message.payload.id, message.payload.reason);
        case "command.result.ack":
          return runner.acknowledged(message.payload.ids);
        case "policy":
          policy = message.payload;
          log.info({ operational: policy.operational, sync_enabled: policy.sync_enabled, version: policy.version }, "storage policy applied");
          tunnel.send("policy.applied", { version: policy.version });
          // Backfill for "cloud", fresh telemetry for "local" with sync.
          return inventory.collectNow();
        case "request":
          return answer(message.payload);
        case "error":
          return log.warn({ error: message.payload }, "control plane reported an error");
        case "welcome":
          return;
      }
    },
  });
  const runner = new CommandRunner(
    journal,
    handlers,
    {
      accepted: (id) => void tunnel.send("command.accepted", { id }),
      progress: (id, message, percent) => void tunnel.send("command.progress", { id, message, ...(percent !== undefined ? { percent } : {}) }),
      // An unsent result stays unacknowledged in the journal and goes out on the next connect.
      result: (outcome, name) => {
        tunnel.send("command.result", outcome);
        if (outcome.status === "succeeded" && name && COMMANDS[name as CommandName]?.mutating) inventory.changed();
      },
    },
    log,
    guard,
    env.BOTMOX_MAX_IN_FLIGHT,
  );
  // Its own file: the journal holds write transactions open across microtasks.
  const inventoryStore = new InventoryStore(agentDataFiles(home).inventory);
  const inventory = new InventoryCollector(
    targets,
    handlers,
    inventoryStore,
    (collected) => {
      // What leaves the machine follows the tenant's policy; before the first policy, nothing does.
      if (policy?.operational === "cloud") tunnel.send("inventory", { collected_at: collected.collectedAt, items: collected.items });
      else if (policy?.operational === "local" && policy.sync_enabled) tunnel.send("telemetry", { collected_at: collected.collectedAt, counts: countByKind(collected.items), healthy_targets: collected.healthy, unhealthy_targets: collected.unhealthy });
    },
    log,
    env.BOTMOX_INVENTORY_INTERVAL_MS,
  );
  const answer = (request: ServerToAgent<"request">["payload"]) =>
    answerRequest(
      request,
      (asked) => (asked.kind === "inventory" ? inventoryStore.all() : asked.command_id ? journal.outcome(asked.command_id) : null),
      (response) => tunnel.send("response", response),
    );
  // Not sent while connected means refused (a secret or over the size limit, logged): drop it, do not let it block the buffer.
  const events = new EventRelay(targets, (event) => tunnel.send("event", event) || tunnel.connected, log);
  tunnel.start();
  events.start();
  inventory.start();
  const resender = setInterval(() => {
    if (!tunnel.connected) return;
    const resent = runner.resendUnacknowledged(env.BOTMOX_RESULT_RESEND_MS);
    if (resent > 0) log.warn({ count: resent }, "resent results the control plane has not acknowledged yet");
  }, env.BOTMOX_RESULT_RESEND_MS);

  return {
    fatal,
    async stop() {
      clearInterval(guardRefresh);
      clearInterval(resender);
      clearInterval(pruner);
      // Stop taking dispatches at once, even while the background loops below wind down.
      const drained = runner.shutdown(env.BOTMOX_SHUTDOWN_GRACE_MS);
      await inventory.stop();
      await events.stop();
      await drained;
      await waitForAcks(journal, 2_000);
      await tunnel.stop();
      state(false, null);
      inventoryStore.close();
      journal.close();
    },
  };
}

/** Hourly; a tenth of a shorter retention period, but at most once a second. */
function pruneIntervalMs(retentionMs: number): number {
  return Math.min(3_600_000, Math.max(1_000, retentionMs / 10));
}

async function waitForAcks(journal: Journal, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  while (journal.unacked().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
}

function countByKind(items: Array<{ kind: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
  return counts;
}
