-- Races between two sessions: a claim skips rows another session holds (FOR UPDATE SKIP LOCKED)
-- and two registrations with one pairing code cannot both succeed. The second session is reached
-- through dblink (foreign server botmox_loopback, set up by test/supabase/pgtap.test.ts; Supabase
-- itself has no such server). Another session only sees committed rows, so the fixture is
-- committed first and deleted at the end; the audit rows it caused stay (append-only).
-- Without that server (e.g. under `supabase test db`) the file skips its tests.
set client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select exists (select 1 from pg_foreign_server where srvname = 'botmox_loopback') as has_loopback \gset
\if :has_loopback

begin;
insert into public.tenants (id, name) values ('dddddddd-0000-4000-8000-000000000004', 'Race');
insert into public.agents (id, tenant_id, public_key) values ('d0000000-0000-4000-8000-000000000001', 'dddddddd-0000-4000-8000-000000000004', 'KEY-D');
insert into public.pairings (tenant_id, code_hash, expires_at, created_by) values
  ('dddddddd-0000-4000-8000-000000000004', 'race-code', now() + interval '1 hour', 'test');
insert into public.commands (id, tenant_id, agent_id, name, status, actor, timeout_ms, created_at, expires_at)
select format('cd000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'dddddddd-0000-4000-8000-000000000004',
       'd0000000-0000-4000-8000-000000000001', 'agent.ping', 'queued', 'test', 1000,
       now() - interval '1 minute' + n * interval '1 second', now() + interval '1 hour'
  from generate_series(1, 3) as n;
commit;

begin;
select plan(8);
select lives_ok($$select dblink_connect('other', 'botmox_loopback')$$, 'a second session connects');
-- If a claim waited on a held row instead of skipping it, this turns the hang into a failure.
do $$ begin perform dblink_exec('other', $q$set statement_timeout = '5s'$q$); end $$;

-- This session holds the oldest queued command.
do $$ begin perform 1 from public.commands where id = 'cd000000-0000-4000-8000-000000000001' for update; end $$;
select results_eq(
  $$select c ->> 'id' from dblink('other', $q$select public.claim_commands('d0000000-0000-4000-8000-000000000001', 10, now())::text$q$) as t (c jsonb)$$,
  $$values ('cd000000-0000-4000-8000-000000000002'), ('cd000000-0000-4000-8000-000000000003')$$,
  'a concurrent claim skips the command another session holds, without waiting for it');
select is((select status from public.commands where id = 'cd000000-0000-4000-8000-000000000001'), 'queued', 'the held command is still queued');
select results_eq($$select c ->> 'id' from public.claim_commands('d0000000-0000-4000-8000-000000000001', 10, now()) as c$$,
  $$values ('cd000000-0000-4000-8000-000000000001')$$, 'the holder claims the rest: every command is taken exactly once');

-- The other session registers with the code and keeps its transaction open.
do $$ begin perform dblink_exec('other', 'begin'); end $$;
select isnt((select agent_id from dblink('other', $q$select agent_id from public.register_agent('race-code', 'KEY-1', 'host-1', now())$q$) as t (agent_id uuid)),
  null, 'the other session registers with the code (not committed yet)');
set local lock_timeout = '300ms';
select throws_ok($$select public.register_agent('race-code', 'KEY-2', 'host-2', now())$$, '55P03', null,
  'a second registration with the same code waits for the first (the pairing row is locked)');
do $$ begin perform dblink_exec('other', 'commit'); end $$;
set local lock_timeout = 0;
select throws_ok($$select public.register_agent('race-code', 'KEY-2', 'host-2', now())$$, 'BMX01', null,
  'once the first commits, the second finds the code used');
select is((select count(*)::int from public.agents where tenant_id = 'dddddddd-0000-4000-8000-000000000004'), 2, 'one code, one new agent');
do $$ begin perform dblink_disconnect('other'); end $$;

select * from finish();
rollback;

delete from public.tenants where id = 'dddddddd-0000-4000-8000-000000000004';

\else
select plan(1);
select skip('no second session: foreign server botmox_loopback is not set up', 1);
select * from finish();
\endif
