-- Races between two sessions: a claim skips rows another session holds (FOR UPDATE SKIP LOCKED),
-- two registrations with one pairing code cannot both succeed, and one expiry sweep runs at a
-- time. The second session is reached through dblink (foreign server botmox_loopback, set up by
-- test/supabase/pgtap.test.ts; Supabase itself has no such server). Another session only sees
-- committed rows, so the fixture is committed first and deleted at the end; the audit rows it
-- caused stay (append-only). The pairing and the sweeps' commands belong to tenants of their
-- own: this session's claims hold the first tenant's audit lock until it ends (audit ids follow
-- commit order), and registrations and sweeps write audit rows too.
-- Without that server (e.g. under `supabase test db`) the file skips its tests.
set client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select exists (select 1 from pg_foreign_server where srvname = 'botmox_loopback') as has_loopback \gset
\if :has_loopback

begin;
insert into public.tenants (id, name) values ('dddddddd-0000-4000-8000-000000000004', 'Race'), ('dddddddd-0000-4000-8000-000000000005', 'Race pairing'),
  ('dddddddd-0000-4000-8000-000000000006', 'Race sweep');
insert into public.agents (id, tenant_id, public_key) values ('d0000000-0000-4000-8000-000000000001', 'dddddddd-0000-4000-8000-000000000004', 'KEY-D');
insert into public.pairings (tenant_id, code_hash, expires_at, created_by) values
  ('dddddddd-0000-4000-8000-000000000005', 'race-code', now() + interval '1 hour', 'test');
insert into public.commands (id, tenant_id, agent_id, name, status, actor, timeout_ms, created_at, expires_at)
select format('cd000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'dddddddd-0000-4000-8000-000000000004',
       'd0000000-0000-4000-8000-000000000001', 'agent.ping', 'queued', 'test', 1000,
       now() - interval '1 minute' + n * interval '1 second', now() + interval '1 hour'
  from generate_series(1, 3) as n;
-- Two commands already past their deadline, for the sweeps (a tenant of their own too).
insert into public.agents (id, tenant_id, public_key) values ('d0000000-0000-4000-8000-000000000006', 'dddddddd-0000-4000-8000-000000000006', 'KEY-D6');
insert into public.commands (id, tenant_id, agent_id, name, status, actor, timeout_ms, created_at, expires_at)
select format('ce000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'dddddddd-0000-4000-8000-000000000006',
       'd0000000-0000-4000-8000-000000000006', 'agent.ping', 'queued', 'test', 1000,
       now() - interval '1 hour', now() - interval '1 hour' + n * interval '1 second'
  from generate_series(1, 2) as n;
commit;

begin;
select plan(11);
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
select is((select count(*)::int from public.agents where tenant_id = 'dddddddd-0000-4000-8000-000000000005'), 1, 'one code, one new agent');

-- A sweep in the other session expires one command and keeps its transaction open. A second
-- sweep finds nothing to do rather than take the other due command: sweeps write audit rows of
-- many tenants, and two at once could each wait for a tenant lock the other holds.
do $$ begin perform dblink_exec('other', 'begin'); end $$;
select results_eq($$select c ->> 'id' from dblink('other', $q$select public.expire_commands(now(), 1)::text$q$) as t (c jsonb)$$,
  $$values ('ce000000-0000-4000-8000-000000000001')$$, 'a sweep expires the command due first');
select is((select count(*)::int from public.expire_commands(now(), 10)), 0, 'a second sweep meanwhile does nothing');
do $$ begin perform dblink_exec('other', 'commit'); end $$;
select results_eq($$select c ->> 'id' from public.expire_commands(now(), 10) c$$,
  $$values ('ce000000-0000-4000-8000-000000000002')$$, 'once the first sweep ends, the next one takes the rest');
do $$ begin perform dblink_disconnect('other'); end $$;

select * from finish();
rollback;

delete from public.tenants where id in ('dddddddd-0000-4000-8000-000000000004', 'dddddddd-0000-4000-8000-000000000005', 'dddddddd-0000-4000-8000-000000000006');

\else
select plan(1);
select skip('no second session: foreign server botmox_loopback is not set up', 1);
select * from finish();
\endif
