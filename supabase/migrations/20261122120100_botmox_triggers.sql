-- Rules the database keeps whoever writes: the audit log is append-only, every command state
-- change is audited in the same statement, a revoked agent stays revoked, and the instance that
-- holds an agent's socket hears about new commands, cancels and revocations at once (NOTIFY).
--
-- Not idempotent (create schema/function/trigger, no "or replace"): a second run fails at its
-- first statement and changes nothing. Applied once, like every migration here.

-- Functions that are not part of the API: PostgREST only exposes `public`.
create schema private;
revoke all on schema private from public;

-- Append-only audit log: no UPDATE, DELETE or TRUNCATE, for the service role and the owner alike
-- (statement level, so even an attempt that would touch no row is refused).
create function private.refuse_audit_change() returns trigger
  language plpgsql set search_path = '' as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'BMX10',
          hint = 'Audit entries are never changed or removed; append a new entry instead.';
end;
$$;
create trigger audit_log_append_only before update or delete or truncate on public.audit_log
  for each statement execute function private.refuse_audit_change();

-- Command audit. The actor of a status change comes from the transaction-local setting
-- botmox.actor (set by transition_command); changes made by the system itself (claims,
-- expiry, a direct service-role update) are audited as 'system'. Actions follow the lifecycle:
-- command.queued on insert, then command.<status> on every status change. A command that goes
-- from dispatched straight to a final state (its result arrived before its acceptance) also
-- gets command.running, as in the SQLite store, so both backends write the same trail.
create function private.audit_command() returns trigger
  language plpgsql security definer set search_path = '' as $$
declare
  v_actor text := coalesce(nullif(current_setting('botmox.actor', true), ''), 'system');
begin
  if tg_op = 'INSERT' then
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
    values (new.tenant_id, new.actor, 'command.queued', 'command', new.id::text,
            jsonb_build_object('name', new.name, 'agent_id', new.agent_id, 'idempotency_key', new.idempotency_key));
    if new.status <> 'queued' then
      insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
      values (new.tenant_id, 'system', 'command.' || new.status, 'command', new.id::text, jsonb_build_object('name', new.name));
    end if;
    return null;
  end if;
  if old.status = 'dispatched' and new.status in ('succeeded', 'failed', 'cancelled') then
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
    values (new.tenant_id, v_actor, 'command.running', 'command', new.id::text, jsonb_build_object('name', new.name, 'implied', true));
  end if;
  insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
  values (new.tenant_id, v_actor, 'command.' || new.status, 'command', new.id::text,
          jsonb_strip_nulls(jsonb_build_object('name', new.name, 'from', old.status, 'error_code', new.error ->> 'code')));
  return null;
end;
$$;
create trigger commands_audit_insert after insert on public.commands
  for each row execute function private.audit_command();
create trigger commands_audit_status after update of status on public.commands
  for each row when (old.status is distinct from new.status) execute function private.audit_command();

-- ARCHITECTURE §8: the instance holding an agent's socket LISTENs and learns of new work,
-- cancels and revocations within milliseconds; delivered at commit, never for a rolled-back change.
create function private.notify_command() returns trigger
  language plpgsql set search_path = '' as $$
begin
  perform pg_notify('botmox_commands', json_build_object(
    'id', new.id, 'tenant_id', new.tenant_id, 'agent_id', new.agent_id, 'status', new.status,
    'cancel_requested', new.cancel_requested_at is not null)::text);
  return null;
end;
$$;
create trigger commands_notify_insert after insert on public.commands
  for each row execute function private.notify_command();
create trigger commands_notify_update after update of status, cancel_requested_at on public.commands
  for each row when (old.status is distinct from new.status or old.cancel_requested_at is distinct from new.cancel_requested_at)
  execute function private.notify_command();

-- Revocation is final: a late session update ("online", a new session id) cannot undo it.
create function private.keep_agent_revoked() returns trigger
  language plpgsql set search_path = '' as $$
begin
  new.status := 'revoked';
  new.revoked_at := old.revoked_at;
  new.session_id := null;
  new.connected_at := old.connected_at;
  return new;
end;
$$;
create trigger agents_revocation_is_final before update on public.agents
  for each row when (old.status = 'revoked') execute function private.keep_agent_revoked();

create function private.notify_agent_revoked() returns trigger
  language plpgsql set search_path = '' as $$
begin
  perform pg_notify('botmox_agents', json_build_object(
    'id', new.id, 'tenant_id', new.tenant_id, 'status', new.status, 'instance_id', old.instance_id)::text);
  return null;
end;
$$;
create trigger agents_notify_revoked after update of status on public.agents
  for each row when (old.status is distinct from new.status and new.status = 'revoked')
  execute function private.notify_agent_revoked();
