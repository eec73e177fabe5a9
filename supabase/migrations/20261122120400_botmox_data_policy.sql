-- The storage policy kept by the database too (ARCHITECTURE §2), and the other store operations
-- that must be atomic: revoking an agent, replacing an agent's inventory, changing the policy.
--
-- Not idempotent (create function/trigger, no "or replace"): a second run fails at its first
-- statement and changes nothing. Applied once, like every migration here.

-- Every tenant has its policy row from the start (cloud, sync off: the documented default), so
-- the guard below always has a row to lock.
create function private.add_default_storage_policy() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  insert into public.storage_policies (tenant_id, updated_at, updated_by) values (new.id, new.created_at, null)
    on conflict (tenant_id) do nothing;
  return null;
end;
$$;
create trigger tenants_default_storage_policy after insert on public.tenants
  for each row execute function private.add_default_storage_policy();
insert into public.storage_policies (tenant_id) select id from public.tenants on conflict (tenant_id) do nothing;

-- With operational = 'local' the cloud keeps no inventory and no events, and telemetry only when
-- sync is enabled (the aggregate "bridge to cloud telemetry"). A row that the policy does not
-- allow is skipped, not an error: it is exactly what a control-plane instance whose copy of the
-- policy is a moment stale would have dropped itself. FOR SHARE on the policy row makes a write
-- wait for a policy change in progress and a policy change wait for the writes already under way,
-- so the purge that follows cloud → local cannot miss a row written concurrently.
create function private.keep_operational_data_policy() returns trigger
  language plpgsql security definer set search_path = '' as $$
declare
  v_policy public.storage_policies%rowtype;
begin
  select * into v_policy from public.storage_policies p where p.tenant_id = new.tenant_id for share;
  if v_policy.operational = 'local' and not (tg_table_name = 'telemetry' and v_policy.sync_enabled) then
    return null;
  end if;
  return new;
end;
$$;
create trigger inventory_data_policy before insert or update on public.inventory
  for each row execute function private.keep_operational_data_policy();
create trigger events_data_policy before insert or update on public.events
  for each row execute function private.keep_operational_data_policy();
create trigger telemetry_data_policy before insert or update on public.telemetry
  for each row execute function private.keep_operational_data_policy();

create function private.notify_storage_policy() returns trigger
  language plpgsql set search_path = '' as $$
begin
  perform pg_notify('botmox_storage_policies', json_build_object(
    'tenant_id', new.tenant_id, 'operational', new.operational, 'sync_enabled', new.sync_enabled)::text);
  return null;
end;
$$;
create trigger storage_policies_notify after update on public.storage_policies
  for each row when (old.operational is distinct from new.operational or old.sync_enabled is distinct from new.sync_enabled)
  execute function private.notify_storage_policy();

-- Sets the tenant's policy and audits the change (storage_policy.updated, from → to). Returns
-- { previous, current }, each { operational, sync_enabled, updated_at, updated_by }. The caller
-- purges after a cloud → local change (purge_operational), which reports what it deleted.
create function public.put_storage_policy(p_tenant_id uuid, p_operational text, p_sync_enabled boolean, p_actor text, p_now timestamptz default now())
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_previous public.storage_policies%rowtype;
  v_current public.storage_policies%rowtype;
  v_brief jsonb;
begin
  insert into public.storage_policies (tenant_id) values (p_tenant_id) on conflict (tenant_id) do nothing;
  select * into v_previous from public.storage_policies where tenant_id = p_tenant_id for update;
  update public.storage_policies
     set operational = p_operational, sync_enabled = p_sync_enabled, updated_at = p_now, updated_by = p_actor
   where tenant_id = p_tenant_id
  returning * into v_current;
  v_brief := jsonb_build_object(
    'from', jsonb_build_object('operational', v_previous.operational, 'sync', jsonb_build_object('enabled', v_previous.sync_enabled)),
    'to', jsonb_build_object('operational', v_current.operational, 'sync', jsonb_build_object('enabled', v_current.sync_enabled)));
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (p_tenant_id, coalesce(p_actor, 'system'), 'storage_policy.updated', 'tenant', p_tenant_id::text, v_brief);
  return jsonb_build_object('previous', to_jsonb(v_previous) - 'tenant_id', 'current', to_jsonb(v_current) - 'tenant_id');
end;
$$;

-- Revokes an agent of the tenant: status revoked (final, see agents_revocation_is_final), session
-- dropped, nonces forgotten, audited once (agent.revoked). The instance holding its socket hears
-- it on botmox_agents and closes it. Returns the agent row, or null when the tenant has no such agent.
create function public.revoke_agent(p_tenant_id uuid, p_agent_id uuid, p_actor text, p_now timestamptz default now())
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_was text;
  v_row public.agents%rowtype;
begin
  select status into v_was from public.agents where id = p_agent_id and tenant_id = p_tenant_id for update;
  if not found then
    return null;
  end if;
  update public.agents set status = 'revoked', revoked_at = coalesce(revoked_at, p_now), session_id = null
   where id = p_agent_id
  returning * into v_row;
  delete from public.agent_nonces where agent_id = p_agent_id;
  if v_was <> 'revoked' then
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
    values (p_tenant_id, coalesce(p_actor, 'system'), 'agent.revoked', 'agent', p_agent_id::text, jsonb_build_object('was', v_was));
  end if;
  return to_jsonb(v_row) - 'public_key';
end;
$$;

-- Replaces everything an agent reported as inventory with p_items: [{ kind, target, key, data }].
-- Returns how many items are stored: 0 when the tenant's policy is local (nothing is kept).
create function public.replace_inventory(p_tenant_id uuid, p_agent_id uuid, p_items jsonb, p_updated_at timestamptz default now())
  returns integer
  language plpgsql security definer set search_path = '' as $$
declare
  v_operational text;
  v_stored integer;
begin
  -- The policy lock first, before any inventory row lock: the same order as a purge takes them.
  select operational into v_operational from public.storage_policies where tenant_id = p_tenant_id for share;
  if v_operational = 'local' then
    return 0;
  end if;
  delete from public.inventory where agent_id = p_agent_id and tenant_id = p_tenant_id;
  insert into public.inventory (tenant_id, agent_id, kind, target, key, data, updated_at)
  select p_tenant_id, p_agent_id, item.kind, item.target, item.key, coalesce(item.data, '{}'::jsonb), p_updated_at
    from jsonb_to_recordset(coalesce(p_items, '[]'::jsonb)) as item (kind text, target text, key text, data jsonb)
  on conflict (agent_id, kind, target, key) do update set data = excluded.data, updated_at = excluded.updated_at;
  get diagnostics v_stored = row_count;
  return v_stored;
end;
$$;

select private.grant_to_service_role_only(
  'put_storage_policy(uuid, text, boolean, text, timestamptz)',
  'revoke_agent(uuid, uuid, text, timestamptz)',
  'replace_inventory(uuid, uuid, jsonb, timestamptz)');
