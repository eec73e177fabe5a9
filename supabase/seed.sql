-- A demo tenant for local development; nothing sensitive.
insert into public.tenants (id, name) values ('00000000-0000-4000-8000-00000000d3e0', 'Demo')
on conflict (id) do nothing;
insert into public.storage_policies (tenant_id, operational, sync_enabled, updated_at, updated_by)
values ('00000000-0000-4000-8000-00000000d3e0', 'cloud', false, now(), 'seed')
on conflict (tenant_id) do nothing;
