import type Database from "better-sqlite3";

/** Migration 1 took its final form after its first releases; migration 8 brings those databases level (IF NOT EXISTS there). */
const dispatchIndexesSql = (ifNotExists = "") => `
  CREATE INDEX ${ifNotExists}commands_queued ON commands(agent_id) WHERE status = 'queued';
  CREATE INDEX ${ifNotExists}commands_in_flight ON commands(agent_id) WHERE status IN ('dispatched', 'running');
`;
const auditTriggersSql = (ifNotExists = "") => `
  CREATE TRIGGER ${ifNotExists}commands_audit_insert AFTER INSERT ON commands BEGIN
    INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    VALUES (NEW.tenant_id, NEW.actor, 'command.queued', 'command', NEW.id, json_object('name', NEW.name, 'agent_id', NEW.agent_id), NEW.created_at);
    INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    SELECT NEW.tenant_id, 'system', 'command.dispatched', 'command', NEW.id, json_object('name', NEW.name), NEW.created_at
    WHERE NEW.status = 'dispatched';
  END;
  CREATE TRIGGER ${ifNotExists}commands_audit_status AFTER UPDATE OF status ON commands WHEN NEW.status != OLD.status BEGIN
    -- Finished before its acceptance arrived: it ran all the same.
    INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    SELECT NEW.tenant_id, NEW.last_actor, 'command.running', 'command', NEW.id, json_object('name', NEW.name), CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE OLD.status = 'dispatched' AND NEW.status IN ('succeeded', 'failed', 'cancelled');
    INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    VALUES (NEW.tenant_id, NEW.last_actor, 'command.' || NEW.status, 'command', NEW.id,
            CASE WHEN NEW.error IS NULL THEN json_object('name', NEW.name) ELSE json_object('name', NEW.name, 'error_code', json_extract(NEW.error, '$.code')) END,
            CAST(unixepoch('subsec') * 1000 AS INTEGER));
  END;
`;

/** Append-only list; entry N moves the database from user_version N to N + 1. */
const MIGRATIONS: ReadonlyArray<string | ((db: Database.Database) => void)> = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT,
    public_key TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline', 'revoked')),
    hostname TEXT,
    version TEXT,
    platform TEXT,
    arch TEXT,
    capabilities TEXT NOT NULL DEFAULT '[]',
    last_seen_at INTEGER,
    connected_at INTEGER,
    session_id TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX agents_tenant ON agents(tenant_id, created_at);
  CREATE TABLE pairings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    consumed_at INTEGER,
    agent_id TEXT REFERENCES agents(id)
  );
  CREATE TABLE agent_nonces (
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, nonce)
  ) WITHOUT ROWID;
  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    params TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
    result TEXT,
    error TEXT,
    actor TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash TEXT,
    timeout_ms INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    dispatched_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    expires_at INTEGER NOT NULL,
    cancel_requested_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_actor TEXT NOT NULL DEFAULT 'system'
  );
  -- Partial indexes match the queries' status terms exactly (SQLite only uses them then);
  -- entries are ordered by rowid within an agent, which is insertion (FIFO) order.
