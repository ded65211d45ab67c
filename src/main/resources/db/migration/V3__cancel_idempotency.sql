-- Cancellation: when it was asked for, why, and what fal answered (removed from its queue, or
-- asked to stop a running request, which may be billed).
alter table jobs add column cancel_requested_at timestamptz;
alter table jobs add column fal_cancel_status   text;
alter table jobs add column may_be_billed       boolean;
-- A job may carry its own deadline; past it, it cancels itself.
alter table jobs add column deadline_at         timestamptz;
-- Idempotency-Key: one job per (tenant, key); the request hash tells a retry from a different request.
alter table jobs add column idempotency_key     text;
alter table jobs add column request_hash        text;

create unique index jobs_idempotency on jobs (tenant, idempotency_key) where idempotency_key is not null;
create index jobs_deadline on jobs (deadline_at) where deadline_at is not null and status in ('queued', 'running');
