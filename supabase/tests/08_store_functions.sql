-- create_tenant, create_api_key, create_pairing: the row and its audit entry, together or not at all.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(14);

set local role service_role;
create temporary table t on commit drop as select public.create_tenant('Acme', 'admin:cli', '2030-01-01 00:00:00+00') as row;
select is((select row ->> 'name' from t), 'Acme', 'create_tenant returns the tenant');
select results_eq($$select actor, action, target_id, details ->> 'name', created_at from public.audit_log where action = 'tenant.created'$$,
  $$values ('admin:cli', 'tenant.created', (select row ->> 'id' from t), 'Acme', '2030-01-01 00:00:00+00'::timestamptz)$$, 'and audits it');
select results_eq($$select operational, sync_enabled from public.storage_policies where tenant_id = (select (row ->> 'id')::uuid from t)$$,
  $$values ('cloud', false)$$, 'a new tenant has the default storage policy');
select results_eq($$select updated_at, updated_by from public.storage_policies where tenant_id = (select (row ->> 'id')::uuid from t)$$,
  $$values (to_timestamp(0), null::text)$$, 'version 0: set by nobody yet');

create temporary table k on commit drop as
  select public.create_api_key((select (row ->> 'id')::uuid from t), 'operator', repeat('ab', 32), 'bmx_abcd', 'admin:cli', '2030-01-01 00:01:00+00') as row;
select ok(not (select row ? 'key_hash' from k), 'create_api_key does not hand the hash back');
select results_eq($$select role, key_prefix, revoked_at from public.api_keys where id = (select (row ->> 'id')::uuid from k)$$,
  $$values ('operator', 'bmx_abcd', null::timestamptz)$$, 'the key is stored');
select is((select details from public.audit_log where action = 'api_key.created'), '{"role": "operator", "key_prefix": "bmx_abcd"}'::jsonb, 'and audited without the hash');
select throws_ok($$select public.create_api_key((select (row ->> 'id')::uuid from t), 'root', repeat('cd', 32), 'bmx_x')$$, '23514', null, 'an unknown role is refused');

select is((select public.revoke_api_key((select (row ->> 'id')::uuid from t), (select (row ->> 'id')::uuid from k), 'admin:cli', '2030-01-01 00:02:00+00') ->> 'revoked_at')::timestamptz,
  '2030-01-01 00:02:00+00'::timestamptz, 'revoke_api_key stamps the key and returns it');
select is((select public.revoke_api_key((select (row ->> 'id')::uuid from t), (select (row ->> 'id')::uuid from k), 'admin:cli', '2030-01-01 00:03:00+00') ->> 'revoked_at')::timestamptz,
  '2030-01-01 00:02:00+00'::timestamptz, 'revoking again keeps the first time');
select results_eq($$select actor, target_id, details from public.audit_log where action = 'api_key.revoked'$$,
  $$values ('admin:cli', (select row ->> 'id' from k), '{"role": "operator", "key_prefix": "bmx_abcd"}'::jsonb)$$, 'and is audited once, without the hash');
select is(public.revoke_api_key(gen_random_uuid(), (select (row ->> 'id')::uuid from k)), null, 'another tenant''s key is not found');

select lives_ok($$select public.create_pairing((select (row ->> 'id')::uuid from t), 'code-hash', '2030-01-01 00:15:00+00', 'api_key:bmx_abcd', '2030-01-01 00:00:00+00')$$, 'create_pairing stores a code');
select results_eq($$select a.actor, a.target_id, p.expires_at from public.audit_log a join public.pairings p on p.id::text = a.target_id where a.action = 'pairing.created'$$,
  $$values ('api_key:bmx_abcd', (select id::text from public.pairings where code_hash = 'code-hash'), '2030-01-01 00:15:00+00'::timestamptz)$$, 'and audits it');

reset role;
select * from finish();
rollback;
