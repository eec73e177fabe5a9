-- The command lifecycle functions: enqueue_command (idempotent), transition_command (guarded),
-- claim_commands (oldest first), expire_commands; and the audit trail they leave.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(46);

insert into public.tenants (id, name) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'A'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'B');
insert into public.agents (id, tenant_id, public_key) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A1'),
  ('a0000000-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A2'),
  ('b0000000-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002', 'KEY-B1');

-- A command as the API builds it; n picks the id and orders created_at.
create function pg_temp.cmd(n int, extra jsonb default '{}', agent text default 'a0000000-0000-4000-8000-000000000001',
                            tenant text default 'aaaaaaaa-0000-4000-8000-000000000001') returns jsonb language sql as $$
  select jsonb_build_object('id', format('c0000000-0000-4000-8000-%s', lpad(n::text, 12, '0')), 'tenant_id', tenant, 'agent_id', agent,
    'name', 'agent.echo', 'params', jsonb_build_object('n', n), 'actor', 'api_key:op', 'timeout_ms', 30000,
    'created_at', '2030-01-01 00:00:00+00'::timestamptz + n * interval '1 second',
    'expires_at', '2030-01-01 00:05:00+00'::timestamptz) || extra
$$;
create function pg_temp.id(n int) returns uuid language sql as $$ select format('c0000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid $$;
create function pg_temp.actions(n int) returns text language sql as $$
  select string_agg(action || '@' || actor, ' ' order by id) from public.audit_log where target_id = pg_temp.id(n)::text
$$;
grant execute on all functions in schema pg_temp to service_role;
set local role service_role;

-- enqueue_command
create temporary table r1 on commit drop as select * from public.enqueue_command(pg_temp.cmd(1, '{"idempotency_key": "job-1", "request_hash": "h1"}'), '2030-01-01 00:00:30+00');
select is((select created from r1), true, 'the first enqueue creates the command');
select is((select command ->> 'status' from r1), 'queued', 'a new command is queued by default');
select is((select (command ->> 'attempts')::int from r1), 0, 'with no attempt yet');
select is((select command -> 'params' from r1), '{"n": 1}'::jsonb, 'and its params');
select is(pg_temp.actions(1), 'command.queued@api_key:op', 'creation is audited as command.queued by the caller');

create temporary table r1b on commit drop as select * from public.enqueue_command(pg_temp.cmd(99, '{"idempotency_key": "job-1", "request_hash": "h2"}'), '2030-01-01 00:00:31+00');
select is((select created from r1b), false, 'the same idempotency key in the tenant creates nothing');
select is((select command ->> 'id' from r1b), pg_temp.id(1)::text, 'and returns the first command');
select is((select command ->> 'request_hash' from r1b), 'h1', 'with the first request_hash, for the caller to compare');
select is((select count(*)::int from public.commands where id = pg_temp.id(99)), 0, 'no second row');
select is(pg_temp.actions(1), 'command.queued@api_key:op', 'and no second audit entry');
select is((select created from public.enqueue_command(pg_temp.cmd(2, '{"idempotency_key": "job-1"}', 'b0000000-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'))),
  true, 'idempotency keys are per tenant');

create temporary table r3 on commit drop as select * from public.enqueue_command(pg_temp.cmd(3, '{"status": "dispatched"}'), '2030-01-01 00:00:33+00');
select results_eq($$select command ->> 'status', (command ->> 'attempts')::int, (command ->> 'dispatched_at')::timestamptz from r3$$,
  $$values ('dispatched', 1, '2030-01-01 00:00:33+00'::timestamptz)$$, 'status dispatched inserts it already sent: attempt 1, dispatched_at = p_now');
select is(pg_temp.actions(3), 'command.queued@api_key:op command.dispatched@system', 'and audits queued then dispatched');
select throws_ok($$select public.enqueue_command(pg_temp.cmd(4, '{"status": "succeeded"}'))$$, '22023', null, 'a command cannot be born finished');
select throws_ok($$select public.enqueue_command(pg_temp.cmd(4, '{}', 'b0000000-0000-4000-8000-000000000001'))$$, '23503', null,
  'a command cannot name another tenant''s agent');
select is((select (command ->> 'created_at')::timestamptz from public.enqueue_command(pg_temp.cmd(5) - 'created_at', '2030-01-01 00:00:35+00')),
  '2030-01-01 00:00:35+00'::timestamptz, 'created_at defaults to p_now');

-- claim_commands: agent A1 has 1 and 5 queued (3 is already dispatched) and 6, which expires first.
do $$ begin perform public.enqueue_command(pg_temp.cmd(6, '{"expires_at": "2030-01-01T00:00:10Z"}')); end $$;
do $$ begin perform public.enqueue_command(pg_temp.cmd(7, '{}', 'a0000000-0000-4000-8000-000000000002')); end $$;
do $$ begin perform public.claim_commands('a0000000-0000-4000-8000-000000000002', 1, '2030-01-01 00:00:59+00'); end $$;
select results_eq($$select c ->> 'id' from public.claim_commands('a0000000-0000-4000-8000-000000000001', 1, '2030-01-01 00:01:00+00') c$$,
  $$values (pg_temp.id(1)::text)$$, 'a claim takes the oldest queued command first, up to the limit');
select results_eq($$select c ->> 'status', (c ->> 'attempts')::int, (c ->> 'dispatched_at')::timestamptz from public.claim_commands('a0000000-0000-4000-8000-000000000001', 10, '2030-01-01 00:01:00+00') c$$,
  $$values ('dispatched', 1, '2030-01-01 00:01:00+00'::timestamptz)$$, 'then the next one, marked dispatched with attempts + 1; the expired one is skipped');
select is((select status from public.commands where id = pg_temp.id(6)), 'queued', 'a claim never takes an expired command');
select is_empty($$select public.claim_commands('a0000000-0000-4000-8000-000000000001', 10, '2030-01-01 00:01:00+00')$$, 'nothing left to claim');
select is((select status from public.commands where id = pg_temp.id(7)), 'dispatched', 'another agent''s claim takes its own commands only');
select is_empty($$select public.claim_commands('a0000000-0000-4000-8000-000000000002', 0, '2030-01-01 00:01:00+00')$$, 'a limit of 0 claims nothing');
select is(pg_temp.actions(1), 'command.queued@api_key:op command.dispatched@system', 'a claim is audited as command.dispatched');

-- transition_command
select is(public.transition_command(pg_temp.id(1), array['running'], 'succeeded', '{}', 'agent:a1'), null, 'a guarded transition from the wrong state returns null');
select is((select status from public.commands where id = pg_temp.id(1)), 'dispatched', 'and changes nothing');
select is(public.transition_command(pg_temp.id(1), array['dispatched'], 'running', '{}', 'agent:x', 'a0000000-0000-4000-8000-000000000002'), null,
  'a transition scoped to another agent returns null');
select is(public.transition_command(pg_temp.id(1), array['dispatched'], 'running', '{"started_at": "2030-01-01T00:01:01Z"}', 'agent:a1') ->> 'started_at',
  '2030-01-01T00:01:01+00:00', 'dispatched → running applies with started_at');
create temporary table done on commit drop as
  select public.transition_command(pg_temp.id(1), array['dispatched', 'running'], 'succeeded',
    '{"result": {"echo": 1}, "finished_at": "2030-01-01T00:01:02Z", "params": null}', 'agent:a1', 'a0000000-0000-4000-8000-000000000001') as c;
select results_eq($$select c ->> 'status', c -> 'result', c -> 'params', (c ->> 'finished_at')::timestamptz from done$$,
  $$values ('succeeded', '{"echo": 1}'::jsonb, 'null'::jsonb, '2030-01-01 00:01:02+00'::timestamptz)$$, 'running → succeeded stores the result and clears params');
select is(public.transition_command(pg_temp.id(1), array['dispatched', 'running'], 'failed', '{}', 'agent:a1'), null, 'a finished command cannot finish again');
select is(pg_temp.actions(1), 'command.queued@api_key:op command.dispatched@system command.running@agent:a1 command.succeeded@agent:a1',
  'every state change is audited with its actor');
select is(public.transition_command(pg_temp.id(3), array['dispatched'], 'failed',
    '{"error": {"code": "PVE_TASK_FAILED", "message": "boom"}, "finished_at": "2030-01-01T00:01:03Z"}', 'agent:a1') -> 'error',
  '{"code": "PVE_TASK_FAILED", "message": "boom"}'::jsonb, 'dispatched → failed stores the error');
select is(pg_temp.actions(3), 'command.queued@api_key:op command.dispatched@system command.running@agent:a1 command.failed@agent:a1',
  'dispatched straight to a final state is audited with the implied command.running');
select is((select details ->> 'error_code' from public.audit_log where target_id = pg_temp.id(3)::text and action = 'command.failed'), 'PVE_TASK_FAILED',
  'the audit entry of a failure names its error code');
select is((public.transition_command(pg_temp.id(5), array['dispatched'], 'dispatched', '{"attempts_increment": 2, "cancel_requested_at": "2030-01-01T00:02:00Z"}', 'api_key:op') ->> 'attempts')::int,
  3, 'a same-status transition patches fields (attempts_increment, cancel_requested_at)');
select is(pg_temp.actions(5), 'command.queued@api_key:op command.dispatched@system', 'and writes no audit entry, since the status did not change');
select throws_ok($$select public.transition_command(pg_temp.id(5), array['dispatched'], 'cancelled', '{"status": "succeeded"}', 'x')$$, '22023',
  'transition_command: unknown patch field(s): status', 'unknown patch fields are refused');
select throws_ok($$select public.transition_command(pg_temp.id(5), array['dispatched'], 'cancelled', '{"params": {"n": 2}}', 'x')$$, '22023',
  'transition_command: params can only be cleared (null)', 'params can only be cleared');
select throws_ok($$select public.transition_command(pg_temp.id(5), array['dispatched'], 'paused', '{}', 'x')$$, '22023', 'transition_command: unknown status paused', 'an unknown status is refused');

-- expire_commands: 6 expired at 00:00:10; 2 (tenant B, queued), 5 and 7 (dispatched) expire at 00:05; 1 and 3 are final.
select results_eq($$select c ->> 'id' from public.expire_commands('2030-01-01 00:01:00+00') c$$, $$values (pg_temp.id(6)::text)$$,
  'only commands past expires_at expire');
select results_eq($$select status, error ->> 'code', finished_at from public.commands where id = pg_temp.id(6)$$,
  $$values ('expired', 'COMMAND_EXPIRED', '2030-01-01 00:01:00+00'::timestamptz)$$, 'an expired command carries COMMAND_EXPIRED and finished_at');
select is(pg_temp.actions(6), 'command.queued@api_key:op command.expired@system', 'expiry is audited');
do $$ begin perform public.enqueue_command(pg_temp.cmd(8, '{"status": "dispatched"}')); end $$;
do $$ begin perform public.transition_command(pg_temp.id(8), array['dispatched'], 'running', '{}', 'agent:a1'); end $$;
select is((select count(*) from public.expire_commands('2030-01-01 00:06:00+00', 1)), 1::bigint, 'a sweep ends at most p_limit commands');
select is((select count(*) from public.expire_commands('2030-01-01 00:06:00+00')), 2::bigint, 'the next sweep ends the rest');
select results_eq($$select id::text from public.commands where status = 'expired' and id <> pg_temp.id(6) order by 1$$,
  $$select unnest(array[pg_temp.id(2)::text, pg_temp.id(5)::text, pg_temp.id(7)::text]) order by 1$$, 'queued and dispatched commands expire, in every tenant; running and finished ones do not');
select is((select status from public.commands where id = pg_temp.id(8)), 'running', 'a running command is left to its timeout');
select is_empty($$select public.expire_commands('2030-01-01 00:06:00+00')$$, 'a second sweep finds nothing');

select * from finish();
rollback;
