-- The storage policy kept by the database: default policy rows, local tenants store no
-- operational data, and the store operations revoke_agent, replace_inventory, put_storage_policy.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(20);

insert into public.tenants (id, name) values ('aaaaaaaa-0000-4000-8000-000000000001', 'A');
insert into public.agents (id, tenant_id, public_key, status, session_id) values
  ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'KEY-A1', 'online', 's-1');
select results_eq($$select operational, sync_enabled from public.storage_policies where tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$,
  $$values ('cloud', false)$$, 'a new tenant starts with the default policy: cloud, sync off');
set local role service_role;

-- replace_inventory under cloud
select is(public.replace_inventory('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
  '[{"kind": "proxmox.vm", "target": "pve", "key": "100", "data": {"name": "a"}}, {"kind": "proxmox.vm", "target": "pve", "key": "101", "data": {"name": "b"}}]',
  '2030-01-01 00:00:00+00'), 2, 'replace_inventory stores the items');
select is(public.replace_inventory('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
  '[{"kind": "proxmox.vm", "target": "pve", "key": "101", "data": {"name": "b2"}}]', '2030-01-01 00:01:00+00'), 1, 'and replaces them');
select results_eq($$select key, data ->> 'name', updated_at from public.inventory$$, $$values ('101', 'b2', '2030-01-01 00:01:00+00'::timestamptz)$$,
  'what the agent no longer reports is gone');

-- put_storage_policy
create temporary table changed on commit drop as
  select public.put_storage_policy('aaaaaaaa-0000-4000-8000-000000000001', 'local', false, 'api_key:admin', '2030-01-01 00:02:00+00') as r;
select is((select r -> 'previous' ->> 'operational' from changed), 'cloud', 'put_storage_policy returns the previous policy');
select is((select (r -> 'current') - 'updated_at'::text from changed), '{"operational": "local", "sync_enabled": false, "updated_by": "api_key:admin"}'::jsonb, 'and the current one');
select results_eq($$select actor, details from public.audit_log where action = 'storage_policy.updated'$$,
  $$values ('api_key:admin', '{"from": {"operational": "cloud", "sync": {"enabled": false}}, "to": {"operational": "local", "sync": {"enabled": false}}}'::jsonb)$$,
  'the change is audited from → to');
select is(public.purge_operational('aaaaaaaa-0000-4000-8000-000000000001', 'api_key:admin') ->> 'inventory', '1', 'the purge after cloud → local deletes the inventory');

-- local: nothing operational is stored, whoever writes
select is(public.replace_inventory('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
  '[{"kind": "proxmox.vm", "target": "pve", "key": "100", "data": {}}]'), 0, 'replace_inventory stores nothing for a local tenant');
insert into public.inventory (tenant_id, agent_id, kind, target, key, data) values ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'k', 't', 'x', '{}');
insert into public.events (tenant_id, agent_id, type) values ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'FolderSummary');
insert into public.telemetry (agent_id, tenant_id, data) values ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', '{"vms": 1}');
select is((select count(*)::int from public.inventory) + (select count(*)::int from public.events) + (select count(*)::int from public.telemetry), 0,
  'direct writes of inventory, events and telemetry are skipped for a local tenant');
do $$ begin perform public.put_storage_policy('aaaaaaaa-0000-4000-8000-000000000001', 'local', true, 'api_key:admin', '2030-01-01 00:03:00+00'); end $$;
insert into public.telemetry (agent_id, tenant_id, data) values ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', '{"vms": 1}');
insert into public.events (tenant_id, agent_id, type) values ('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'FolderSummary');
select is((select count(*)::int from public.telemetry), 1, 'with sync enabled, aggregate telemetry is kept');
select is((select count(*)::int from public.events), 0, 'but still no events');
do $$ begin perform public.put_storage_policy('aaaaaaaa-0000-4000-8000-000000000001', 'cloud', false, 'api_key:admin', '2030-01-01 00:04:00+00'); end $$;
select is(public.replace_inventory('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
  '[{"kind": "proxmox.vm", "target": "pve", "key": "100", "data": {}}]'), 1, 'back to cloud, the agent''s backfill is stored');

-- revoke_agent
select is(public.revoke_agent('bbbbbbbb-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'api_key:admin'), null,
  'another tenant cannot revoke the agent');
do $$ begin perform public.record_agent_nonce('a0000000-0000-4000-8000-000000000001', 'n-1', '2100-01-01', now()); end $$;
create temporary table revoked on commit drop as
  select public.revoke_agent('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'api_key:admin', '2030-01-01 00:05:00+00') as r;
select results_eq($$select r ->> 'status', (r ->> 'revoked_at')::timestamptz, r ->> 'session_id', r ? 'public_key' from revoked$$,
  $$values ('revoked', '2030-01-01 00:05:00+00'::timestamptz, null::text, false)$$, 'revoke_agent revokes, drops the session and returns the row without its key');
select is((select count(*)::int from public.agent_nonces), 0, 'the agent''s nonces are forgotten');
select is((public.revoke_agent('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'api_key:admin', '2030-01-01 00:06:00+00') ->> 'revoked_at')::timestamptz,
  '2030-01-01 00:05:00+00'::timestamptz, 'revoking again keeps the first revocation time');
select results_eq($$select actor, details ->> 'was' from public.audit_log where action = 'agent.revoked'$$, $$values ('api_key:admin', 'online')$$,
  'the revocation is audited once');

reset role;
set local role authenticated;
set local request.jwt.claims = '{"sub": "11111111-0000-4000-8000-000000000001", "role": "authenticated", "app_metadata": {"tenant_id": "aaaaaaaa-0000-4000-8000-000000000001"}}';
select throws_ok($$select public.put_storage_policy('aaaaaaaa-0000-4000-8000-000000000001', 'cloud', false, 'x')$$, '42501', null, 'members cannot change the policy through the function');
select throws_ok($$select public.revoke_agent('aaaaaaaa-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'x')$$, '42501', null, 'members cannot revoke agents');

select * from finish();
rollback;
