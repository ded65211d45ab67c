-- Expand only: an index and a table the previous version neither reads nor writes.

-- Tenant names are told apart without regard to case: "Shop-A" and "shop-a" would be one customer to a
-- person reading a dashboard or an invoice. (Fails if two existing names differ only in case: rename one first.)
create unique index tenants_name_lower on tenants (lower(name));

-- Money held against a tenant's budgets by a call made outside a job (the LLM routes) while it runs, so that
-- parallel calls cannot all take the last dollar; the call's ledger row replaces it when fal answers. A hold
-- whose instance died mid-call stops counting at expires_at.
create table spend_holds (
    id          uuid primary key,
    tenant_id   text           not null,
    usd         numeric(14, 8) not null,
    created_at  timestamptz    not null,
    expires_at  timestamptz    not null
);
create index spend_holds_tenant on spend_holds (tenant_id, expires_at);
