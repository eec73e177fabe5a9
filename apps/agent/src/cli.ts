#!/usr/bin/env node
import { existsSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { controlPlaneCaFile, loadAgentConfig, requirePaired, saveAgentConfig } from "./config/agent-config.js";
import { parseAgentEnv } from "./config/env.js";
import { agentDataFiles, agentHome } from "./config/home.js";
import { doctor } from "./cli/doctor.js";
import { agentStatus } from "./cli/status.js";
import { pair, parsePairingTarget } from "./cli/pair.js";
import { startAgent } from "./runtime/agent-runtime.js";
import { serviceCommand } from "./service/service-command.js";
import { targetsCommand } from "./cli/targets.js";
import { Targets } from "./targets/targets.js";
import { openVault, vaultKind } from "./vault/open-vault.js";
import { lockHome } from "./runtime/run-lock.js";
import { UsageError } from "./cli/usage-error.js";
import { AGENT_VERSION } from "./version.js";

const USAGE = `Usage: botmox-agent <command>

  pair --server URL --code CODE   register this machine with the control plane (or --uri botmox://pair?...);
                                  http:// only to this machine, or with --allow-http
  run                             connect and execute commands (foreground, JSON logs; SIGTERM stops cleanly)
  status                          print this agent's state as JSON (running or not); exits 1 if config or journal is unreadable
  doctor                          check vault, server reachability, TLS, clock and sign-in; exits 1 if something is broken
  targets add proxmox NAME --url https://HOST:8006 --token-id USER@REALM!TOKENID (--fingerprint SHA256 | --ca FILE) [--secret-stdin]
  targets add syncthing NAME --url URL (--api-key-stdin | --from-config config.xml) [--folder-root DIR ...]
                                  folders may be added or accepted only under a --folder-root
  targets list | targets remove NAME
                                  infrastructure this agent may drive; credentials go to the vault only
  service install [--user] [--dry-run] [--passphrase-file F]
                                  install and start as an OS service (systemd, launchd; not Windows yet)
  service uninstall [--user] [--dry-run]
  --version                       print the version

Environment: BOTMOX_AGENT_HOME, BOTMOX_VAULT (keychain|file), BOTMOX_VAULT_PASSPHRASE, BOTMOX_CA_FILE,
LOG_LEVEL, BOTMOX_MAX_IN_FLIGHT, BOTMOX_SHUTDOWN_GRACE_MS.`;

/** Exit codes: 0 ok, 1 failure, 2 usage, 3 refused for good by the control plane (revoked). */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: "string" },
      code: { type: "string" },
      uri: { type: "string" },
      version: { type: "boolean", short: "v" },
      user: { type: "boolean" },
      "dry-run": { type: "boolean" },
      "passphrase-file": { type: "string" },
      url: { type: "string" },
      "api-key-stdin": { type: "boolean" },
      "from-config": { type: "string" },
      "token-id": { type: "string" },
      fingerprint: { type: "string" },
      ca: { type: "string" },
      "secret-stdin": { type: "boolean" },
      "allow-http": { type: "boolean" },
      "folder-root": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.version) {
    console.log(AGENT_VERSION);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === "help") {
    console.log(USAGE);
    return 0;
  }
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  const home = agentHome(process.env);
  // Reports must work on a broken installation, so they read what they need themselves.
  if (command === "status") {
    const { report, ok } = agentStatus(home, process.env);
    console.log(JSON.stringify(report, null, 2));
    return ok ? 0 : 1;
  }
  if (command === "doctor") {
    const checks = await doctor({ home, env: process.env });
    const ok = checks.every((check) => check.ok);
    console.log(JSON.stringify({ ok, checks }, null, 2));
    return ok ? 0 : 1;
  }
  // `service install --passphrase-file F` names the file the vault's passphrase will come from.
  const passphraseFile = command === "service" ? values["passphrase-file"] : undefined;
  const env = parseAgentEnv(passphraseFile ? { ...process.env, BOTMOX_VAULT_PASSPHRASE_FILE: passphraseFile } : process.env);
  const config = loadAgentConfig(home);

  switch (command) {
    case "pair": {
      const target = parsePairingTarget({ ...values, allowHttp: values["allow-http"] ?? false });
      // A running agent keeps the identity it started with: pairing under it would leave status and the agent disagreeing.
      const unlock = lockHome(home);
      const vault = openVault(home, config.instance_id, process.env);
      saveAgentConfig(home, config); // fixes instance_id before anything lands in the keychain
      // Saved absolute: the service runs from another directory than the one pairing ran in.
      const caFile = env.BOTMOX_CA_FILE ? { ca_file: resolve(env.BOTMOX_CA_FILE) } : {};
      const caPath = controlPlaneCaFile(env, config);
      const pem = caPath ? readFileSync(caPath, "utf8") : undefined;
      // A file vault this attempt created holds nothing once it fails: it goes, so a retry may choose another passphrase.
      const vaultFile = agentDataFiles(home).fileVault;
      const createdVault = vaultKind(process.env) === "file" && !existsSync(vaultFile);
      const paired = await pair({ ...target, config: { ...config, ...caFile }, vault, ...(pem ? { caPem: pem } : {}) }).catch((err: unknown) => {
        if (createdVault) rmSync(vaultFile, { force: true });
        throw err;
      });
      saveAgentConfig(home, paired);
      unlock();
      console.log(JSON.stringify({ paired: true, agent_id: paired.agent_id, tenant_id: paired.tenant_id, server: paired.server, home, vault: vault.location }));
      return 0;
    }
    case "run": {
      const paired = requirePaired(config, home);
      const log = pino({ level: env.LOG_LEVEL, base: { service: "botmox-agent", agent_id: paired.agent_id, tenant_id: paired.tenant_id } });
      const unlock = lockHome(home);
      const vault = openVault(home, config.instance_id, process.env);
      const agent = await startAgent({ home, config: paired, env, vault, log });
      const outcome = await new Promise<"signal" | "fatal">((resolve) => {
        process.once("SIGTERM", () => resolve("signal"));
        process.once("SIGINT", () => resolve("signal"));
        agent.fatal.then(() => resolve("fatal"));
      });
      log.info({ reason: outcome }, "stopping");
      await agent.stop();
      log.info("stopped");
      unlock();
      return outcome === "fatal" ? env.BOTMOX_REFUSED_EXIT_CODE : 0;
    }
    case "targets": {
      const vault = openVault(home, config.instance_id, process.env);
      saveAgentConfig(home, config);
      const result = await targetsCommand(new Targets(home, vault), {
        action: positionals[1],
        kind: positionals[2],
        name: positionals[3],
        ...(values.url ? { url: values.url } : {}),
        ...(values["api-key-stdin"] ? { apiKeyStdin: true } : {}),
        ...(values["from-config"] ? { fromConfig: values["from-config"] } : {}),
        ...(values["token-id"] ? { tokenId: values["token-id"] } : {}),
        ...(values.fingerprint ? { fingerprint: values.fingerprint } : {}),
        ...(values.ca ? { caFile: values.ca } : {}),
        ...(values["secret-stdin"] ? { secretStdin: true } : {}),
        ...(values["folder-root"] ? { folderRoots: values["folder-root"] } : {}),
      });
      console.log(JSON.stringify(result, null, 2));
      return 0;
    }
    case "service": {
      console.log(
        serviceCommand({
          action: positionals[1],
          home,
          config,
          env,
          user: values.user ?? false,
          dryRun: values["dry-run"] ?? false,
          ...(values["passphrase-file"] ? { passphraseFile: values["passphrase-file"] } : {}),
        }),
      );
      return 0;
    }
    default:
      console.error(`botmox-agent: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

// Everything this process creates (databases, their WAL files, config) is its owner's alone:
// the files hold the journal's command results and the inventory.
process.umask(0o077);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    console.error(`botmox-agent: ${(err as Error).message ?? err}${usage ? `\n\n${USAGE}` : ""}`);
    process.exit(usage ? 2 : ((err as { exitCode?: number }).exitCode ?? 1));
  },
);
