-- Row-level security, table by table: a member reads their tenant's rows only (tenant from the
-- JWT's app_metadata.tenant_id or from tenant_members), anon reads nothing, members write
-- nothing, and the audit log cannot be rewritten by anyone.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(43);

-- Two tenants with a row in every table.
insert into public.tenants (id, name) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'A'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'B');
insert into auth.users (id, email) values
  ('11111111-0000-4000-8000-000000000001', 'a@example.test'),
  ('22222222-0000-4000-8000-000000000002', 'b@example.test'),
  ('33333333-0000-4000-8000-000000000003', 'nobody@example.test');
insert into public.tenant_members (tenant_id, user_id, role) values
  ('aaaaaaaa-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000001', 'viewer'),
  ('bbbbbbbb-0000-4000-8000-000000000002', '22222222-0000-4000-8000-000000000002', 'viewer');
insert into public.api_keys (tenant_id, role, key_hash, key_prefix) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'admin', repeat('a', 64), 'bmx_aaaa'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'admin', repeat('b', 64), 'bmx_bbbb');
insert into public.agents (id, tenant_id, name, public_key) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'agent-a', 'KEY-A'),
  ('b0000000-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000002', 'agent-b', 'KEY-B');
insert into public.pairings (tenant_id, code_hash, expires_at, created_by) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'code-a', now() + interval '10 minutes', 'admin-a'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'code-b', now() + interval '10 minutes', 'admin-b');
insert into public.agent_nonces (agent_id, nonce, expires_at) values
  ('a0000000-0000-4000-8000-000000000001', 'nonce-a', now() + interval '10 minutes');
insert into public.commands (id, tenant_id, agent_id, name, params, status, actor, timeout_ms, expires_at) values
  ('c0000000-0000-4000-8000-00000000000a', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'agent.ping', '{}', 'queued', 'test', 1000, now() + interval '5 minutes'),
  ('c0000000-0000-4000-8000-00000000000b', 'bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'agent.ping', '{}', 'queued', 'test', 1000, now() + interval '5 minutes');
insert into public.inventory (tenant_id, agent_id, kind, target, key, data) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm', 'pve', '100', '{}'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'proxmox.vm', 'pve', '100', '{}');
insert into public.events (tenant_id, agent_id, source, target, type, data) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'syncthing', 'st', 'FolderSummary', '{}'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'syncthing', 'st', 'FolderSummary', '{}');
insert into public.telemetry (agent_id, tenant_id, data) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', '{"vms": 1}'),
  ('b0000000-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000002', '{"vms": 2}');
insert into public.audit_log (tenant_id, actor, action, target_type) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'test', 'test.a', 'tenant'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'test', 'test.b', 'tenant');
-- Every tenant gets a policy row (cloud) when it is created.
update public.storage_policies set operational = 'local' where tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002';

-- A member of A, named by the JWT claim app_metadata.tenant_id (user 3 has no membership row).
set local role authenticated;
set local request.jwt.claims = '{"sub": "33333333-0000-4000-8000-000000000003", "role": "authenticated", "app_metadata": {"tenant_id": "aaaaaaaa-0000-4000-8000-000000000001"}}';
select results_eq('select name from public.tenants', $$values ('A')$$, 'claim A: tenants');
select results_eq('select user_id::text from public.tenant_members', $$values ('11111111-0000-4000-8000-000000000001')$$, 'claim A: tenant_members');
select results_eq('select key_prefix from public.api_keys', $$values ('bmx_aaaa')$$, 'claim A: api_keys (without the hash)');
select results_eq('select name from public.agents', $$values ('agent-a')$$, 'claim A: agents (without the key)');
select results_eq('select created_by from public.pairings', $$values ('admin-a')$$, 'claim A: pairings (without the code hash)');
select results_eq('select operational from public.storage_policies', $$values ('cloud')$$, 'claim A: storage_policies');
select results_eq('select id::text from public.commands', $$values ('c0000000-0000-4000-8000-00000000000a')$$, 'claim A: commands');
select results_eq('select agent_id::text from public.inventory', $$values ('a0000000-0000-4000-8000-000000000001')$$, 'claim A: inventory');
select results_eq('select agent_id::text from public.events', $$values ('a0000000-0000-4000-8000-000000000001')$$, 'claim A: events');
select results_eq('select data ->> ''vms'' from public.telemetry', $$values ('1')$$, 'claim A: telemetry');
select results_eq($$select action from public.audit_log where action like 'test.%'$$, $$values ('test.a')$$, 'claim A: audit_log');
select results_eq('select * from public.current_tenant_ids()', $$values ('aaaaaaaa-0000-4000-8000-000000000001'::uuid)$$, 'current_tenant_ids() names the claimed tenant');

