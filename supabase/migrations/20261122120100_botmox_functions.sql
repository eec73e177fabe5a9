-- Everything that must be atomic is one SQL function, called with supabase-js rpc() by the
-- control plane's service role. Errors carry SQLSTATEs the store maps to API error codes:
-- BMX01 pairing code unknown or used, BMX02 pairing code expired.
-- Not idempotent (create function, not create or replace): applied once, in order.

create function public.register_agent(p_code_hash text, p_public_key text, p_hostname text, p_now timestamptz default now())
  returns table (agent_id uuid, tenant_id uuid)
  language plpgsql security definer set search_path = public, pg_temp as $$
declare
  pairing public.pairings%rowtype;
  new_agent uuid;
begin
  select * into pairing from public.pairings where code_hash = p_code_hash for update;
  if not found or pairing.consumed_at is not null then
    raise exception 'Pairing code is unknown or was already used' using errcode = 'BMX01';
  end if;
  if pairing.expires_at <= p_now then
    raise exception 'Pairing code has expired; create a new one' using errcode = 'BMX02';
  end if;
  insert into public.agents (tenant_id, public_key, hostname, created_at) values (pairing.tenant_id, p_public_key, p_hostname, p_now)
    returning id into new_agent;
  update public.pairings set consumed_at = p_now, agent_id = new_agent where id = pairing.id;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
  values (pairing.tenant_id, 'agent:' || new_agent, 'agent.registered', 'agent', new_agent::text, jsonb_build_object('hostname', p_hostname, 'pairing_id', pairing.id), p_now);
  return query select new_agent, pairing.tenant_id;
end;
$$;

-- Inserts a command (queued, or dispatched when p_dispatch_now); with an idempotency key already
-- used in the tenant, returns the existing command and created = false.
create function public.enqueue_command(p_command jsonb, p_dispatch_now boolean default false)
  returns table (command public.commands, created boolean)
  language plpgsql security definer set search_path = public, pg_temp as $$
declare
  row public.commands%rowtype;
begin
  insert into public.commands (id, tenant_id, agent_id, name, params, status, actor, idempotency_key, request_hash, timeout_ms,
                               created_at, dispatched_at, expires_at, attempts)
  values ((p_command ->> 'id')::uuid, (p_command ->> 'tenant_id')::uuid, (p_command ->> 'agent_id')::uuid, p_command ->> 'name',
          p_command -> 'params', case when p_dispatch_now then 'dispatched' else 'queued' end, p_command ->> 'actor',
          p_command ->> 'idempotency_key', p_command ->> 'request_hash', (p_command ->> 'timeout_ms')::integer,
          (p_command ->> 'created_at')::timestamptz, case when p_dispatch_now then (p_command ->> 'created_at')::timestamptz end,
          (p_command ->> 'expires_at')::timestamptz, case when p_dispatch_now then 1 else 0 end)
  on conflict (tenant_id, idempotency_key) do nothing
  returning * into row;
  if found then
    return query select row, true;
    return;
  end if;
  return query select c, false from public.commands c
    where c.tenant_id = (p_command ->> 'tenant_id')::uuid and c.idempotency_key = p_command ->> 'idempotency_key';
end;
$$;

-- Guarded status change: applies only when the command is in one of p_from (and, when given,
-- belongs to p_agent_id). Audited by the commands trigger. Null when the guard failed.
create function public.transition_command(p_id uuid, p_from text[], p_to text, p_patch jsonb, p_actor text, p_agent_id uuid default null)
  returns public.commands
  language plpgsql security definer set search_path = public, pg_temp as $$
declare
  row public.commands%rowtype;
