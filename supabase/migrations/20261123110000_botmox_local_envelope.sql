-- A "local" tenant's finished command keeps its envelope only (the storage policy), whatever ended
-- it: the agent's outcome, a cancel, expiry or revocation. Its params go when it becomes final.
--
-- Not idempotent (create function/trigger, no "or replace"): a second run fails at its first
-- statement and changes nothing.

create function private.keep_local_command_envelope() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  if exists (select 1 from public.storage_policies p where p.tenant_id = new.tenant_id and p.operational = 'local') then
    new.params := null;
  end if;
  return new;
end;
$$;
revoke all on function private.keep_local_command_envelope() from public;

create trigger commands_local_envelope before update of status on public.commands
  for each row when (new.params is not null and new.status in ('succeeded', 'failed', 'cancelled', 'expired'))
  execute function private.keep_local_command_envelope();
