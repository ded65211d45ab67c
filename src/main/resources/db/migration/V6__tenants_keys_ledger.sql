-- Who calls Atelier and what it costs. Expand only: the columns and tables below are new, jobs keep
-- their text tenant column (now a tenant's id), so the previous version keeps running beside this one.

create table tenants (
    id                    text primary key,
    name                  text        not null unique,
    requests_per_minute   integer     check (requests_per_minute > 0),
    max_jobs_in_flight    integer     check (max_jobs_in_flight > 0),
    budget_usd_per_day    numeric(14, 4) check (budget_usd_per_day >= 0),
    budget_usd_per_month  numeric(14, 4) check (budget_usd_per_month >= 0),
    created_at            timestamptz not null,
    updated_at            timestamptz not null
);

-- The jobs made before tenants existed belonged to the one tenant there was.
insert into tenants (id, name, created_at, updated_at)
select distinct tenant, tenant, now(), now() from jobs on conflict do nothing;

-- A key is shown once; only its SHA-256 is kept (keys carry 192 random bits: no slow hash needed),
-- with a visible prefix to tell keys apart.
create table api_keys (
    id            uuid primary key,
    tenant_id     text        not null references tenants (id),
    name          text        not null,
    prefix        text        not null,
    hash          bytea       not null unique,
    scopes        text[]      not null,
    created_at    timestamptz not null,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
create index api_keys_tenant on api_keys (tenant_id, created_at);

-- Jobs in flight per tenant are counted at submit.
create index jobs_tenant_unfinished on jobs (tenant) where status in ('queued', 'running');
-- Which key submitted a job (usage by key).
alter table jobs add column api_key_id uuid;
-- What the job is expected to cost (reserved against the tenant's budget until it ends) and what it cost.
alter table jobs add column expected_cost_usd numeric(14, 8);
alter table jobs add column cost_usd numeric(14, 8);

-- Append-only: one row per fal call that may be billed, from fal's own figures.
create table ledger (
    id              bigserial primary key,
    tenant_id       text        not null,
    api_key_id      uuid,
    job_id          uuid,
    stage           text,
    model           text,
    endpoint        text        not null,
    fal_request_id  text,
    units           numeric(18, 6),
    unit            text,
    unit_price      numeric(18, 8),
    usd             numeric(14, 8) not null,
    price_read_at   timestamptz,
    may_be_billed   boolean     not null default false,
    created_at      timestamptz not null
);
create index ledger_tenant_time on ledger (tenant_id, created_at);
create index ledger_job on ledger (job_id);

-- What a tenant spent per UTC day and month, added to by the statement that ends each job. A budget
-- check adds the expected cost of the tenant's unfinished jobs (their reservation, until they end).
create table tenant_spend (
    tenant_id  text           not null,
    period     text           not null, -- 'day:2026-12-01' or 'month:2026-12'
    spent_usd  numeric(14, 8) not null default 0,
    primary key (tenant_id, period)
);
