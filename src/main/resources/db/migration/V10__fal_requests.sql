-- Expand only: one column the previous version neither reads nor writes.
-- Every request a job makes at fal, by place (stage, step, style): {"infer/0": {"stage", "step", "endpoint",
-- "request_id", "state", "submitted_at"}, "shoot/2/1": {...}}. The one home of a job's fal request ids; rows the
-- previous version wrote have null here, and keep their ids where it put them (read the same way until a later
-- release contracts fal_request_id, fal_endpoint and fal_step away).
alter table jobs add column fal_requests jsonb;
