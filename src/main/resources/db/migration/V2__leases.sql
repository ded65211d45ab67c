-- Durable execution: workers claim jobs with a lease (FOR UPDATE SKIP LOCKED), renew it while they
-- work, and any instance may take over a job whose lease ran out.
alter table jobs add column priority     smallint    not null default 1 check (priority between 0 and 2); -- 0 high, 1 normal, 2 low
alter table jobs add column lease_owner  text;
alter table jobs add column lease_until  timestamptz;
alter table jobs add column claims       integer     not null default 0;

drop index jobs_unfinished;
-- Claiming: unfinished jobs in priority, then arrival order.
create index jobs_claimable on jobs (priority, created_at) where status in ('queued', 'running');
