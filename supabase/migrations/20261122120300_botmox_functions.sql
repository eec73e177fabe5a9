-- The atomic operations of the Supabase store, called by the control plane's service role with
-- supabase-js rpc(). Each runs in one transaction, as SECURITY DEFINER with an empty search_path
-- (every name below is schema-qualified), and only service_role may EXECUTE it.
--
-- SQLSTATEs the store maps to API errors:
--   BMX01 pairing code unknown or already used    BMX02 pairing code expired
--   BMX10 audit_log is append-only                22023 invalid argument (bad status, patch field)
-- Timestamps in jsonb arguments are ISO 8601 strings; rows come back as jsonb (to_jsonb of the row).
--
-- Not idempotent (create function, no "or replace"): a second run fails at its first statement
-- and changes nothing. Applied once, like every migration here.

-- Supabase grants EXECUTE on new functions to PUBLIC, anon and authenticated: the store's RPCs
-- are the service role's alone. Takes signatures as `name(argtypes)`.
create function private.grant_to_service_role_only(variadic p_signatures text[]) returns void
  language plpgsql set search_path = '' as $$
declare
  f text;
begin
  foreach f in array p_signatures loop
    execute format('revoke all on function public.%s from public, anon, authenticated', f);
    execute format('grant execute on function public.%s to service_role', f);
  end loop;
end;
$$;
revoke all on function private.grant_to_service_role_only(text[]) from public;

-- Consumes a one-time pairing code and creates the agent it pairs.
create function public.register_agent(p_code_hash text, p_public_key text, p_hostname text, p_now timestamptz default now())
  returns table (agent_id uuid, tenant_id uuid)
  language plpgsql security definer set search_path = '' as $$
#variable_conflict use_column
declare
  v_pairing public.pairings%rowtype;
  v_agent uuid;
begin
  -- The row lock makes concurrent registrations with one code queue up; the loser sees it consumed.
  select * into v_pairing from public.pairings p where p.code_hash = p_code_hash for update;
  if not found or v_pairing.consumed_at is not null then
    raise exception 'Pairing code is unknown or was already used'
      using errcode = 'BMX01', hint = 'Create a new pairing code and pair again.';
  end if;
  if v_pairing.expires_at <= p_now then
    raise exception 'Pairing code expired at %', v_pairing.expires_at
      using errcode = 'BMX02', hint = 'Create a new pairing code and pair again.';
  end if;
  insert into public.agents (tenant_id, public_key, hostname, created_at)
  values (v_pairing.tenant_id, p_public_key, p_hostname, p_now)
  returning id into v_agent;
  update public.pairings set consumed_at = p_now, agent_id = v_agent where id = v_pairing.id;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (v_pairing.tenant_id, 'agent:' || v_agent, 'agent.registered', 'agent', v_agent::text,
          jsonb_build_object('hostname', p_hostname, 'pairing_id', v_pairing.id, 'paired_by', v_pairing.created_by));
  return query select v_agent, v_pairing.tenant_id;
end;
$$;

-- Inserts a command. p_command carries the table's fields: id (chosen by the caller), tenant_id,
-- agent_id, name, params, actor, idempotency_key, request_hash, timeout_ms, expires_at, and
-- optionally created_at (default p_now) and status: 'queued' (default) or 'dispatched' for an
-- agent with a free slot and an empty queue (dispatched_at = p_now, attempts = 1: one write
-- instead of two). With an idempotency key already used in the tenant nothing is inserted and
-- the existing command comes back with created = false; the caller compares request_hash.
-- Audited (command.queued, and command.dispatched when inserted dispatched) only when created.
create function public.enqueue_command(p_command jsonb, p_now timestamptz default now())
  returns table (command jsonb, created boolean)
  language plpgsql security definer set search_path = '' as $$
#variable_conflict use_column
declare
  v_status text := coalesce(p_command ->> 'status', 'queued');
  v_row public.commands%rowtype;
