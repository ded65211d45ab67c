-- The trace a job belongs to (W3C traceparent of the request that submitted it), so a run on any
-- instance, after a crash or a webhook, continues the same trace. Expand only: a nullable column the
-- previous version neither reads nor writes, so both versions run side by side during a rollout.
alter table jobs add column trace_parent text;
