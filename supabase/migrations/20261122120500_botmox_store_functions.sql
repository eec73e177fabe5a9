-- The remaining writes of the control plane's store that change a row and audit it: both in one
-- transaction, so there is never a tenant, API key or pairing code without its audit entry.
--
-- Not idempotent (create function, no "or replace", except for the default-policy trigger
-- function it redefines): a second run fails at create_tenant and, being one transaction,
-- changes nothing. Applied once, like every migration here.

-- A tenant's default policy is version 0 (updated_at at the epoch, updated_by null), as the API
-- shows a policy nobody has set yet; every change after that gets a later updated_at.
create or replace function private.add_default_storage_policy() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  insert into public.storage_policies (tenant_id, updated_at, updated_by) values (new.id, to_timestamp(0), null)
    on conflict (tenant_id) do nothing;
  return null;
end;
$$;

-- Creates a tenant (its default storage policy comes from tenants_default_storage_policy) and
-- audits tenant.created. Returns the tenant row.
create function public.create_tenant(p_name text, p_actor text default 'system', p_now timestamptz default now())
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_row public.tenants%rowtype;
begin
  insert into public.tenants (name, created_at) values (p_name, p_now) returning * into v_row;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
  values (v_row.id, coalesce(p_actor, 'system'), 'tenant.created', 'tenant', v_row.id::text, jsonb_build_object('name', p_name), p_now);
  return to_jsonb(v_row);
end;
$$;

-- Stores an API key by its hash and audits api_key.created. Returns the row without the hash.
create function public.create_api_key(p_tenant_id uuid, p_role text, p_key_hash text, p_key_prefix text, p_actor text default 'system', p_now timestamptz default now())
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_row public.api_keys%rowtype;
begin
  insert into public.api_keys (tenant_id, role, key_hash, key_prefix, created_at)
  values (p_tenant_id, p_role, p_key_hash, p_key_prefix, p_now) returning * into v_row;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
  values (p_tenant_id, coalesce(p_actor, 'system'), 'api_key.created', 'api_key', v_row.id::text,
          jsonb_build_object('role', p_role, 'key_prefix', p_key_prefix), p_now);
  return to_jsonb(v_row) - 'key_hash';
end;
$$;

-- Stores a one-time pairing code by its hash and audits pairing.created. Returns the pairing id.
create function public.create_pairing(p_tenant_id uuid, p_code_hash text, p_expires_at timestamptz, p_created_by text, p_now timestamptz default now())
  returns uuid
  language plpgsql security definer set search_path = '' as $$
declare
  v_id uuid;
begin
  insert into public.pairings (tenant_id, code_hash, expires_at, created_by, created_at)
  values (p_tenant_id, p_code_hash, p_expires_at, p_created_by, p_now) returning id into v_id;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
  values (p_tenant_id, p_created_by, 'pairing.created', 'pairing', v_id::text, jsonb_build_object('expires_at', p_expires_at), p_now);
  return v_id;
end;
$$;

select private.grant_to_service_role_only(
  'create_tenant(text, text, timestamptz)',
  'create_api_key(uuid, text, text, text, text, timestamptz)',
  'create_pairing(uuid, text, timestamptz, text, timestamptz)');
