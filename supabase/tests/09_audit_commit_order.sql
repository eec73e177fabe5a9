-- A reader paging the audit log with after_id never finds a row behind its cursor: within a
-- tenant, ids become visible in commit order. Two sessions (dblink, as in 04_concurrency.sql)
-- write audit rows for one tenant; the one that wrote first commits last. The rows stay
-- (append-only), under a tenant id nothing else uses.
set client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select exists (select 1 from pg_foreign_server where srvname = 'botmox_loopback') as has_loopback \gset
\if :has_loopback

begin;
select plan(4);
select lives_ok($$select dblink_connect('first', 'botmox_loopback'); select dblink_connect('second', 'botmox_loopback')$$, 'two more sessions connect');
do $$ begin perform dblink_exec('second', $q$set statement_timeout = '10s'$q$); end $$;

-- The first session writes an audit row and keeps its transaction open.
do $$ begin
  perform dblink_exec('first', 'begin');
  perform dblink_exec('first', $q$insert into public.audit_log (tenant_id, actor, action, target_type) values ('eeeeeeee-0000-4000-8000-000000000009', 'first', 'test.first', 'test')$q$);
end $$;
-- The second writes one for the same tenant and commits (asynchronously: it has to wait).
create temporary table second_session on commit drop as select pid from dblink('second', 'select pg_backend_pid()') as t (pid int);
select dblink_send_query('second', $q$insert into public.audit_log (tenant_id, actor, action, target_type) values ('eeeeeeee-0000-4000-8000-000000000009', 'second', 'test.second', 'test')$q$);
-- Until it is seen waiting on the tenant's lock (at most 10 s), so the reader below pages behind a writer that is held.
do $$ begin
  for attempt in 1 .. 200 loop
    exit when exists (select 1 from pg_locks l join second_session s on s.pid = l.pid where l.locktype = 'advisory' and not l.granted);
    perform pg_sleep(0.05);
  end loop;
end $$;

-- A reader pages now and remembers where it stopped.
select coalesce(max(id), 0) as cursor from public.audit_log where tenant_id = 'eeeeeeee-0000-4000-8000-000000000009' \gset
select is((select count(*)::int from public.audit_log where tenant_id = 'eeeeeeee-0000-4000-8000-000000000009'), 0,
  'while the first writer is open, the second one''s row is not visible ahead of it');

do $$ begin perform dblink_exec('first', 'commit'); end $$;
select is((select r from dblink_get_result('second') as t (r text)), 'INSERT 0 1', 'the second writer completes once the first commits');
select results_eq(
  format($$select action from public.audit_log where tenant_id = 'eeeeeeee-0000-4000-8000-000000000009' and id > %s order by id$$, :cursor),
  $$values ('test.first'), ('test.second')$$,
  'the reader''s next page holds both rows, in commit order: nothing is skipped');
do $$ begin perform dblink_disconnect('first'); perform dblink_disconnect('second'); end $$;

select * from finish();
rollback;

\else
select plan(1);
select skip('no second session: foreign server botmox_loopback is not set up', 1);
select * from finish();
\endif