select throws_ok('select key_hash from public.api_keys', '42501', null, 'API key hashes are not readable by members');
select throws_ok('select code_hash from public.pairings', '42501', null, 'pairing code hashes are not readable by members');
select throws_ok('select public_key from public.agents', '42501', null, 'agent public keys are not readable by members');
select throws_ok('select * from public.agent_nonces', '42501', null, 'agent nonces are not readable by members');

-- Forged writes, into the member's own tenant too.
select throws_ok($$insert into public.commands (id, tenant_id, agent_id, name, status, actor, timeout_ms, expires_at)
  values ('c0000000-0000-4000-8000-0000000000ff', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'agent.ping', 'queued', 'forged', 1000, now())$$,
  '42501', null, 'members cannot insert commands, even into their own tenant');
select throws_ok($$update public.commands set status = 'cancelled'$$, '42501', null, 'members cannot update commands');
select throws_ok($$delete from public.commands$$, '42501', null, 'members cannot delete commands');
select throws_ok($$update public.agents set status = 'online'$$, '42501', null, 'members cannot update agents');
select throws_ok($$insert into public.tenant_members (tenant_id, user_id, role) values ('bbbbbbbb-0000-4000-8000-000000000002', '33333333-0000-4000-8000-000000000003', 'admin')$$,
  '42501', null, 'members cannot add themselves to another tenant');
select throws_ok($$update public.tenant_members set role = 'admin'$$, '42501', null, 'members cannot promote themselves');
select throws_ok($$insert into public.audit_log (tenant_id, actor, action, target_type) values ('aaaaaaaa-0000-4000-8000-000000000001', 'forged', 'x', 'y')$$,
  '42501', null, 'members cannot write audit entries');
select throws_ok($$update public.storage_policies set operational = 'local'$$, '42501', null, 'members cannot change the storage policy');
select throws_ok($$insert into public.api_keys (tenant_id, role, key_hash, key_prefix) values ('aaaaaaaa-0000-4000-8000-000000000001', 'admin', repeat('f', 64), 'bmx_ffff')$$,
  '42501', null, 'members cannot mint API keys');

-- A member of B through tenant_members, no tenant claim.
set local request.jwt.claims = '{"sub": "22222222-0000-4000-8000-000000000002", "role": "authenticated"}';
select results_eq('select name from public.agents', $$values ('agent-b')$$, 'membership B: agents');
select results_eq('select id::text from public.commands', $$values ('c0000000-0000-4000-8000-00000000000b')$$, 'membership B: commands');
select results_eq('select name from public.tenants', $$values ('B')$$, 'membership B: tenants');

-- Signed in, but no claim and no membership; a malformed claim.
set local request.jwt.claims = '{"sub": "33333333-0000-4000-8000-000000000003", "role": "authenticated"}';
select is_empty('select id from public.commands', 'a user of no tenant sees no commands');
select is_empty('select id from public.tenants', 'a user of no tenant sees no tenants');
set local request.jwt.claims = '{"sub": "33333333-0000-4000-8000-000000000003", "role": "authenticated", "app_metadata": {"tenant_id": "not-a-uuid"}}';
select is_empty('select id from public.agents', 'a malformed tenant claim names no tenant (and is no error)');

-- anon: nothing at all.
reset role;
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok('select id from public.tenants', '42501', null, 'anon cannot read tenants');
select throws_ok('select id from public.agents', '42501', null, 'anon cannot read agents');
select throws_ok('select id from public.commands', '42501', null, 'anon cannot read commands');
select throws_ok('select id from public.audit_log', '42501', null, 'anon cannot read the audit log');
select throws_ok('select 1 from public.inventory', '42501', null, 'anon cannot read inventory');
select throws_ok($$insert into public.tenants (name) values ('forged')$$, '42501', null, 'anon cannot create tenants');

-- The audit log is append-only for the service role and for the owner.
reset role;
set local role service_role;
select throws_ok($$update public.audit_log set actor = 'forged'$$, 'BMX10', 'audit_log is append-only: UPDATE is not allowed', 'the service role cannot update audit rows');
select throws_ok($$delete from public.audit_log where action = 'test.a'$$, 'BMX10', 'audit_log is append-only: DELETE is not allowed', 'the service role cannot delete audit rows');
select throws_ok('truncate public.audit_log', '42501', null, 'the service role cannot truncate the audit log');
reset role;
select throws_ok($$update public.audit_log set actor = 'forged'$$, 'BMX10', null, 'the owner cannot update audit rows');
select throws_ok($$delete from public.audit_log$$, 'BMX10', null, 'the owner cannot delete audit rows');
select throws_ok('truncate public.audit_log', 'BMX10', 'audit_log is append-only: TRUNCATE is not allowed', 'the owner cannot truncate the audit log');

select * from finish();
rollback;