begin
  update public.commands set
    status = p_to,
    result = case when (p_patch ->> 'envelope_only')::boolean then null when p_patch ? 'result' then p_patch -> 'result' else result end,
    error = case when p_patch ? 'error' then nullif(p_patch -> 'error', 'null'::jsonb) else error end,
    dispatched_at = coalesce((p_patch ->> 'dispatched_at')::timestamptz, dispatched_at),
    started_at = coalesce((p_patch ->> 'started_at')::timestamptz, started_at),
    finished_at = coalesce((p_patch ->> 'finished_at')::timestamptz, finished_at),
    cancel_requested_at = coalesce((p_patch ->> 'cancel_requested_at')::timestamptz, cancel_requested_at),
    params = case when coalesce((p_patch ->> 'clear_params')::boolean, false) or coalesce((p_patch ->> 'envelope_only')::boolean, false) then null else params end,
    attempts = attempts + coalesce((p_patch ->> 'attempts_increment')::integer, 0),
    last_actor = p_actor
  where id = p_id and status = any (p_from) and (p_agent_id is null or agent_id = p_agent_id)
  returning * into row;
  if not found then
    return null;
  end if;
  return row;
end;
$$;

-- Takes up to p_limit unexpired queued commands of an agent, oldest first, without waiting on
-- rows another instance is claiming.
create function public.claim_commands(p_agent_id uuid, p_limit integer, p_now timestamptz default now())
  returns setof public.commands
  language sql security definer set search_path = public, pg_temp as $$
  update public.commands c set status = 'dispatched', dispatched_at = p_now, attempts = c.attempts + 1, last_actor = 'system'
  where c.id in (
    select id from public.commands
    where agent_id = p_agent_id and status = 'queued' and expires_at > p_now
    order by created_at, id
    limit p_limit
    for update skip locked
  )
  returning c.*
$$;

create function public.expire_commands(p_now timestamptz default now())
  returns setof public.commands
  language sql security definer set search_path = public, pg_temp as $$
  update public.commands set status = 'expired', finished_at = p_now, last_actor = 'system',
    error = jsonb_build_object('code', 'COMMAND_EXPIRED', 'message', 'The agent did not pick the command up before it expired')
  where status in ('queued', 'dispatched') and expires_at <= p_now
  returning *
$$;

-- False when the agent already used this nonce (a replayed handshake).
create function public.record_agent_nonce(p_agent_id uuid, p_nonce text, p_expires_at timestamptz, p_now timestamptz default now())
  returns boolean
  language plpgsql security definer set search_path = public, pg_temp as $$
begin
  delete from public.agent_nonces where agent_id = p_agent_id and expires_at <= p_now;
  insert into public.agent_nonces (agent_id, nonce, expires_at) values (p_agent_id, p_nonce, p_expires_at)
    on conflict do nothing;
  return found;
end;
$$;

-- cloud → local: deletes the tenant's operational data and says how much.
create function public.purge_operational(p_tenant_id uuid, p_actor text)
  returns jsonb
  language plpgsql security definer set search_path = public, pg_temp as $$
declare
  counts jsonb;
  n_results integer;
  n_params integer;
  n_inventory integer;
  n_events integer;
  n_telemetry integer;
begin
  update public.commands set result = null where tenant_id = p_tenant_id and result is not null;
  get diagnostics n_results = row_count;
  update public.commands set params = null
    where tenant_id = p_tenant_id and params is not null and status not in ('queued', 'dispatched', 'running');
  get diagnostics n_params = row_count;
  delete from public.inventory where tenant_id = p_tenant_id;
  get diagnostics n_inventory = row_count;
  delete from public.events where tenant_id = p_tenant_id;
  get diagnostics n_events = row_count;
  delete from public.telemetry where tenant_id = p_tenant_id;
  get diagnostics n_telemetry = row_count;
  counts := jsonb_build_object('command_results', n_results, 'command_params', n_params, 'inventory', n_inventory, 'events', n_events, 'telemetry', n_telemetry);
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (p_tenant_id, p_actor, 'operational_data.purged', 'tenant', p_tenant_id::text, counts);
  return counts;
end;
$$;

do $$
declare
  f text;
begin
  foreach f in array array['register_agent(text, text, text, timestamptz)', 'enqueue_command(jsonb, boolean)',
                           'transition_command(uuid, text[], text, jsonb, text, uuid)', 'claim_commands(uuid, integer, timestamptz)',
                           'expire_commands(timestamptz)', 'record_agent_nonce(uuid, text, timestamptz, timestamptz)',
                           'purge_operational(uuid, text)'] loop
    execute format('revoke all on function public.%s from public, anon, authenticated', f);
    execute format('grant execute on function public.%s to service_role', f);
  end loop;
end;
$$;
