#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startControlPlane } from "./app.js";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { MAX_PAIRING_TTL_MS, PairingCodes, isPairingTtl } from "./auth/pairing.js";
import { pairingCodeKey } from "./auth/pairing-key.js";
import { generateApiKey } from "./auth/secrets.js";
import { apiKeyJson } from "./http/serialize.js";
import { ConfigError, parseConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { openStore } from "./store/open-store.js";
import { lockDataDir } from "./store/sqlite/serve-lock.js";
import { ROLES, type Role } from "./store/types.js";

const USAGE = `Usage: botmox-cp <command>

  serve                                         run the HTTP API and agent gateway
  migrate                                       create or upgrade the store's schema and exit
  tenants create --name NAME                    prints {"tenant_id": ...}
  api-keys create --tenant ID --role ROLE       prints {"api_key": ...} (shown once); ROLE is admin|operator|viewer
  api-keys list --tenant ID                     prints {"api_keys": [{id, role, key_prefix, created_at, revoked_at}]}
  api-keys revoke --tenant ID --id KEY_ID       a running server refuses the key within 30 s
  pairings create --tenant ID [--ttl-ms N]      prints {"code": ..., "expires_at": ...} for botmox-agent pair
  bootstrap --out FILE [--name NAME]            first start of a dev stack: tenant, admin key and pairing code
                                                written to FILE (mode 600); does nothing if FILE exists

Environment: PORT (8080), HOST (127.0.0.1), BOTMOX_DATA_DIR (./.botmox/control-plane),
DATA_BACKEND (sqlite|supabase), LOG_LEVEL (info), PUBLIC_URL, SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY.`;

class UsageError extends Error {}

/** As both stores allow it (the Supabase schema checks the same). */
function tenantName(name: string): string {
  if (name.trim().length === 0 || name.length > 200) throw new UsageError(`--name must be 1 to 200 characters, not ${name.length}`);
  return name;
}

function flag(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value.trim() === "") throw new UsageError(`--${name} is required`);
  return value.trim();
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      tenant: { type: "string" },
      role: { type: "string" },
      id: { type: "string" },
      out: { type: "string" },
      "ttl-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals.join(" ");
  if (values.help || command === "" || command === "help") {
    console.log(USAGE);
    return 0;
  }
  const config = parseConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);

  switch (command) {
    case "serve": {
      const unlock = config.DATA_BACKEND === "sqlite" ? lockDataDir(resolve(config.BOTMOX_DATA_DIR)) : () => {};
      const store = await openStore(config, log);
      const controlPlane = await startControlPlane(config, store, log);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, "shutting down");
          controlPlane.stop().then(resolve, (err: unknown) => {
            log.error({ err }, "error during shutdown");
            resolve();
          });
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      unlock();
      return 0;
    }
    case "migrate": {
      const store = await openStore(config);
      await store.close();
      console.log(JSON.stringify({ migrated: true, backend: config.DATA_BACKEND }));
      return 0;
    }
    case "tenants create": {
      const store = await openStore(config);
      const tenant = await store.createTenant(tenantName(flag(values, "name")));
      await store.close();
      console.log(JSON.stringify({ tenant_id: tenant.id, name: tenant.name }));
      return 0;
    }
    case "api-keys create": {
      const tenantId = flag(values, "tenant");
      const role = flag(values, "role");
      if (!ROLES.includes(role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}`);
      const store = await openStore(config);
      try {
        if (!(await store.getTenant(tenantId))) throw new UsageError(`No tenant ${tenantId}; create one with: botmox-cp tenants create --name NAME`);
        const key = generateApiKey();
        await store.createApiKey({ tenant_id: tenantId, role: role as Role, key_hash: key.hash, key_prefix: key.prefix });
        console.log(JSON.stringify({ api_key: key.key, tenant_id: tenantId, role }));
      } finally {
        await store.close();
      }
      return 0;
    }
    case "api-keys list": {
      const tenantId = flag(values, "tenant");
      const store = await openStore(config);
      try {
        if (!(await store.getTenant(tenantId))) throw new UsageError(`No tenant ${tenantId}`);
        console.log(JSON.stringify({ api_keys: (await store.listApiKeys(tenantId)).map(apiKeyJson) }));
      } finally {
        await store.close();
      }
      return 0;
    }
    case "api-keys revoke": {
      const tenantId = flag(values, "tenant");
      const id = flag(values, "id");
      const store = await openStore(config);
      try {
        const key = await store.revokeApiKey({ tenant_id: tenantId, id, actor: "cli", now: Date.now() });
        if (!key) throw new UsageError(`Tenant ${tenantId} has no API key ${id}; see: botmox-cp api-keys list --tenant ${tenantId}`);
        console.log(JSON.stringify({ revoked: true, ...apiKeyJson(key) }));
      } finally {
        await store.close();
      }
      return 0;
    }
    case "pairings create": {
      const tenantId = flag(values, "tenant");
      const ttlMs = values["ttl-ms"] ? Number(values["ttl-ms"]) : config.PAIRING_TTL_MS;
      if (!isPairingTtl(ttlMs)) {
        throw new UsageError(`--ttl-ms must be a whole number of milliseconds from 1000 to ${MAX_PAIRING_TTL_MS} (24 h)`);
      }
      const store = await openStore(config);
      try {
        if (!(await store.getTenant(tenantId))) throw new UsageError(`No tenant ${tenantId}`);
        console.log(JSON.stringify(await new PairingCodes(store, pairingCodeKey(config)).create(tenantId, ttlMs, "cli")));
      } finally {
        await store.close();
      }
      return 0;
    }
    case "bootstrap": {
      const out = flag(values, "out");
      if (existsSync(out)) {
        console.log(JSON.stringify({ bootstrapped: false, reason: `${out} exists` }));
        return 0;
      }
      const store = await openStore(config);
      try {
        const tenant = await store.createTenant(tenantName(values.name ?? "Demo"));
        const key = generateApiKey();
        await store.createApiKey({ tenant_id: tenant.id, role: "admin", key_hash: key.hash, key_prefix: key.prefix });
        const pairing = await new PairingCodes(store, pairingCodeKey(config)).create(tenant.id, MAX_PAIRING_TTL_MS, "bootstrap");
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, JSON.stringify({ tenant_id: tenant.id, api_key: key.key, pairing_code: pairing.code, expires_at: pairing.expires_at }, null, 2) + "\n", { mode: 0o600 });
        console.log(JSON.stringify({ bootstrapped: true, tenant_id: tenant.id, file: out }));
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

// Everything this process creates (databases, their WAL files, config) is its owner's alone:
// the files hold tenants' commands and results, pairing codes.
process.umask(0o077);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`botmox-cp: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(`botmox-cp: ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
