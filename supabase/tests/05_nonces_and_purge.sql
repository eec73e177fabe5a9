-- record_agent_nonce (replay protection) and purge_operational (cloud → local).
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(18);

insert into public.tenants (id, name) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'A'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'B');
insert into public.agents (id, tenant_id, public_key) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A1'),
  ('a0000000-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A2'),
  ('b0000000-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002', 'KEY-B1');
set local role service_role;

-- Nonces
select is(public.record_agent_nonce('a0000000-0000-4000-8000-000000000001', 'n-1', '2030-01-01 00:05:00+00', '2030-01-01 00:00:00+00'), true, 'a new nonce is accepted');
select is(public.record_agent_nonce('a0000000-0000-4000-8000-000000000001', 'n-1', '2030-01-01 00:05:00+00', '2030-01-01 00:00:01+00'), false, 'the same nonce again is a replay');
select is(public.record_agent_nonce('a0000000-0000-4000-8000-000000000002', 'n-1', '2030-01-01 00:05:00+00', '2030-01-01 00:00:01+00'), true, 'nonces are per agent');
select is(public.record_agent_nonce('a0000000-0000-4000-8000-000000000001', 'n-2', '2030-01-01 00:01:00+00', '2030-01-01 00:00:02+00'), true, 'another nonce is accepted');
select is(public.record_agent_nonce('a0000000-0000-4000-8000-000000000001', 'n-3', '2030-01-01 00:10:00+00', '2030-01-01 00:02:00+00'), true, 'a nonce later on is accepted');
select results_eq($$select nonce from public.agent_nonces where agent_id = 'a0000000-0000-4000-8000-000000000001' order by nonce$$,
  $$values ('n-1'), ('n-3')$$, 'and the agent''s expired nonces (n-2) were forgotten');
select is((select count(*)::int from public.agent_nonces where agent_id = 'a0000000-0000-4000-8000-000000000002'), 1, 'other agents'' nonces are kept');
select throws_ok($$select public.record_agent_nonce('a0000000-0000-4000-8000-0000000000ff', 'n-1', now(), now())$$, '23503', null, 'an unknown agent has no nonces');

-- Purge: operational data of A (and B, which must survive).
insert into public.inventory (tenant_id, agent_id, kind, target, key, data) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm', 'pve', '100', '{"name": "vm-100"}'),
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm', 'pve', '101', '{"name": "vm-101"}'),
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'syncthing.folder', 'st', 'bots', '{}'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001', 'proxmox.vm', 'pve', '100', '{}');
insert into public.events (tenant_id, agent_id, source, target, type, data) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'syncthing', 'st', 'FolderSummary', '{}'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001', 'syncthing', 'st', 'FolderSummary', '{}');
insert into public.telemetry (agent_id, tenant_id, data) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', '{"vms": 2}'),
  ('b0000000-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002', '{"vms": 1}');
insert into public.commands (id, tenant_id, agent_id, name, params, status, result, actor, timeout_ms, expires_at) values
  ('c0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm.list', '{"target": "pve"}', 'succeeded', '{"vms": []}', 't', 1000, now()),
  ('c0000000-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm.list', '{"target": "pve"}', 'failed', null, 't', 1000, now()),
  ('c0000000-0000-4000-8000-000000000003', 'aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'proxmox.vm.start', '{"vmid": 100}', 'queued', null, 't', 1000, now()),
  ('c0000000-0000-4000-8000-000000000004', 'bbbbbbbb-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001', 'proxmox.vm.list', '{"target": "pve"}', 'succeeded', '{"vms": []}', 't', 1000, now());

update public.commands set error = '{"code": "PVE_TASK_FAILED", "message": "storage nas-7 is not online", "details": {"log_tail": ["nas-7"]}}'
 where id = 'c0000000-0000-4000-8000-000000000002';
select is(public.purge_operational('aaaaaaaa-0000-4000-8000-000000000001', 'api_key:admin'),
  '{"inventory": 3, "events": 1, "telemetry": 1, "command_results": 1, "command_params": 2, "command_errors": 1}'::jsonb, 'purge deletes and reports per kind');
select is((select count(*)::int from public.inventory where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001')
        + (select count(*)::int from public.events where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001')
        + (select count(*)::int from public.telemetry where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 0, 'the tenant''s inventory, events and telemetry are gone');
select is_empty($$select id from public.commands where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001' and (result is not null or (params is not null and status not in ('queued', 'dispatched', 'running')))$$,
  'no stored result and no params of a finished command remain');
select is((select params from public.commands where id = 'c0000000-0000-4000-8000-000000000003'), '{"vmid": 100}'::jsonb, 'a queued command keeps the params it has yet to deliver');
select is((select error from public.commands where id = 'c0000000-0000-4000-8000-000000000002'),
  '{"code": "PVE_TASK_FAILED", "message": "Details are kept on the agent (storage policy local); GET /api/v1/commands/:id/result fetches them", "details": {"kept_on_agent": true}}'::jsonb,
  'a stored error keeps its code only');
select is((select count(*)::int from public.commands where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 3, 'the command envelopes stay');
select results_eq($$select (select count(*)::int from public.inventory) + (select count(*)::int from public.events) + (select count(*)::int from public.telemetry),
                          (select result from public.commands where id = 'c0000000-0000-4000-8000-000000000004')$$,
  $$values (3, '{"vms": []}'::jsonb)$$, 'another tenant''s data is untouched');
select results_eq($$select actor, details from public.audit_log where action = 'operational_data.purged'$$,
  $$values ('api_key:admin', '{"inventory": 3, "events": 1, "telemetry": 1, "command_results": 1, "command_params": 2, "command_errors": 1}'::jsonb)$$, 'the purge is audited with its counts');
select is(public.purge_operational('aaaaaaaa-0000-4000-8000-000000000001'),
  '{"inventory": 0, "events": 0, "telemetry": 0, "command_results": 0, "command_params": 0, "command_errors": 0}'::jsonb, 'a second purge finds nothing (the actor defaults to system)');
select is((select count(*)::int from public.audit_log where action = 'operational_data.purged' and actor = 'system'), 1, 'and is audited too');

select * from finish();
rollback;