begin
  if v_status not in ('queued', 'dispatched') then
    raise exception 'A new command is queued or dispatched, not %', v_status using errcode = '22023';
  end if;
  insert into public.commands (id, tenant_id, agent_id, name, params, status, actor, idempotency_key, request_hash,
                               timeout_ms, created_at, dispatched_at, expires_at, attempts)
  values ((p_command ->> 'id')::uuid, (p_command ->> 'tenant_id')::uuid, (p_command ->> 'agent_id')::uuid,
          p_command ->> 'name', nullif(p_command -> 'params', 'null'::jsonb), v_status, p_command ->> 'actor',
          p_command ->> 'idempotency_key', p_command ->> 'request_hash', (p_command ->> 'timeout_ms')::integer,
          coalesce((p_command ->> 'created_at')::timestamptz, p_now),
          case when v_status = 'dispatched' then p_now end,
          (p_command ->> 'expires_at')::timestamptz,
          case when v_status = 'dispatched' then 1 else 0 end)
  on conflict (tenant_id, idempotency_key) do nothing
  returning * into v_row;
  if found then
    return query select to_jsonb(v_row), true;
    return;
  end if;
  return query select to_jsonb(c), false from public.commands c
    where c.tenant_id = (p_command ->> 'tenant_id')::uuid and c.idempotency_key = p_command ->> 'idempotency_key';
  if not found then
    -- Only under REPEATABLE READ or stricter: the conflicting row is invisible to this snapshot.
    raise exception 'Idempotency key % is being used concurrently; retry', p_command ->> 'idempotency_key'
      using errcode = '40001';
  end if;
end;
$$;

-- Guarded status change: applies only while the command's status is one of p_from (and, when
-- p_agent_id is given, only to that agent's command: a session can only report its own commands).
-- p_patch may set: result, error ({code, message, details} or null), dispatched_at, started_at,
-- finished_at, cancel_requested_at (ISO strings or null), params (null only: clears them),
-- attempts_increment (integer). Anything else is refused (22023). A status change is audited
-- as command.<p_to> with p_actor by the commands trigger, in the same transaction; p_to equal
-- to the current status patches fields without an audit entry.
-- Returns the updated row, or null when the guard failed (the caller re-reads and decides).
create function public.transition_command(p_id uuid, p_from text[], p_to text, p_patch jsonb, p_actor text, p_agent_id uuid default null)
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_patch jsonb := coalesce(p_patch, '{}'::jsonb);
  v_unknown text;
  v_row public.commands%rowtype;
  v_found boolean;
begin
  if p_to is null or p_to not in ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired') then
    raise exception 'transition_command: unknown status %', p_to using errcode = '22023';
  end if;
  if jsonb_typeof(v_patch) <> 'object' then
    raise exception 'transition_command: p_patch must be an object' using errcode = '22023';
  end if;
  select string_agg(k, ', ' order by k) into v_unknown from jsonb_object_keys(v_patch) as k
   where k not in ('result', 'error', 'dispatched_at', 'started_at', 'finished_at', 'cancel_requested_at', 'params', 'attempts_increment');
  if v_unknown is not null then
    raise exception 'transition_command: unknown patch field(s): %', v_unknown using errcode = '22023';
  end if;
  if v_patch ? 'params' and v_patch -> 'params' <> 'null'::jsonb then
    raise exception 'transition_command: params can only be cleared (null)' using errcode = '22023';
  end if;
  perform set_config('botmox.actor', coalesce(p_actor, ''), true);
  update public.commands c set
    status = p_to,
    result = case when v_patch ? 'result' then nullif(v_patch -> 'result', 'null'::jsonb) else c.result end,
    error = case when v_patch ? 'error' then nullif(v_patch -> 'error', 'null'::jsonb) else c.error end,
    dispatched_at = case when v_patch ? 'dispatched_at' then (v_patch ->> 'dispatched_at')::timestamptz else c.dispatched_at end,
    started_at = case when v_patch ? 'started_at' then (v_patch ->> 'started_at')::timestamptz else c.started_at end,
    finished_at = case when v_patch ? 'finished_at' then (v_patch ->> 'finished_at')::timestamptz else c.finished_at end,
    cancel_requested_at = case when v_patch ? 'cancel_requested_at' then (v_patch ->> 'cancel_requested_at')::timestamptz else c.cancel_requested_at end,
    params = case when v_patch ? 'params' then null else c.params end,
    attempts = c.attempts + coalesce((v_patch ->> 'attempts_increment')::integer, 0)
  where c.id = p_id and c.status = any (p_from) and (p_agent_id is null or c.agent_id = p_agent_id)
  returning * into v_row;
  v_found := found;
  perform set_config('botmox.actor', '', true);
  if not v_found then
    return null;
  end if;
  return to_jsonb(v_row);
