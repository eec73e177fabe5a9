-- Bot-Mox control plane schema: tables, indexes, append-only audit, row-level security.
-- Not idempotent: applied once, in order, like every migration the Supabase CLI runs.

create extension if not exists pgcrypto;

create table public.tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

create table public.tenant_members (
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  user_id uuid not null references auth.users(id) on delete cascade,
  role text not null check (role in ('admin', 'operator', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id)
);
create index tenant_members_user on public.tenant_members(user_id);

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  role text not null check (role in ('admin', 'operator', 'viewer')),
  key_hash text not null unique,
  key_prefix text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table public.agents (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  name text,
  public_key text not null,
  status text not null default 'offline' check (status in ('online', 'offline', 'revoked')),
  hostname text,
  version text,
  platform text,
  arch text,
  capabilities jsonb not null default '[]',
  last_seen_at timestamptz,
  connected_at timestamptz,
  session_id text,
  instance_id text,
  revoked_at timestamptz,
  policy_version_applied bigint,
  created_at timestamptz not null default now()
);
create index agents_tenant on public.agents(tenant_id, created_at);

create table public.pairings (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  code_hash text not null unique,
  expires_at timestamptz not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  consumed_at timestamptz,
  agent_id uuid references public.agents(id) on delete set null
);

create table public.agent_nonces (
  agent_id uuid not null references public.agents(id) on delete cascade,
  nonce text not null,
  expires_at timestamptz not null,
  primary key (agent_id, nonce)
);

create table public.storage_policies (
  tenant_id uuid primary key references public.tenants(id) on delete cascade,
  operational text not null default 'cloud' check (operational in ('cloud', 'local')),
  sync_enabled boolean not null default false,
  updated_at timestamptz not null default now(),
  updated_by text
);

create table public.commands (
  id uuid primary key,
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  agent_id uuid not null references public.agents(id) on delete cascade,
  name text not null,
  params jsonb,
  status text not null check (status in ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
  result jsonb,
  error jsonb,
  actor text not null,
  last_actor text not null default 'system',
  idempotency_key text,
  request_hash text,
  timeout_ms integer not null,
  created_at timestamptz not null default now(),
  dispatched_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  expires_at timestamptz not null,
  cancel_requested_at timestamptz,
  attempts integer not null default 0,
  unique (tenant_id, idempotency_key)
);
create index commands_queued on public.commands(agent_id, created_at) where status = 'queued';
create index commands_in_flight on public.commands(agent_id, created_at) where status in ('dispatched', 'running');
create index commands_expiry on public.commands(expires_at) where status in ('queued', 'dispatched');
create index commands_listing on public.commands(tenant_id, agent_id, created_at desc);

create table public.audit_log (
  id bigint generated always as identity primary key,
  tenant_id uuid not null,
  actor text not null,
  action text not null,
  target_type text not null,
  target_id text,
  details jsonb,
  created_at timestamptz not null default now()
);
create index audit_tenant on public.audit_log(tenant_id, id);

create table public.inventory (
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  agent_id uuid not null references public.agents(id) on delete cascade,
  kind text not null,
  target text not null,
  key text not null,
  data jsonb not null,
  collected_at timestamptz not null,
  primary key (agent_id, kind, target, key)
);
create index inventory_tenant on public.inventory(tenant_id, agent_id);

create table public.events (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  agent_id uuid not null references public.agents(id) on delete cascade,
  source text not null,
  target text not null,
  type text not null,
  data jsonb not null,
  created_at timestamptz not null default now()
);
create index events_tenant on public.events(tenant_id, id);

create table public.telemetry (
  agent_id uuid primary key references public.agents(id) on delete cascade,
  tenant_id uuid not null references public.tenants(id) on delete cascade,
  data jsonb not null,
  updated_at timestamptz not null
);

-- The audit log is append-only for everyone, service role and owner included.
create function public.refuse_audit_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'BMX10';
end;
$$;
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function public.refuse_audit_change();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function public.refuse_audit_change();

-- Every command state change is audited by the database, in the same statement.
create function public.audit_command_change() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
    values (new.tenant_id, new.actor, 'command.queued', 'command', new.id::text, jsonb_build_object('name', new.name, 'agent_id', new.agent_id), new.created_at);
    if new.status = 'dispatched' then
      insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details, created_at)
      values (new.tenant_id, 'system', 'command.dispatched', 'command', new.id::text, jsonb_build_object('name', new.name), new.created_at);
    end if;
  elsif new.status is distinct from old.status then
    if old.status = 'dispatched' and new.status in ('succeeded', 'failed', 'cancelled') then
      insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
      values (new.tenant_id, new.last_actor, 'command.running', 'command', new.id::text, jsonb_build_object('name', new.name));
    end if;
    insert into public.audit_log (tenant_id, actor, action, target_type, target_id, details)
    values (new.tenant_id, new.last_actor, 'command.' || new.status, 'command', new.id::text,
            jsonb_strip_nulls(jsonb_build_object('name', new.name, 'error_code', new.error ->> 'code')));
  end if;
  return null;
end;
$$;
create trigger commands_audit after insert or update of status on public.commands
  for each row execute function public.audit_command_change();

-- Tenants the signed-in user belongs to: the JWT's app_metadata.tenant_id, or tenant_members rows.
-- SECURITY DEFINER so policies can use it without recursing through tenant_members' own policy.
create function public.current_tenant_ids() returns setof uuid
  language sql stable security definer set search_path = public, pg_temp as $$
  select nullif(auth.jwt() -> 'app_metadata' ->> 'tenant_id', '')::uuid
  where nullif(auth.jwt() -> 'app_metadata' ->> 'tenant_id', '') is not null
  union
  select tenant_id from public.tenant_members where user_id = auth.uid()
$$;
revoke all on function public.current_tenant_ids() from public;
grant execute on function public.current_tenant_ids() to authenticated;

-- Row-level security: members read their tenant's rows; nobody but the service role writes.
do $$
declare
  t text;
begin
  foreach t in array array['tenants', 'tenant_members', 'api_keys', 'agents', 'pairings', 'agent_nonces', 'storage_policies',
                           'commands', 'audit_log', 'inventory', 'events', 'telemetry'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
  foreach t in array array['tenant_members', 'agents', 'storage_policies', 'commands', 'audit_log', 'inventory', 'events', 'telemetry'] loop
    execute format('grant select on public.%I to authenticated', t);
    execute format('create policy member_read on public.%I for select to authenticated using (tenant_id in (select public.current_tenant_ids()))', t);
  end loop;
end;
$$;
grant select on public.tenants to authenticated;
create policy member_read on public.tenants for select to authenticated using (id in (select public.current_tenant_ids()));
-- The agent's public key is not a secret, but members have no use for it either.
revoke select on public.agents from authenticated;
grant select (id, tenant_id, name, status, hostname, version, platform, arch, capabilities, last_seen_at, connected_at, revoked_at, policy_version_applied, created_at)
  on public.agents to authenticated;
