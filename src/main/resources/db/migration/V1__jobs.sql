-- Jobs are the source of truth: Redis only mirrors live progress, S3 holds the files.
create table jobs (
    id              uuid primary key,
    tenant          text        not null,
    model           text        not null,
    status          text        not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    stage           text,
    progress        integer     not null default 0 check (progress between 0 and 100),
    prompt          text,
    params          jsonb       not null default '{}',
    inputs          jsonb       not null default '{"items": []}',
    outputs         jsonb       not null default '{"items": []}',
    fal_endpoint    text,
    fal_request_id  text,
    fal_step        integer     not null default 0,
    error_code      text,
    error_message   text,
    source          text        not null default 'api',
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    started_at      timestamptz,
    finished_at     timestamptz
);

-- Listing: newest first per tenant, keyset paging on (created_at, id).
create index jobs_tenant_created on jobs (tenant, created_at desc, id desc);
-- Resuming after a restart: only unfinished jobs.
create index jobs_unfinished on jobs (created_at) where status in ('queued', 'running');
