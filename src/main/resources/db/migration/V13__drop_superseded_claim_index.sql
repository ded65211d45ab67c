-- jobs_claimable (V2) is superseded by jobs_claimable_released (V11): the claim names the released condition and its
-- plan uses that index (BatchesTest checks it), and no other query orders unfinished jobs by (priority, created_at).
-- Every change of a job's status or lease is a non-HOT update (both columns are in index predicates), so each index
-- that holds a queued or running job gets a new entry per transition: one index fewer is one write fewer on each of
-- a job's three statements. The previous version (V11 on) does not use it either, so a rolling upgrade is unaffected.
drop index if exists jobs_claimable;
