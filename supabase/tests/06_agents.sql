-- Agent invariants the database keeps: revocation is final; an agent's rows stay in its tenant.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(6);

insert into public.tenants (id, name) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'A'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'B');
insert into public.agents (id, tenant_id, public_key, status, session_id, connected_at) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A1', 'online', 's-1', '2030-01-01 00:00:00+00'),
  ('a0000000-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A2', 'online', 's-2', '2030-01-01 00:00:00+00');
set local role service_role;

update public.agents set status = 'revoked', revoked_at = '2030-01-01 00:01:00+00', session_id = null where id = 'a0000000-0000-4000-8000-000000000001';
update public.agents set status = 'online', session_id = 's-2', connected_at = '2030-01-01 00:02:00+00', revoked_at = null, last_seen_at = '2030-01-01 00:02:00+00'
 where id = 'a0000000-0000-4000-8000-000000000001';
select results_eq($$select status, revoked_at, session_id, connected_at, last_seen_at from public.agents where id = 'a0000000-0000-4000-8000-000000000001'$$,
  $$values ('revoked', '2030-01-01 00:01:00+00'::timestamptz, null::text, '2030-01-01 00:00:00+00'::timestamptz, '2030-01-01 00:02:00+00'::timestamptz)$$,
  'a late session update cannot bring a revoked agent back (other fields still update)');
select throws_ok($$update public.agents set status = 'revoked' where id = 'a0000000-0000-4000-8000-000000000002'$$, '23514', null, 'a revoked agent always has revoked_at');

-- (tenant_id, agent_id) foreign keys: no row can point at another tenant's agent.
select throws_ok($$insert into public.inventory (tenant_id, agent_id, kind, target, key, data) values ('bbbbbbbb-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'k', 't', 'x', '{}')$$,
  '23503', null, 'inventory cannot cross tenants');
select throws_ok($$insert into public.events (tenant_id, agent_id, type) values ('bbbbbbbb-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'x')$$,
  '23503', null, 'events cannot cross tenants');
select throws_ok($$insert into public.telemetry (agent_id, tenant_id, data) values ('a0000000-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002', '{}')$$,
  '23503', null, 'telemetry cannot cross tenants');

reset role;
delete from public.tenants where id = 'aaaaaaaa-0000-4000-8000-000000000001';
select is((select count(*)::int from public.agents), 0, 'deleting a tenant deletes its agents (and, by cascade, everything of theirs)');

select * from finish();
rollback;
