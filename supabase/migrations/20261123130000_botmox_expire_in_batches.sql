-- PostgREST cuts every answer at max_rows (1,000 on Supabase): a sweep that expired more commands
-- than it could return left the rest expired but unannounced (no event, waiters not woken). The
-- sweep now ends at most p_limit commands, oldest deadline first; the control plane calls it
-- again while a call comes back full.
--
-- Not idempotent (create, no "or replace"): a second run fails at `create function
-- public.expire_commands` and, being one transaction, changes nothing.
--
-- Projects whose first migrations ran before they defined private.grant_to_service_role_only
-- never got it, and this file failed there at its last statement: it is (re)created first.
-- Projects that applied this file already do not run it again, so they see no change.
create or replace function private.grant_to_service_role_only(variadic p_signatures text[]) returns void
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

create function public.expire_commands(p_now timestamptz default now(), p_limit integer default 500)
  returns setof jsonb
  language sql security definer set search_path = '' as $$
  with picked as materialized (
    select c.id, c.status from public.commands c
     where c.status in ('queued', 'dispatched') and c.expires_at <= p_now
     order by c.expires_at, c.id
     limit greatest(p_limit, 0)
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

select private.grant_to_service_role_only('expire_commands(timestamptz, integer)');

drop function public.expire_commands(timestamptz);
