-- register_agent: a pairing code is consumed once, atomically, and expired or unknown codes are refused.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(13);

insert into public.tenants (id, name) values ('aaaaaaaa-0000-4000-8000-000000000001', 'A');
insert into public.pairings (tenant_id, code_hash, expires_at, created_by) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'fresh', '2030-01-01 00:15:00+00', 'api_key:admin'),
  ('aaaaaaaa-0000-4000-8000-000000000001', 'stale', '2030-01-01 00:00:00+00', 'api_key:admin');

set local role service_role;
create temporary table registered on commit drop as
  select * from public.register_agent('fresh', 'AAAAC3NzaC1lZDI1NTE5AAAAIGo4H3Vz8zQq5vxk1cEVt3Y=', 'pve-host-1', '2030-01-01 00:05:00+00');

select is((select tenant_id::text from registered), 'aaaaaaaa-0000-4000-8000-000000000001', 'a fresh code registers an agent in the code''s tenant');
select results_eq($$select status, hostname, public_key, created_at from public.agents where id = (select agent_id from registered)$$,
  $$values ('offline', 'pve-host-1', 'AAAAC3NzaC1lZDI1NTE5AAAAIGo4H3Vz8zQq5vxk1cEVt3Y=', '2030-01-01 00:05:00+00'::timestamptz)$$,
  'the agent starts offline with its public key and hostname');
select results_eq($$select consumed_at, agent_id from public.pairings where code_hash = 'fresh'$$,
  $$values ('2030-01-01 00:05:00+00'::timestamptz, (select agent_id from registered))$$, 'the pairing is consumed and names the agent');
select results_eq($$select actor, target_id, details ->> 'hostname', details ->> 'paired_by' from public.audit_log where action = 'agent.registered'$$,
  $$values ('agent:' || (select agent_id from registered), (select agent_id::text from registered), 'pve-host-1', 'api_key:admin')$$,
  'the registration is audited');

select throws_ok($$select public.register_agent('fresh', 'KEY', 'pve-host-2', '2030-01-01 00:06:00+00')$$,
  'BMX01', 'Pairing code is unknown or was already used', 'a used code is refused (BMX01)');
select throws_ok($$select public.register_agent('unknown', 'KEY', 'pve-host-3', '2030-01-01 00:06:00+00')$$,
  'BMX01', 'Pairing code is unknown or was already used', 'an unknown code is refused (BMX01)');
select throws_ok($$select public.register_agent('stale', 'KEY', 'pve-host-4', '2030-01-01 00:06:00+00')$$,
  'BMX02', 'Pairing code expired at 2030-01-01 00:00:00+00', 'an expired code is refused (BMX02)');
select throws_ok($$select public.register_agent('stale', 'KEY', 'pve-host-4', '2030-01-01 00:00:00+00')$$,
  'BMX02', null, 'a code is expired at its expires_at instant');
select is((select consumed_at from public.pairings where code_hash = 'stale'), null, 'a refused code is not consumed');
select is((select count(*)::int from public.agents), 1, 'refused registrations create no agent');
select is((select count(*)::int from public.audit_log where action = 'agent.registered'), 1, 'and are not audited as registrations');

-- Two registrations racing for one code: see 04_concurrency.sql.

reset role;
set local role authenticated;
set local request.jwt.claims = '{"sub": "11111111-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"tenant_id": "aaaaaaaa-0000-4000-8000-000000000001"}}';
select throws_ok($$select public.register_agent('fresh', 'KEY', 'x', now())$$, '42501', null, 'members cannot call register_agent');
reset role;
set local role anon;
select throws_ok($$select public.register_agent('fresh', 'KEY', 'x', now())$$, '42501', null, 'anon cannot call register_agent');

select * from finish();
rollback;
