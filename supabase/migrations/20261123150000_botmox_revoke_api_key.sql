-- Revokes one of a tenant's API keys and audits api_key.revoked, together or not at all. Returns
-- the key without its hash, or null when the tenant has no such key. A key already revoked is
-- returned as it is, and nothing more is audited.
create function public.revoke_api_key(p_tenant_id uuid, p_id uuid, p_actor text default 'system', p_now timestamptz default now())
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_row public.api_keys%rowtype;
begin
  update public.api_keys set revoked_at = p_now
   where id = p_id and tenant_id = p_tenant_id and revoked_at is null
  returning * into v_row;
  if found then
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    values (p_tenant_id, coalesce(p_actor, 'system'), 'api_key.revoked', 'api_key', p_id::text,
            jsonb_build_object('role', v_row.role, 'key_prefix', v_row.key_prefix), p_now);
  else
    select * into v_row from public.api_keys where id = p_id and tenant_id = p_tenant_id;
    if not found then
      return null;
    end if;
  end if;
  return to_jsonb(v_row) - 'key_hash';
end;
$$;

select private.grant_to_service_role_only('revoke_api_key(uuid, uuid, text, timestamptz)');
