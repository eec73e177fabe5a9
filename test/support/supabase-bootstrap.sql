-- What a Supabase database has before any project migration, reduced to what ours rely on,
-- for a throwaway PostgreSQL 15 cluster (test/support/postgres.ts). Run once by the cluster's
-- superuser, `supabase_admin`, with psql variables postgres_password and authenticator_password.
-- As on Supabase:
--   * `postgres` is not a superuser: it owns the database and the project's objects, has
--     BYPASSRLS, and runs the migrations, the seed and the pgTAP tests;
--   * PostgREST logs in as `authenticator` (NOINHERIT) and switches to `anon`, `authenticated`
--     or `service_role` (BYPASSRLS) from the JWT's role claim;
--   * auth.uid(), auth.role() and auth.jwt() read the claims PostgREST puts in request.jwt.claims;
--   * default privileges grant ALL on new objects in `public` to anon, authenticated and
--     service_role, so every migration must take away what members must not have;
--   * extensions live in the `extensions` schema, on everyone's search_path.

create role postgres login createrole createdb replication bypassrls password :'postgres_password';
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit password :'authenticator_password';
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';

alter database postgres owner to postgres;
alter schema public owner to postgres;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;

create schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension pgcrypto with schema extensions;
create extension pgtap with schema extensions;
alter database postgres set search_path = "$user", public, extensions;

-- Supabase Auth's schema, the part the project's policies and foreign keys use.
create schema auth;
grant usage on schema auth to postgres, anon, authenticated, service_role;
create table auth.users (
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255) unique,
  raw_app_meta_data jsonb not null default '{}',
  raw_user_meta_data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
grant all on auth.users to postgres;
grant select on auth.users to service_role;

-- The same definitions as Supabase Auth's: the newer request.jwt.claims (a JSON object), with
-- the older request.jwt.claim.* settings still honoured.
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
grant execute on function auth.uid(), auth.role(), auth.jwt() to postgres, anon, authenticated, service_role;