end;
$$;

-- Takes up to p_limit unexpired queued commands of one agent, oldest first, and marks them
-- dispatched (dispatched_at = p_now, attempts + 1). SKIP LOCKED: two instances claiming at once
-- never block each other and never take the same command. Audited as command.dispatched.
create function public.claim_commands(p_agent_id uuid, p_limit integer, p_now timestamptz default now())
  returns setof jsonb
  language sql security definer set search_path = '' as $$
  with picked as materialized (
    select c.id from public.commands c
     where c.agent_id = p_agent_id and c.status = 'queued' and c.expires_at > p_now
     order by c.created_at, c.id
     limit greatest(p_limit, 0)
     for update skip locked
  ), claimed as (
    update public.commands c set status = 'dispatched', dispatched_at = p_now, attempts = c.attempts + 1
      from picked where c.id = picked.id
    returning c.*
  )
  select to_jsonb(claimed) from claimed order by claimed.created_at, claimed.id
$$;

-- Queued or dispatched commands whose expires_at has passed become expired, with the error
-- COMMAND_EXPIRED; returns them. Rows locked by a concurrent claim or transition are left to
-- the next sweep. Audited as command.expired.
create function public.expire_commands(p_now timestamptz default now())
  returns setof jsonb
  language sql security definer set search_path = '' as $$
  with picked as materialized (
    select c.id, c.status from public.commands c
     where c.status in ('queued', 'dispatched') and c.expires_at <= p_now
     for update skip locked
  ), expired as (
    update public.commands c set status = 'expired', finished_at = p_now,
           error = jsonb_build_object('code', 'COMMAND_EXPIRED',
                                      'message', 'The agent did not pick the command up before it expired',
                                      'details', jsonb_build_object('status', picked.status, 'expires_at', c.expires_at))
      from picked where c.id = picked.id
    returning c.*
  )
  select to_jsonb(expired) from expired order by expired.expires_at, expired.id
$$;

-- Records a handshake nonce; false when this agent already used it (a replay). Forgets the
-- agent's expired nonces first (the handshake's timestamp window refuses anything that old).
create function public.record_agent_nonce(p_agent_id uuid, p_nonce text, p_expires_at timestamptz, p_now timestamptz default now())
  returns boolean
  language plpgsql security definer set search_path = '' as $$
declare
  v_inserted integer;
begin
  delete from public.agent_nonces n where n.agent_id = p_agent_id and n.expires_at <= p_now;
  insert into public.agent_nonces (agent_id, nonce, expires_at) values (p_agent_id, p_nonce, p_expires_at)
    on conflict (agent_id, nonce) do nothing;
  get diagnostics v_inserted = row_count;
  return v_inserted = 1;
end;
$$;

-- cloud → local (ARCHITECTURE §2): deletes the tenant's inventory, events and telemetry and nulls
-- stored command results and the params of finished commands; returns the counts per kind and
-- audits them as operational_data.purged. Params of queued, dispatched and running commands stay:
-- the agent still needs them (delivery and redelivery), and they are dropped once delivered.
create function public.purge_operational(p_tenant_id uuid, p_actor text default 'system')
  returns jsonb
  language plpgsql security definer set search_path = '' as $$
declare
  v_results integer;
  v_params integer;
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
  delete from public.inventory where tenant_id = p_tenant_id;
  get diagnostics v_inventory = row_count;
  delete from public.events where tenant_id = p_tenant_id;
  get diagnostics v_events = row_count;
  delete from public.telemetry where tenant_id = p_tenant_id;
  get diagnostics v_telemetry = row_count;
  v_counts := jsonb_build_object('inventory', v_inventory, 'events', v_events, 'telemetry', v_telemetry,
                                 'command_results', v_results, 'command_params', v_params);
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (p_tenant_id, coalesce(p_actor, 'system'), 'operational_data.purged', 'tenant', p_tenant_id::text, v_counts);
  return v_counts;
end;
$$;

select private.grant_to_service_role_only(
  'register_agent(text, text, text, timestamptz)',
  'enqueue_command(jsonb, timestamptz)',
  'transition_command(uuid, text[], text, jsonb, text, uuid)',
  'claim_commands(uuid, integer, timestamptz)',
  'expire_commands(timestamptz)',
  'record_agent_nonce(uuid, text, timestamptz, timestamptz)',
  'purge_operational(uuid, text)');
