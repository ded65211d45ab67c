-- Webhooks per tenant: each tenant signs its deliveries with its own secret, and a job's deliveries carry a
-- sequence and go out in its order. Expand only: the previous version neither reads nor writes the new table
-- and column, and keeps signing with the one secret it was given while both run.

-- A signing secret must be usable to sign, so it cannot be only hashed: it is kept encrypted under the key in
-- ATELIER_WEBHOOKS_ENCRYPTION_KEY (AES-256-GCM: a 12-byte nonce, then the ciphertext and its 16-byte tag; the
-- associated data is '<tenant id>/<secret id>', so a row moved to another tenant or id does not decrypt).
create table webhook_secrets (
    id          uuid primary key,
    tenant_id   text        not null references tenants (id),
    ciphertext  bytea       not null,
    created_at  timestamptz not null,
    expires_at  timestamptz -- null: the current secret; else a rotated-out one, which still signs until then
);
-- one current secret per tenant: two rotations at once cannot both leave one
create unique index webhook_secrets_current on webhook_secrets (tenant_id) where expires_at is null;

-- The job's n-th event (1, 2, …), also in the payload as data.sequence. Null on deliveries queued before this
-- version, which keep no order among themselves (as before).
alter table webhook_deliveries add column sequence integer;
-- a job's next delivery waits for its earlier pending ones: found by this
create index webhook_deliveries_pending_job on webhook_deliveries (job_id, sequence) where status = 'pending';

-- A delivered or given-up delivery has no next attempt: it is null from now on (older rows are shown so).
alter table webhook_deliveries alter column next_attempt_at drop not null;
