-- Issue 4: the categorise and prompt stages become real, product shoots and LLM completions become jobs.

-- What kind of work the job is: one generation, a product shoot (several styles), or an LLM completion.
alter table jobs add column kind text not null default 'generate' check (kind in ('generate', 'product_shoot', 'llm'));
-- What the request asked of the stages: categorise, prompt mode, style(s), vision and prompt models.
alter table jobs add column options jsonb not null default '{}';
-- The nine categories the vision model found (seed 002), kept when a later stage fails.
alter table jobs add column categories jsonb;
-- The prompt fal received, written by the prompt stage; a retried job reuses it.
alter table jobs add column final_prompt text;
-- Per stage: status, started_at, duration_ms, cost_usd, model, fal request id, error. Merged with ||, never rewritten.
alter table jobs add column stages jsonb not null default '{}';
-- A product shoot's styles: prompt, fal request id, output, error for each.
alter table jobs add column shoot jsonb;
-- An LLM completion's answer: output, usage, cost.
alter table jobs add column result jsonb;
-- Which of the request's photos became the init image (seed 004's rule) and why.
alter table jobs add column init_image jsonb;
-- How many times a client retried the job after it failed.
alter table jobs add column retries integer not null default 0;
