-- Local development data (supabase db reset applies it after the migrations): one demo tenant,
-- nothing sensitive. Its storage policy row (cloud, sync off) comes with it; said here as well so
-- the seed reads as the state it leaves.
insert into public.tenants (id, name) values ('00000000-0000-4000-8000-00000000d3e0', 'Demo')
on conflict (id) do nothing;
insert into public.storage_policies (tenant_id, operational, sync_enabled, updated_by)
values ('00000000-0000-4000-8000-00000000d3e0', 'cloud', false, 'seed')
on conflict (tenant_id) do update set operational = excluded.operational, sync_enabled = excluded.sync_enabled, updated_by = excluded.updated_by;
