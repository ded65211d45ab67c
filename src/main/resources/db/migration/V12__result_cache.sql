-- Expand only: new tables and nullable columns the previous version neither reads nor writes.

-- The result cache: one row per (tenant, key) of one fal call (key = sha256 of the tenant, the fal endpoint and the
-- canonical payload with each input image's URL replaced by the sha256 of its bytes). A row is 'pending' while the job
-- that owns it calls fal (its lease bounds how long others wait for a dead owner), 'ready' once its outputs are copied
-- under the cache's own S3 prefix (cache/<tenant>/<key>/...), which no job's retention or discard touches.
create table result_cache (
    tenant_id       text        not null,
    key             text        not null,
    endpoint        text        not null,
    model           text,
    state           text        not null check (state in ('pending', 'ready')),
    owner_job       uuid,
    lease_until     timestamptz not null,
    files           jsonb,
    cost_usd        numeric(14, 8),
    fal_request_id  text,
    created_at      timestamptz not null,
    ready_at        timestamptz,
    primary key (tenant_id, key)
);
create index result_cache_owner on result_cache (owner_job) where state = 'pending';

-- What a cache hit saved: what fal charged the call whose result it served (the ledger row itself is $0).
alter table ledger add column saved_usd numeric(14, 8);

-- Per tenant: the cache on or off (null: the service's default, atelier.cache.enabled), and the default max age of an
-- entry it may be served from (null: atelier.cache.max-age).
alter table tenants add column cache_enabled boolean;
alter table tenants add column cache_max_age_seconds bigint;
