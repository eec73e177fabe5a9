-- cloud → local also cuts stored errors down to their code (ARCHITECTURE §2: a "local" tenant's
-- command envelope keeps the error code only; messages and details such as task logs stay on
-- the agent). The message says where the rest is; the control plane writes the same envelope
-- for errors that arrive while the tenant is "local".
--
-- Not idempotent: a second run fails at private.envelope_command_errors and, being one
-- transaction, changes nothing.

-- Cuts the tenant's stored errors down to their code; returns how many it changed.
create function private.envelope_command_errors(p_tenant_id uuid)
  returns integer
  language plpgsql security definer set search_path = '' as $$
declare
  v_changed integer;
begin
  update public.commands
     set error = jsonb_build_object('code', error->>'code',
                                    'message', 'Details are kept on the agent (storage policy local); GET /api/v1/commands/:id/result fetches them',
                                    'details', jsonb_build_object('kept_on_agent', true))
   where tenant_id = p_tenant_id and error is not null and (error->'details'->'kept_on_agent') is distinct from 'true'::jsonb;
  get diagnostics v_changed = row_count;
  return v_changed;
end;
$$;
revoke all on function private.envelope_command_errors(uuid) from public;

create or replace function public.purge_operational(p_tenant_id uuid, p_actor text default 'system')
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_results integer;
  v_params integer;
  v_errors integer;
  v_inventory integer;
  v_events integer;
  v_telemetry integer;
  v_counts jsonb;
begin
  update public.commands set result = null where tenant_id = p_tenant_id and result is not null;
  get diagnostics v_results = row_count;
  update public.commands set params = null
   where tenant_id = p_tenant_id and params is not null and status not in ('queued', 'dispatched', 'running');
  get diagnostics v_params = row_count;
  v_errors := private.envelope_command_errors(p_tenant_id);
  delete from public.inventory where tenant_id = p_tenant_id;
  get diagnostics v_inventory = row_count;
  delete from public.events where tenant_id = p_tenant_id;
  get diagnostics v_events = row_count;
  delete from public.telemetry where tenant_id = p_tenant_id;
  get diagnostics v_telemetry = row_count;
  v_counts := jsonb_build_object('inventory', v_inventory, 'events', v_events, 'telemetry', v_telemetry,
                                 'command_results', v_results, 'command_params', v_params, 'command_errors', v_errors);
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (p_tenant_id, coalesce(p_actor, 'system'), 'operational_data.purged', 'tenant', p_tenant_id::text, v_counts);
  return v_counts;
end;
$$;
