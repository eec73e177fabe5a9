-- Structure and privileges, checked from the catalog so that a table or function added later
-- without RLS or with Supabase's default grants left in place fails here.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(34);

select tables_are('public', array['tenants', 'tenant_members', 'api_keys', 'agents', 'pairings', 'agent_nonces', 'storage_policies',
  'commands', 'audit_log', 'inventory', 'events', 'telemetry'], 'the public schema holds exactly the Bot-Mox tables');

select is_empty($$
  select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p') and not (c.relrowsecurity and c.relforcerowsecurity)
$$, 'every public table has row-level security enabled and forced');

select is_empty($$
  select c.relname, r.name from pg_class c join pg_namespace n on n.oid = c.relnamespace, (values ('anon'), ('public')) as r (name)
   where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')
     and case when c.relkind = 'S' then has_sequence_privilege(r.name, c.oid, 'USAGE,SELECT,UPDATE')
              else has_table_privilege(r.name, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
                   or has_any_column_privilege(r.name, c.oid, 'SELECT,INSERT,UPDATE,REFERENCES') end
$$, 'anon and PUBLIC hold no privilege on any table, column or sequence');

select is_empty($$
  select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p')
     and (has_table_privilege('authenticated', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
          or has_any_column_privilege('authenticated', c.oid, 'INSERT,UPDATE,REFERENCES'))
$$, 'authenticated can write to no table');

select is_empty($$
  select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and case when c.relkind = 'S' then has_sequence_privilege('authenticated', c.oid, 'USAGE,SELECT,UPDATE') end
$$, 'authenticated can use no sequence');

select ok(not has_column_privilege('authenticated', 'public.api_keys', 'key_hash', 'SELECT'), 'members cannot read api_keys.key_hash');
select ok(not has_column_privilege('authenticated', 'public.pairings', 'code_hash', 'SELECT'), 'members cannot read pairings.code_hash');
select ok(not has_column_privilege('authenticated', 'public.agents', 'public_key', 'SELECT'), 'members cannot read agents.public_key');
select ok(not has_any_column_privilege('authenticated', 'public.agent_nonces', 'SELECT'), 'members cannot read agent_nonces at all');
select ok(has_column_privilege('authenticated', 'public.agents', 'status', 'SELECT'), 'members can read an agent''s status');
select ok(not has_table_privilege('service_role', 'public.audit_log', 'TRUNCATE'), 'TRUNCATE on audit_log is revoked from the service role');

-- The RPCs, exactly as the Supabase store calls them.
select has_function('public', 'register_agent', array['text', 'text', 'text', 'timestamp with time zone'], 'register_agent(code_hash, public_key, hostname, now)');
select has_function('public', 'enqueue_command', array['jsonb', 'timestamp with time zone'], 'enqueue_command(command, now)');
select has_function('public', 'transition_command', array['uuid', 'text[]', 'text', 'jsonb', 'text', 'uuid'], 'transition_command(id, from, to, patch, actor, agent_id default null)');
select has_function('public', 'claim_commands', array['uuid', 'integer', 'timestamp with time zone'], 'claim_commands(agent_id, limit, now)');
select has_function('public', 'expire_commands', array['timestamp with time zone', 'integer'], 'expire_commands(now, limit)');
select has_function('public', 'record_agent_nonce', array['uuid', 'text', 'timestamp with time zone', 'timestamp with time zone'], 'record_agent_nonce(agent_id, nonce, expires_at, now)');
select has_function('public', 'purge_operational', array['uuid', 'text'], 'purge_operational(tenant_id, actor default system)');
select has_function('public', 'put_storage_policy', array['uuid', 'text', 'boolean', 'text', 'timestamp with time zone'], 'put_storage_policy(tenant_id, operational, sync_enabled, actor, now)');
select has_function('public', 'revoke_agent', array['uuid', 'uuid', 'text', 'timestamp with time zone'], 'revoke_agent(tenant_id, agent_id, actor, now)');
select has_function('public', 'replace_inventory', array['uuid', 'uuid', 'jsonb', 'timestamp with time zone'], 'replace_inventory(tenant_id, agent_id, items, updated_at)');
select has_function('public', 'create_tenant', array['text', 'text', 'timestamp with time zone'], 'create_tenant(name, actor, now)');
select has_function('public', 'create_api_key', array['uuid', 'text', 'text', 'text', 'text', 'timestamp with time zone'], 'create_api_key(tenant_id, role, key_hash, key_prefix, actor, now)');
select has_function('public', 'revoke_api_key', array['uuid', 'uuid', 'text', 'timestamp with time zone'], 'revoke_api_key(tenant_id, id, actor, now)');
select has_function('public', 'create_pairing', array['uuid', 'text', 'timestamp with time zone', 'text', 'timestamp with time zone'], 'create_pairing(tenant_id, code_hash, expires_at, created_by, now)');
select function_returns('public', 'transition_command', array['uuid', 'text[]', 'text', 'jsonb', 'text', 'uuid'], 'jsonb', 'transition_command returns the row as jsonb');
select function_returns('public', 'claim_commands', array['uuid', 'integer', 'timestamp with time zone'], 'setof jsonb', 'claim_commands returns setof jsonb');
select function_returns('public', 'expire_commands', array['timestamp with time zone', 'integer'], 'setof jsonb', 'expire_commands returns setof jsonb');
select function_returns('public', 'purge_operational', array['uuid', 'text'], 'jsonb', 'purge_operational returns jsonb');

select is_empty($$
  select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and p.proname <> 'current_tenant_ids'
     and (has_function_privilege('anon', p.oid, 'EXECUTE') or has_function_privilege('authenticated', p.oid, 'EXECUTE'))
$$, 'no public function but current_tenant_ids() is executable by anon or authenticated');
select ok(not has_function_privilege('anon', 'public.current_tenant_ids()', 'EXECUTE'), 'anon cannot call current_tenant_ids()');
select is_empty($$
  select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and not has_function_privilege('service_role', p.oid, 'EXECUTE')
$$, 'the service role can call every public function');
select is_empty($$
  select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and not (p.prosecdef and p.proconfig @> array['search_path=""'])
$$, 'every public function is SECURITY DEFINER with a fixed, empty search_path');
select is_empty($$
  select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'private' and p.prosecdef and not (p.proconfig @> array['search_path=""'])
$$, 'SECURITY DEFINER trigger functions have a fixed search_path too');

select * from finish();
rollback;
