-- Row-level security and privileges.
--
-- Who is who (Supabase): `anon` (no JWT or the anon key), `authenticated` (a signed-in dashboard
-- user), `service_role` (the control plane; BYPASSRLS). Supabase's default privileges grant ALL
-- on every new table, sequence and function in `public` to all three, so this migration first
-- takes everything away from anon and authenticated, then gives members exactly this:
--   * SELECT on their tenants' rows, tenant = JWT app_metadata.tenant_id or a tenant_members row;
--   * never: api_keys.key_hash, pairings.code_hash, agents.public_key/session_id/instance_id,
--     agent_nonces (column and table privileges, checked before any policy);
--   * no INSERT, UPDATE or DELETE anywhere: the API (service role) and the SQL functions write.
-- RLS is enabled and forced on every table. Forcing subjects the table owner to the policies too,
-- unless it has BYPASSRLS, as Supabase's `postgres` (owner of these tables and of the SECURITY
-- DEFINER functions) does.
--
-- Not idempotent: `create policy` fails on a second run, which changes nothing. Applied once.

-- Tenants the signed-in user belongs to. SECURITY DEFINER so the policies can read
-- tenant_members without going through tenant_members' own policy (no recursion).
create function public.current_tenant_ids() returns setof uuid
  language sql stable security definer set search_path = '' as $$
  select claim.value::uuid
    from (select auth.jwt() -> 'app_metadata' ->> 'tenant_id' as value) as claim
   where claim.value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  union
  select m.tenant_id from public.tenant_members m where m.user_id = auth.uid()
$$;
revoke all on function public.current_tenant_ids() from public, anon;
grant execute on function public.current_tenant_ids() to authenticated, service_role;

do $$
declare
  t text;
begin
  foreach t in array array['tenants', 'tenant_members', 'api_keys', 'agents', 'pairings', 'agent_nonces',
                           'storage_policies', 'commands', 'audit_log', 'inventory', 'events', 'telemetry'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated, service_role', t);
    -- TRUNCATE skips row triggers and RLS: nobody through the API needs it.
    execute format('grant select, insert, update, delete on table public.%I to service_role', t);
  end loop;
end;
$$;
revoke all on all sequences in schema public from public, anon, authenticated;
grant usage, select on all sequences in schema public to service_role;
-- The service role keeps UPDATE and DELETE on audit_log on purpose: the append-only trigger then
-- refuses them with its own message (BMX10) instead of a bare "permission denied".

-- Member reads. `(select ...)` lets the planner evaluate the helper once per query.
create policy member_read on public.tenants for select to authenticated
  using (id in (select public.current_tenant_ids()));
do $$
declare
  t text;
begin
  foreach t in array array['tenant_members', 'api_keys', 'agents', 'pairings', 'storage_policies',
                           'commands', 'audit_log', 'inventory', 'events', 'telemetry'] loop
    execute format('create policy member_read on public.%I for select to authenticated '
                   'using (tenant_id in (select public.current_tenant_ids()))', t);
  end loop;
end;
$$;

grant select on table public.tenants, public.tenant_members, public.storage_policies, public.commands,
  public.audit_log, public.inventory, public.events, public.telemetry to authenticated;
-- Column lists: what a member may see of the tables that hold secrets or internals.
grant select (id, tenant_id, role, key_prefix, created_at, revoked_at) on table public.api_keys to authenticated;
grant select (id, tenant_id, expires_at, created_by, created_at, consumed_at, agent_id) on table public.pairings to authenticated;
grant select (id, tenant_id, name, hostname, version, platform, arch, capabilities, status, last_seen_at,
              connected_at, revoked_at, policy_version_applied, created_at) on table public.agents to authenticated;
-- agent_nonces: nothing for members (RLS on, no policy, no privilege).
