-- Webhooks to clients: the job says where and for which events; each event to send is a delivery,
-- claimed by any instance (SKIP LOCKED) and retried with backoff; every attempt is kept.
alter table jobs add column webhook_url    text;
alter table jobs add column webhook_events text; -- comma-separated: queued,started,completed,failed,cancelled

create table webhook_deliveries (
    id              uuid primary key,
    job_id          uuid        not null references jobs (id) on delete cascade,
    event_type      text        not null,
    payload         text        not null,
    status          text        not null check (status in ('pending', 'delivered', 'failed')),
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null,
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz not null,
    delivered_at    timestamptz
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_job on webhook_deliveries (job_id, created_at);

create table webhook_attempts (
    id           bigserial primary key,
    delivery_id  uuid        not null references webhook_deliveries (id) on delete cascade,
    attempted_at timestamptz not null,
    status_code  integer,
    error        text,
    duration_ms  integer     not null
);
create index webhook_attempts_delivery on webhook_attempts (delivery_id, attempted_at);
