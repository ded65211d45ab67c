-- Batches (issue 24): thousands of job requests accepted as one. Expand only: a new table and nullable columns the
-- previous version neither reads nor writes; its claim query never picks a held item (see lease_until below).

create table batches (
    id                uuid primary key,
    tenant_id         text           not null,
    api_key_id        uuid,
    -- in_progress → completed, or cancelling → cancelled | expired (end_status says which)
    status            text           not null check (status in ('in_progress', 'completed', 'cancelling', 'cancelled', 'expired')),
    end_status        text           check (end_status in ('cancelled', 'expired')),
    total             integer        not null,
    expected_cost_usd numeric(14, 8) not null default 0,
    metadata          jsonb          not null default '{}',
    webhook_url       text,
    created_at        timestamptz    not null,
    expires_at        timestamptz,
    cancelled_at      timestamptz,
    ended_at          timestamptz
);
-- Listing: newest first per tenant, keyset paging on (created_at, id).
create index batches_tenant_created on batches (tenant_id, created_at desc, id desc);
-- The feeder's rounds: only batches not ended.
create index batches_open on batches (created_at) where status in ('in_progress', 'cancelling');

-- A job made by a batch: its batch, the client's id for it (unique in the batch), its place in the request.
alter table jobs add column batch_id    uuid;
alter table jobs add column custom_id   text;
alter table jobs add column batch_index integer;
-- Claim order: 3 is below low, for batch items only.
alter table jobs drop constraint if exists jobs_priority_check;
alter table jobs add constraint jobs_priority_check check (priority between 0 and 3);

create unique index jobs_batch_items on jobs (batch_id, batch_index) where batch_id is not null;
create unique index jobs_batch_custom on jobs (batch_id, custom_id) where batch_id is not null;
-- request_counts and "has the batch ended": one grouped read over a batch's unfinished items.
create index jobs_batch_unfinished on jobs (batch_id) where batch_id is not null and status in ('queued', 'running');
-- A batch item waits held (lease_until = 'infinity': no claim ever picks it) until the feeder releases it into its
-- tenant's batch share; these are the items waiting, in arrival order per tenant.
create index jobs_batch_held on jobs (tenant, created_at, batch_index)
    where batch_id is not null and status = 'queued' and lease_until = 'infinity';
-- A tenant's batch items released and not ended: what its batch share holds now.
create index jobs_batch_released on jobs (tenant)
    where batch_id is not null and status in ('queued', 'running') and (lease_until is null or lease_until < 'infinity');
-- The claim skips held items by its index: they are not in it (the claim names the same condition).
create index jobs_claimable_released on jobs (priority, created_at)
    where status in ('queued', 'running') and (lease_until is null or lease_until < 'infinity');

-- A tenant's batch share: how many of its batch items may be released (queued to run, or running) at once.
-- Null: atelier.batches.max-running.
alter table tenants add column batch_max_running integer check (batch_max_running > 0);

-- batch.completed is a delivery of a batch, not of a job: the outbox row names one or the other.
alter table webhook_deliveries alter column job_id drop not null;
alter table webhook_deliveries add column batch_id uuid references batches (id) on delete cascade;