${dispatchIndexesSql()}  CREATE INDEX commands_listing ON commands(tenant_id, agent_id, created_at DESC);
  CREATE INDEX commands_expiry ON commands(expires_at) WHERE status IN ('queued', 'dispatched');
  CREATE UNIQUE INDEX commands_idempotency ON commands(tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    details TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX audit_tenant ON audit_log(tenant_id, id);
  -- Every command state change is audited by the database itself, in the same statement.
${auditTriggersSql()}  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
  // 2: storage policy and the operational data it governs.
  `
  CREATE TABLE storage_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    operational TEXT NOT NULL CHECK (operational IN ('cloud', 'local')),
    sync_enabled INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    updated_by TEXT
  );
  ALTER TABLE agents ADD COLUMN policy_version_applied INTEGER;
  CREATE TABLE inventory (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    collected_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, kind, target, key)
  ) WITHOUT ROWID;
  CREATE INDEX inventory_tenant ON inventory(tenant_id, agent_id);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX events_tenant ON events(tenant_id, id);
  CREATE TABLE telemetry (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // 3: audit ids without AUTOINCREMENT. Rows are never deleted, so max(id) + 1 never reuses an id,
  // and each commit no longer rewrites sqlite_sequence. (Run with legacy_alter_table, so the
  // command triggers keep naming audit_log while the old table moves aside.)
  `
  ALTER TABLE audit_log RENAME TO audit_log_autoincrement;
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    details TEXT,
    created_at INTEGER NOT NULL
  );
  INSERT INTO audit_log SELECT * FROM audit_log_autoincrement ORDER BY id;
  DROP TABLE audit_log_autoincrement;
  CREATE INDEX audit_tenant ON audit_log(tenant_id, id);
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
  // 4: the per-agent listing index without tenant_id (an agent has one tenant; the query still
  // checks it on the row). The shorter key makes every command's insert about a third cheaper.
  `
  DROP INDEX commands_listing;
  CREATE INDEX commands_listing ON commands(agent_id, created_at);
  `,
  // 5: which control plane instance holds an agent's session (as in the Supabase schema).
  `
  ALTER TABLE agents ADD COLUMN instance_id TEXT;
  `,
  // 6: a "local" tenant's finished command keeps its envelope only, whatever ended it (the
  // agent's outcome, a cancel, expiry, revocation): its params go too.
  `
  CREATE TRIGGER commands_local_envelope AFTER UPDATE OF status ON commands
    WHEN NEW.params IS NOT NULL AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'expired')
     AND EXISTS (SELECT 1 FROM storage_policies p WHERE p.tenant_id = NEW.tenant_id AND p.operational = 'local')
  BEGIN
    UPDATE commands SET params = NULL WHERE id = NEW.id;
  END;
  `,
  // 7: commands that expired after they were sent, with a cancel the agent has not heard (few:
  // each leaves once the agent reports it).
  `
  CREATE INDEX commands_unheard_cancels ON commands(agent_id) WHERE status = 'expired' AND dispatched_at IS NOT NULL AND cancel_requested_at IS NOT NULL;
  `,
  // 8: a database begun by the first releases, before migration 1 took its final form, lacks what
  // it gained since (the server refused to start on one): who changed a command last, the exact
  // dispatch indexes, the audit triggers. Changes nothing on any other database.
  (db) => {
    const columns = (db.prepare("SELECT name FROM pragma_table_info('commands')").all() as Array<{ name: string }>).map((column) => column.name);
    if (!columns.includes("last_actor")) db.exec("ALTER TABLE commands ADD COLUMN last_actor TEXT NOT NULL DEFAULT 'system'");
    db.exec(`DROP INDEX IF EXISTS commands_agent_open; ${dispatchIndexesSql("IF NOT EXISTS ")} ${auditTriggersSql("IF NOT EXISTS ")}`);
  },
  // 9: a "local" tenant's commands that ended by a cancel or expiry before migration 6 still hold
  // their params: they go now, as they would today.
  `
  UPDATE commands SET params = NULL
   WHERE params IS NOT NULL AND status IN ('succeeded', 'failed', 'cancelled', 'expired')
     AND tenant_id IN (SELECT tenant_id FROM storage_policies WHERE operational = 'local');
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies pending migrations (up to `target`) in one transaction each; returns how many ran. */
export function migrate(db: Database.Database, target = MIGRATIONS.length): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`Database schema version ${current} is newer than this build knows (${MIGRATIONS.length}); upgrade botmox-cp`);
  }
  let applied = 0;
  db.pragma("legacy_alter_table = ON");
  try {
    for (let version = current; version < target; version++) {
      db.transaction(() => {
        const migration = MIGRATIONS[version]!;
        if (typeof migration === "string") db.exec(migration);
        else migration(db);
        db.pragma(`user_version = ${version + 1}`);
      })();
      applied++;
    }
  } finally {
    db.pragma("legacy_alter_table = OFF");
  }
  return applied;
}
