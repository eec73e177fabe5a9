import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { MAX_CLOCK_SKEW_MS } from "@botmox/protocol";
import { configPath, controlPlaneCaFile, loadAgentConfig } from "../config/agent-config.js";
import { parseAgentEnv } from "../config/env.js";
import { agentDataFiles } from "../config/home.js";
import { loadPrivateKey } from "../identity/keys.js";
import { readJournalCounts } from "../journal/journal.js";
import { missingKeyMessage, openVault } from "../vault/open-vault.js";
import { PRIVATE_KEY_SECRET } from "../vault/vault.js";
import { HttpError, getJson } from "./http-client.js";
import { parseTargets } from "../targets/targets.js";
import { dialControlPlane, readRefusal } from "../tunnel/dial.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const WARN_SKEW_MS = 30_000;

type Health = { status: string; time: string; store?: { message?: string } };

/**
 * Checks what `run` needs: environment, config and pairing, vault and key, server reachability
 * and TLS, clock skew, journal. Each failure is a failed check, never an exception.
 */
export async function doctor(input: { home: string; env: Record<string, string | undefined> }): Promise<Check[]> {
  const checks: Check[] = [];
  /** Runs one probe; its value (for the checks that need it), or undefined when it failed. */
  const check = async <T = string>(name: string, probe: () => T | Promise<T>, describe: (value: T) => string = String): Promise<T | undefined> => {
    try {
      const value = await probe();
      checks.push({ name, ok: true, detail: describe(value) });
      return value;
    } catch (err) {
      checks.push({ name, ok: false, detail: (err as Error).message });
      return undefined;
    }
  };
  await check("environment", () => parseAgentEnv(input.env), () => "valid");
  const config = await check("config", () => loadAgentConfig(input.home), () => (existsSync(configPath(input.home)) ? configPath(input.home) : "none yet (created by pair)"));
  if (!config) return checks;

  await check("paired", async () => {
    if (!config.server || !config.agent_id) throw new Error("not paired: run botmox-agent pair --server URL --code CODE");
    return `agent ${config.agent_id} of tenant ${config.tenant_id} at ${config.server}`;
  });
  const privateKey = await check(
    "vault",
    async () => {
      const vault = openVault(input.home, config.instance_id, input.env);
      const key = await vault.get(PRIVATE_KEY_SECRET);
      if (!key) throw new Error(missingKeyMessage(input.home, vault.location, input.env));
      return { key: loadPrivateKey(key), location: vault.location };
    },
    ({ location }) => `private key present in ${location}`,
  );
  if (config.server) {
    const server = config.server;
    const caFile = controlPlaneCaFile(input.env, config);
    // Read once, inside the checks: an unreadable CA file fails them rather than doctor itself.
    let caPem: string | undefined;
    const ca = () => (caPem ??= caFile ? readFileSync(caFile, "utf8") : undefined);
    // Any HTTP answer, even an error, came over a verified TLS connection.
    let answered = false;
    await check("server", async () => {
      const sentAt = Date.now();
      const clock = (health: Health) => {
        const skew = Date.parse(health.time) - (sentAt + Date.now()) / 2;
        checks.push({
          name: "clock",
          ok: Math.abs(skew) < MAX_CLOCK_SKEW_MS,
          detail: `${Math.round(skew)} ms from server time${Math.abs(skew) > WARN_SKEW_MS ? " (sync this machine's clock: NTP)" : ""}`,
        });
      };
      let health: Health;
      try {
        health = await getJson<Health>(`${server}/api/v1/health`, ca());
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        answered = true;
        const body = err.body as Partial<Health> | undefined;
        if (body?.status !== "degraded" || !body.time) throw err;
        clock(body as Health);
        throw new Error(`reachable but degraded (HTTP ${err.status}): the control plane cannot reach its store${body.store?.message ? ` (${body.store.message})` : ""}`);
      }
      answered = true;
      clock(health);
      return `reachable, status ${health.status}, ${Date.now() - sentAt} ms round trip`;
    });
    if (server.startsWith("https:")) {
      const against = caFile ? caFile : "the system CA store";
      checks.push({ name: "tls", ok: answered, detail: answered ? `verified against ${against}` : `not checked: the server did not answer (${against} would be used)` });
    }
    if (answered && privateKey && config.agent_id) {
      const agentId = config.agent_id;
      await check("identity", () => signIn({ server, agentId, privateKey: privateKey.key, caPem: ca() }));
    }
  }
  await check("targets", () => describeTargets(parseTargets(config.targets)));
  await check("journal", async () => {
    const file = agentDataFiles(input.home).journal;
    const existed = existsSync(file);
    const counts = readJournalCounts(file);
    return `${existed ? "" : "created "}${file}: ${counts.total} entries, ${counts.unacked_results} results awaiting acknowledgement`;
  });
  return checks;
}

/**
 * The signed upgrade `run` makes, closed before hello (so a running agent's session is left
 * alone): proves the control plane still knows this agent and has not revoked it.
 */
function signIn(input: { server: string; agentId: string; privateKey: KeyObject; caPem: string | undefined }): Promise<string> {
  const { ws } = dialControlPlane(input);
  return new Promise((resolve, reject) => {
    ws.on("open", () => {
      ws.close(1000, "doctor");
      resolve(`the control plane accepts agent ${input.agentId}`);
    });
    ws.on("unexpected-response", (_request, response) => {
      void readRefusal(response).then(({ status, body, error }) => {
        ws.terminate();
        const said = error?.message ?? body.slice(0, 200);
        if (error?.code === "AGENT_REVOKED") return reject(new Error("the control plane has revoked this agent; pair it again (botmox-agent pair) to reconnect"));
        // Only an agent the server does not know is fixed by pairing again; a clock or a replay is not.
        if (status === 401 && /unknown agent/.test(said)) return reject(new Error(`the control plane does not know this agent (${said}): its data was reset, or this is another server; pair again`));
        if (status === 503) return resolve(`not checked: the control plane is busy or starting (${said}); run doctor again shortly`);
        reject(new Error(`the control plane refused the sign-in (HTTP ${status}): ${said}`));
      });
    });
    ws.on("error", (err) => reject(err));
  });
}

/**
 * The targets, and any SyncThing one without folder roots: it refuses every folder add, share
 * and accept (targets added before roots existed are like that until added again with them).
 */
function describeTargets(targets: ReturnType<typeof parseTargets>): string {
  if (targets.length === 0) return "none (add them with botmox-agent targets add)";
  const rootless = targets.filter((target) => target.kind === "syncthing" && (target.folder_roots ?? []).length === 0).map((target) => target.name);
  const list = targets.map((target) => `${target.name} (${target.kind})`).join(", ");
  if (rootless.length === 0) return list;
  return `${list}; note: ${rootless.join(", ")} allow${rootless.length === 1 ? "s" : ""} no folder paths, so folder add, share and accept are refused: add it again with --folder-root DIR (botmox-agent targets add syncthing NAME --from-config config.xml --folder-root DIR)`;
}
