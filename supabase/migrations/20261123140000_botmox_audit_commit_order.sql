-- Audit ids in commit order within a tenant, so a reader paging with after_id never skips a row.
-- An identity value is taken at insert, not at commit: with two writers, the later id could
-- commit first, a reader would page past it, and the earlier row would then appear behind the
-- reader's cursor. Now each transaction that writes a tenant's audit rows holds that tenant's
-- audit lock (a transaction-level advisory lock) from its first audit row until it ends, and
-- takes its ids under the lock: the next writer of that tenant gets higher ids and cannot commit
-- first. Tenants do not wait for each other.
--
-- The ids come from a plain sequence assigned by the trigger: an identity column would take a
-- value before the trigger runs, and every id would be spent twice.
--
-- Not idempotent (create, no "or replace"): a second run fails at its first statement and,
-- being one transaction, changes nothing.

create function private.audit_in_commit_order() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  perform pg_advisory_xact_lock(hashtext('public.audit_log'), hashtext(new.tenant_id::text));
  new.id := nextval('public.audit_log_id_seq');
  return new;
end;
$$;

alter table public.audit_log alter column id drop identity;
create sequence public.audit_log_id_seq owned by public.audit_log.id;
revoke all on sequence public.audit_log_id_seq from public, anon, authenticated;
grant usage, select on sequence public.audit_log_id_seq to service_role;
select setval('public.audit_log_id_seq', coalesce((select max(id) from public.audit_log), 0) + 1, false);

create trigger audit_log_commit_order before insert on public.audit_log
  for each row execute function private.audit_in_commit_order();

-- A sweep writes audit rows of many tenants, taking their locks in whatever order its rows come;
-- two sweeps at once (two control plane instances) could each hold a lock the other needs. Only
-- one sweep runs at a time: another finds nothing to do and the next tick picks up the rest.
create or replace function public.expire_commands(p_now timestamptz default now(), p_limit integer default 500)
  returns setof jsonb
  language sql security definer set search_path = '' as $$
  with picked as materialized (
    select c.id, c.status from public.commands c
     where pg_try_advisory_xact_lock(hashtext('public.expire_commands'))
       and c.status in ('queued', 'dispatched') and c.expires_at <= p_now
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
