-- A "local" tenant's finished command keeps its envelope only. Commands that ended before
-- 20261123110000 by a cancel or expiry (the agent's outcomes dropped them already) still hold
-- their params: they go now. Running it again changes nothing.
update public.commands c
   set params = null
 where c.params is not null
   and c.status in ('succeeded', 'failed', 'cancelled', 'expired')
   and exists (select 1 from public.storage_policies p where p.tenant_id = c.tenant_id and p.operational = 'local');
