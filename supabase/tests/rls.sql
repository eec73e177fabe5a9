-- Row-level security, table by table: a member reads their tenant only, anon nothing,
-- members write nothing, and the audit log cannot be rewritten by anyone.
begin;
select plan(16);

insert into public.tenants (id, name) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'A'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'B');
insert into auth.users (id, email) values
  ('11111111-0000-4000-8000-000000000001', 'a@example.test'),
  ('22222222-0000-4000-8000-000000000002', 'b@example.test');
insert into public.tenant_members (tenant_id, user_id, role) values ('bbbbbbbb-0000-4000-8000-000000000002', '22222222-0000-4000-8000-000000000002', 'viewer');
insert into public.agents (id, tenant_id, name, public_key) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'agent-a', 'KEY-A'),
  ('b0000000-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000002', 'agent-b', 'KEY-B');
insert into public.commands (id, tenant_id, agent_id, name, params, status, actor, timeout_ms, expires_at) values
  ('c0000000-0000-4000-8000-00000000000a', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'agent.ping', '{}', 'queued', 'test', 1000, now() + interval '5 minutes'),
  ('c0000000-0000-4000-8000-00000000000b', 'bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'agent.ping', '{}', 'queued', 'test', 1000, now() + interval '5 minutes');
insert into public.inventory (tenant_id, agent_id, kind, target, key, data, collected_at) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm', 'pve', '100', '{}', now()),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'proxmox.vm', 'pve', '100', '{}', now());
insert into public.api_keys (tenant_id, role, key_hash, key_prefix) values ('aaaaaaaa-0000-4000-8000-000000000001', 'admin', 'hash-a', 'bmx_a');

-- A member of A, named by the JWT's app_metadata.tenant_id
set local role authenticated;
set local request.jwt.claims = '{"sub": "11111111-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"tenant_id": "aaaaaaaa-0000-4000-8000-000000000001"}}';
select results_eq('select name from public.tenants', $$values ('A')$$, 'a member of A sees tenant A only');
select results_eq('select name from public.agents', $$values ('agent-a')$$, 'a member of A sees only A''s agents');
select results_eq('select id::text from public.commands', $$values ('c0000000-0000-4000-8000-00000000000a')$$, 'a member of A sees only A''s commands');
select results_eq('select count(*)::int from public.inventory', $$values (1)$$, 'a member of A sees only A''s inventory');
select is_empty($$select 1 from public.audit_log where tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$, 'no audit row of B is visible to A');
select throws_ok('select key_hash from public.api_keys', '42501', null, 'API key hashes are not readable by members');
select throws_ok('select public_key from public.agents', '42501', null, 'agent public keys are not readable by members');
select throws_ok($$insert into public.commands (id, tenant_id, agent_id, name, status, actor, timeout_ms, expires_at)
  values ('c0000000-0000-4000-8000-0000000000ff', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'agent.ping', 'queued', 'forged', 1000, now())$$,
  '42501', null, 'members cannot insert commands, even into their own tenant');
select throws_ok($$update public.agents set status = 'online'$$, '42501', null, 'members cannot update agents');
select throws_ok($$select public.register_agent('x', 'y', null)$$, '42501', null, 'members cannot call the service functions');

-- A member of B through tenant_members (no tenant claim in the JWT)
set local request.jwt.claims = '{"sub": "22222222-0000-4000-8000-000000000002", "role": "authenticated"}';
select results_eq('select name from public.agents', $$values ('agent-b')$$, 'a member of B by tenant_members sees only B''s agents');

-- anon: nothing at all
reset role;
set local role anon;
select throws_ok('select * from public.agents', '42501', null, 'anon cannot read agents');
select throws_ok('select * from public.commands', '42501', null, 'anon cannot read commands');

-- The audit log is append-only, for the service role and the owner too
reset role;
set local role service_role;
select throws_ok($$update public.audit_log set actor = 'forged'$$, 'BMX10', null, 'the service role cannot update audit rows');
select throws_ok($$delete from public.audit_log$$, 'BMX10', null, 'the service role cannot delete audit rows');
reset role;
select throws_ok('truncate public.audit_log', 'BMX10', null, 'nobody can truncate the audit log');

select * from finish();
rollback;
