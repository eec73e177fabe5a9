-- The atomic SQL functions the control plane calls with rpc().
begin;
select plan(16);

insert into public.tenants (id, name) values ('aaaaaaaa-0000-4000-8000-000000000001', 'A');
insert into public.pairings (tenant_id, code_hash, expires_at, created_by) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'fresh', now() + interval '15 minutes', 'test'),
  ('aaaaaaaa-0000-4000-8000-000000000001', 'stale', now() - interval '1 minute', 'test');

set local role service_role;
create temporary table registered on commit drop as select * from public.register_agent('fresh', 'KEY', 'host-1');
select is((select tenant_id::text from registered), 'aaaaaaaa-0000-4000-8000-000000000001', 'a fresh code registers an agent in its tenant');
select throws_ok($$select public.register_agent('fresh', 'KEY', 'host-2')$$, 'BMX01', null, 'a used code is refused');
select throws_ok($$select public.register_agent('stale', 'KEY', 'host-3')$$, 'BMX02', null, 'an expired code is refused');
select throws_ok($$select public.register_agent('unknown', 'KEY', 'host-4')$$, 'BMX01', null, 'an unknown code is refused');

create temporary table cmd on commit drop as
  select jsonb_build_object('id', id, 'tenant_id', 'aaaaaaaa-0000-4000-8000-000000000001', 'agent_id', (select agent_id from registered),
    'name', 'agent.echo', 'params', jsonb_build_object('n', n), 'actor', 'api_key:test', 'idempotency_key', case when n = 1 then 'job-1' end,
    'timeout_ms', 1000, 'created_at', now() + n * interval '1 millisecond', 'expires_at', now() + interval '5 minutes') as body, n
  from (values (1, 'c0000000-0000-4000-8000-000000000001'), (2, 'c0000000-0000-4000-8000-000000000002'), (3, 'c0000000-0000-4000-8000-000000000003')) v(n, id);

select is((select created from public.enqueue_command((select body from cmd where n = 1))), true, 'the first enqueue creates the command');
select is((select (command).id::text || ':' || created from public.enqueue_command(jsonb_set((select body from cmd where n = 1), '{id}', '"c0000000-0000-4000-8000-0000000000ff"'))),
  'c0000000-0000-4000-8000-000000000001:false', 'the same idempotency key returns the first command');
select is((select (command).status from public.enqueue_command((select body from cmd where n = 2))), 'queued', 'commands are queued by default');
select is((select (command).status from public.enqueue_command((select body from cmd where n = 3), true)), 'dispatched', 'dispatch_now inserts a dispatched command');

select is(public.transition_command('c0000000-0000-4000-8000-000000000001', array['dispatched'], 'running', '{}', 'agent:x'), null, 'a guarded transition from the wrong state changes nothing');
select results_eq($$select id::text from public.claim_commands((select agent_id from registered), 1)$$, $$values ('c0000000-0000-4000-8000-000000000001')$$, 'claims take the oldest queued command first');
select is((public.transition_command('c0000000-0000-4000-8000-000000000001', array['dispatched', 'running'], 'succeeded', '{"result": {"ok": true}}', 'agent:x')).status, 'succeeded', 'a guarded transition from the right state applies');
select results_eq($$select action from public.audit_log where target_id = 'c0000000-0000-4000-8000-000000000001' order by id$$,
  $$values ('command.queued'), ('command.dispatched'), ('command.running'), ('command.succeeded')$$, 'every state change is audited, including the implied running');

update public.commands set expires_at = now() - interval '1 second' where id = 'c0000000-0000-4000-8000-000000000002';
select results_eq($$select id::text || ':' || status from public.expire_commands()$$, $$values ('c0000000-0000-4000-8000-000000000002:expired')$$, 'only queued or dispatched commands past expires_at expire');

select is(public.record_agent_nonce((select agent_id from registered), 'nonce-1', now() + interval '10 minutes'), true, 'a new nonce is accepted');
select is(public.record_agent_nonce((select agent_id from registered), 'nonce-1', now() + interval '10 minutes'), false, 'a replayed nonce is refused');

insert into public.inventory (tenant_id, agent_id, kind, target, key, data, collected_at)
  values ('aaaaaaaa-0000-4000-8000-000000000001', (select agent_id from registered), 'proxmox.vm', 'pve', '100', '{"name": "vm"}', now());
select is(public.purge_operational('aaaaaaaa-0000-4000-8000-000000000001', 'admin') ->> 'inventory', '1', 'purge reports what it deleted');

select * from finish();
rollback;
