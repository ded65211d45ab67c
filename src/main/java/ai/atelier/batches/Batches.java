package ai.atelier.batches;

import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Tenants;
import ai.atelier.config.AtelierConfig;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobFiles;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.Priority;
import ai.atelier.jobs.ShootStyles;
import ai.atelier.jobs.rest.SubmitJobRequest;
import ai.atelier.jobs.submit.Submission;
import ai.atelier.jobs.submit.SubmitRules;
import ai.atelier.models.ModelStrategy;
import ai.atelier.net.UrlGuard;
import ai.atelier.problem.Problem;
import ai.atelier.telemetry.Traces;
import ai.atelier.usage.Budgets;
import ai.atelier.usage.Quotes;
import ai.atelier.webhooks.WebhookEvent;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Accepting a batch: every item checked by the rules of a submit before anything is stored (one bad item refuses the
 * batch with a 422 that lists each), data-URL images stored (http(s) ones only checked against the URL guard: the item's
 * run fetches them), the whole batch quoted and reserved against the tenant's budgets at once, and every row committed
 * in one transaction. Its items then wait held until the feeder ({@link BatchFeeder}) releases them into the tenant's
 * batch share.
 */
@Singleton
public class Batches {

    /** How many bad items a refusal lists (it says how many there were in all). */
    static final int MAX_LISTED_ERRORS = 100;
    /** Items whose data-URL images are stored at the same time. */
    private static final int INGEST_CONCURRENCY = 8;
    private static final int MAX_CUSTOM_ID = 64;
    private static final int MAX_DEADLINE_SECONDS = 7 * 86_400;

    /** One bad item of a refused batch. */
    public record ItemError(int index, String customId, String type, String detail) {
    }

    private final SubmitRules rules;
    private final Ingest ingest;
    private final UrlGuard guard;
    private final Webhooks webhooks;
    private final Quotes quotes;
    private final Tenants tenants;
    private final BatchRepository batches;
    private final Traces traces;
    private final ObjectMapper json;
    private final AtelierConfig.Batches config;
    private final ai.atelier.cache.ResultCache cache;

    public Batches(SubmitRules rules, Ingest ingest, UrlGuard guard, Webhooks webhooks, Quotes quotes, Tenants tenants, BatchRepository batches,
            Traces traces, ObjectMapper json, AtelierConfig config, ai.atelier.cache.ResultCache cache) {
        this.cache = cache;
        this.rules = rules;
        this.ingest = ingest;
        this.guard = guard;
        this.webhooks = webhooks;
        this.quotes = quotes;
        this.tenants = tenants;
        this.batches = batches;
        this.traces = traces;
        this.json = json;
        this.config = config.batches();
    }

    /** An item as checked: what its job is made of but its stored files, or why it is refused. */
    private static final class Item {
        final int index;
        /** Drawn when first needed: the keys of its stored inputs name it. */
        UUID jobId;
        String customId;
        BatchItem raw;
        Submission submission;
        SubmitRules.Checked checked;
        ai.atelier.cache.CacheSpec.Asked cacheAsked;
        List<Ingest.Source> images = List.of();
        boolean deferred;
        List<JobFile> stored = List.of();
        Webhooks.Spec webhook;
        BigDecimal quote;
        ItemError error;

        Item(int index) {
            this.index = index;
        }

        void refuse(Problem p) {
            if (error == null) {
                error = new ItemError(index, customId, "/problems/" + p.slug(), p.getMessage());
            }
        }
    }

    /**
     * Accepts a batch, all or nothing.
     *
     * @param requests the items as the client sent them (JSON objects, parsed here one by one so a bad one is named)
     * @param webhook  where to POST batch.completed, or null
     */
    public Uni<BatchView> accept(Caller caller, List<JsonNode> requests, Map<String, Object> metadata, Webhooks.Spec webhook, Integer deadlineSeconds) {
        if (requests == null || requests.isEmpty()) {
            throw Problem.invalid("empty-batch", "Empty batch", "A batch needs at least one request").with("field", "requests");
        }
        if (requests.size() > config.maxItems()) {
            throw Problem.invalid("too-many-items", "Too many requests", "A batch takes at most " + config.maxItems() + " requests; this one has "
                    + requests.size()).with("max_items", config.maxItems());
        }
        Map<String, Object> meta = checkMetadata(metadata);
        if (deadlineSeconds != null && (deadlineSeconds < 60 || deadlineSeconds > MAX_DEADLINE_SECONDS)) {
            throw Problem.invalid("invalid-deadline", "Invalid deadline", "A batch's deadline_seconds must be from 60 to " + MAX_DEADLINE_SECONDS)
                    .with("field", "deadline_seconds");
        }
        String tenant = caller.tenantId();
        String traceparent = traces.traceparent();
        List<Item> items = check(requests);
        return checkBatchWebhook(tenant, webhook)
                .chain(batchHook -> checkUrls(tenant, items)
                        .chain(() -> refuseIfBad(items))
                        .chain(() -> storeDataUrls(tenant, items))
                        .chain(() -> refuseIfBadAfterStoring(items))
                        .chain(() -> quote(items))
                        .chain(total -> commit(caller, traceparent, items, meta, batchHook, deadlineSeconds, total)
                                .onFailure().call(e -> discard(items))));
    }

    // ---- checks -------------------------------------------------------------------------------------------

    private Map<String, Object> checkMetadata(Map<String, Object> metadata) {
        if (metadata == null) {
            return Map.of();
        }
        try {
            int bytes = json.writeValueAsString(metadata).getBytes(StandardCharsets.UTF_8).length;
            if (bytes > config.maxMetadataBytes()) {
                throw Problem.invalid("metadata-too-large", "Metadata too large", "A batch's metadata may take " + config.maxMetadataBytes()
                        + " bytes as JSON; this one takes " + bytes).with("field", "metadata");
            }
        } catch (JsonProcessingException e) {
            throw Problem.invalid("invalid-metadata", "Invalid metadata", "metadata must be a JSON object").with("field", "metadata");
        }
        return metadata;
    }

    /** The rules every item meets by itself, synchronously: its shape, custom_id, and everything a submit checks before storing. */
    private List<Item> check(List<JsonNode> requests) {
        List<Item> items = new ArrayList<>(requests.size());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < requests.size(); i++) {
            Item item = new Item(i);
            items.add(item);
            JsonNode node = requests.get(i);
            if (node != null && node.isObject() && node.get("custom_id") != null && node.get("custom_id").isTextual()) {
                item.customId = node.get("custom_id").asText();
            }
            try {
                if (node == null || !node.isObject()) {
                    throw Problem.invalid("invalid-item", "Invalid request", "Each request is a JSON object");
                }
                try {
                    item.raw = json.treeToValue(node, BatchItem.class);
                } catch (JsonProcessingException | IllegalArgumentException e) {
                    throw Problem.invalid("invalid-item", "Invalid request", "Not a job request: " + shortMessage(e));
                }
                String id = item.raw.customId() == null ? "" : item.raw.customId().strip();
                if (id.isEmpty() || id.length() > MAX_CUSTOM_ID) {
                    throw Problem.invalid("invalid-custom-id", "Invalid custom_id", "custom_id is required: 1 to " + MAX_CUSTOM_ID + " characters");
                }
                item.customId = id;
                if (!ids.add(id)) {
                    throw Problem.invalid("duplicate-custom-id", "Duplicate custom_id", "custom_id '" + id + "' is given to more than one request");
                }
                if (Boolean.TRUE.equals(item.raw.dryRun())) {
                    throw Problem.invalid("dry-run-in-batch", "dry_run in a batch", "A batch item cannot be a dry run; quote it with POST /v1/jobs");
                }
                SubmitJobRequest r = item.raw.request();
                item.submission = new Submission(r.model(), r.prompt(), r.images(), r.params(), "api", null, r.deadlineSeconds(), null,
                        r.webhook(), r.stages(), item.raw.styles());
                item.checked = rules.check(item.submission);
                item.cacheAsked = ai.atelier.cache.CacheSpec.check(item.raw.cache());
                item.images = SubmitRules.initFirst(item.submission.images(), item.checked.init());
                item.deferred = item.images.stream().anyMatch(s -> !isDataUrl(s.url()));
            } catch (Problem p) {
                item.refuse(p);
            }
        }
        return items;
    }

    private static String shortMessage(Exception e) {
        String m = String.valueOf(e.getMessage());
        int cut = m.indexOf('\n');
        return (cut > 0 ? m.substring(0, cut) : m).replaceAll(" \\(class [^)]*\\)", "");
    }

    private static boolean isDataUrl(String url) {
        return url != null && url.strip().regionMatches(true, 0, "data:", 0, 5);
    }

    /** batch.completed's webhook: a URL, no events but that one, and the tenant's signing secret (as an item's webhook needs). */
    private Uni<Webhooks.Spec> checkBatchWebhook(String tenant, Webhooks.Spec spec) {
        if (spec == null) {
            return Uni.createFrom().nullItem();
        }
        if (spec.events() != null && spec.events().stream().anyMatch(e -> !"batch.completed".equals(e))) {
            return Uni.createFrom().failure(Problem.invalid("invalid-webhook-event", "Invalid webhook event",
                    "A batch's webhook sends batch.completed only; ask for an item's own events in its request").with("field", "webhook.events"));
        }
        return webhooks.check(tenant, new Webhooks.Spec(spec.url(), List.of("completed")));
    }

    /**
     * The items' http(s) image URLs against the URL guard (one check per host, not one per URL: no fetch, at most a DNS
     * lookup each), and their webhooks (one check per distinct webhook).
     */
    private Uni<Void> checkUrls(String tenant, List<Item> items) {
        Map<String, String> byHost = new LinkedHashMap<>();
        Map<Webhooks.Spec, List<Item>> hooks = new LinkedHashMap<>();
        for (Item item : items) {
            if (item.error != null) {
                continue;
            }
            for (Ingest.Source s : item.images) {
                if (!isDataUrl(s.url())) {
                    byHost.putIfAbsent(origin(s.url()), s.url());
                }
            }
            if (item.submission.webhook() != null) {
                hooks.computeIfAbsent(item.submission.webhook(), k -> new ArrayList<>()).add(item);
            }
        }
        Map<String, Problem> refusedHosts = new ConcurrentHashMap<>();
        Uni<Void> hosts = Multi.createFrom().iterable(byHost.entrySet())
                .onItem().transformToUni(e -> guard.check(e.getValue(), "image-url").replaceWithVoid()
                        .onFailure(Problem.class).recoverWithItem(x -> {
                            refusedHosts.put(e.getKey(), (Problem) x);
                            return null;
                        }))
                .merge(INGEST_CONCURRENCY).collect().last().replaceWithVoid();
        Uni<Void> checkedHooks = Multi.createFrom().iterable(hooks.entrySet())
                .onItem().transformToUni(e -> webhooks.check(tenant, e.getKey())
                        .invoke(spec -> e.getValue().forEach(i -> i.webhook = spec))
                        .replaceWithVoid()
                        .onFailure(Problem.class).recoverWithItem(x -> {
                            e.getValue().forEach(i -> i.refuse((Problem) x));
                            return null;
                        }))
                .merge(INGEST_CONCURRENCY).collect().last().replaceWithVoid();
        return hosts.chain(() -> checkedHooks).invoke(() -> {
            for (Item item : items) {
                if (item.error == null) {
                    item.images.stream().filter(s -> !isDataUrl(s.url())).map(s -> refusedHosts.get(origin(s.url()))).filter(p -> p != null)
                            .findFirst().ifPresent(item::refuse);
                }
            }
        });
    }

    /** scheme://host:port of a URL, or the URL itself when it has none (the guard then refuses it, once). */
    private static String origin(String url) {
        try {
            URI u = URI.create(url == null ? "" : url.strip());
            return (u.getScheme() + "://" + u.getRawAuthority()).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return String.valueOf(url);
        }
    }

    private static Uni<Void> refuseIfBad(List<Item> items) {
        List<ItemError> errors = items.stream().filter(i -> i.error != null).map(i -> i.error).toList();
        if (errors.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Uni.createFrom().failure(refusal(errors, items.size()));
    }

    private Uni<Void> refuseIfBadAfterStoring(List<Item> items) {
        if (items.stream().allMatch(i -> i.error == null)) {
            return Uni.createFrom().voidItem();
        }
        return discard(items).chain(() -> refuseIfBad(items));
    }

    static Problem refusal(List<ItemError> errors, int total) {
        List<Map<String, Object>> listed = errors.stream().limit(MAX_LISTED_ERRORS).map(e -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", e.index());
            m.put("custom_id", e.customId());
            m.put("type", e.type());
            m.put("detail", e.detail());
            return m;
        }).toList();
        return Problem.invalid("invalid-batch", "Invalid batch", errors.size() + " of the batch's " + total
                + " requests cannot be accepted; nothing was stored. Each is listed under errors"
                + (errors.size() > MAX_LISTED_ERRORS ? " (the first " + MAX_LISTED_ERRORS + ")" : ""))
                .with("errors", listed).with("error_count", errors.size());
    }

    /** Items whose images are all data URLs have them stored now (a few at a time); the others' runs fetch theirs. */
    private Uni<Void> storeDataUrls(String tenant, List<Item> items) {
        List<Item> withData = items.stream().filter(i -> !i.deferred && !i.images.isEmpty()).toList();
        if (withData.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Multi.createFrom().iterable(withData)
                .onItem().transformToUni(i -> {
                    UUID id = jobId(i);
                    return ingest.ingest(tenant, id, i.images).invoke(files -> i.stored = files).replaceWithVoid()
                            .onFailure(Problem.class).recoverWithItem(x -> {
                                i.refuse((Problem) x);
                                return null;
                            });
                })
                .merge(INGEST_CONCURRENCY).collect().last().replaceWithVoid();
    }

    private static UUID jobId(Item i) {
        if (i.jobId == null) {
            i.jobId = UUID.randomUUID();
        }
        return i.jobId;
    }

    private Uni<Void> discard(List<Item> items) {
        List<JobFile> stored = items.stream().flatMap(i -> i.stored.stream()).toList();
        return stored.isEmpty() ? Uni.createFrom().voidItem() : ingest.discard(stored);
    }

    /** Each item's expected cost (photos of unknown size counted as a dry run counts them); items asking the same cost the same. */
    private Uni<BigDecimal> quote(List<Item> items) {
        Map<String, Uni<BigDecimal>> byRequest = new HashMap<>();
        Map<String, List<Item>> groups = new LinkedHashMap<>();
        for (Item i : items) {
            SubmitRules.Checked c = i.checked;
            List<int[]> sizes = i.stored.isEmpty() ? i.images.stream().map(s -> Quotes.unknownSize()).toList()
                    : i.stored.stream().map(f -> f.width() == null ? Quotes.unknownSize() : new int[] { f.width(), f.height() }).toList();
            int styles = c.shoot() == null ? 0 : ShootStyles.count(c.shoot());
            String key = c.model().id() + "|" + c.tuned() + "|" + c.options() + "|" + styles + "|"
                    + sizes.stream().map(s -> s[0] + "x" + s[1]).toList();
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
            byRequest.computeIfAbsent(key, k -> quotes.of(c.model(), c.tuned(), sizes, c.options(), styles).map(Quotes.Quote::totalUsd));
        }
        return Multi.createFrom().iterable(groups.entrySet())
                .onItem().transformToUniAndConcatenate(e -> byRequest.get(e.getKey()).invoke(usd -> e.getValue().forEach(i -> i.quote = usd)))
                .collect().asList()
                .map(all -> items.stream().map(i -> i.quote).reduce(BigDecimal.ZERO, BigDecimal::add));
    }

    // ---- commit ---------------------------------------------------------------------------------------------

    private Uni<BatchView> commit(Caller caller, String traceparent, List<Item> items, Map<String, Object> metadata, Webhooks.Spec hook,
            Integer deadlineSeconds, BigDecimal total) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        UUID batchId = UUID.randomUUID();
        Batch batch = new Batch(batchId, caller.tenantId(), "in_progress", items.size(), total, metadata, hook == null ? null : hook.url(), now,
                deadlineSeconds == null ? null : now.plusSeconds(deadlineSeconds), null, null, new Batch.Counts(items.size(), 0, 0, 0, 0),
                BigDecimal.ZERO);
        long t0 = System.nanoTime();
        return tenants.limits(caller.tenantId()).chain(limits -> {
            List<Job> jobs = new ArrayList<>(items.size());
            List<WebhookEvent> queued = new ArrayList<>();
            for (Item i : items) {
                Job job = job(batch, caller, i, traceparent);
                // the cache settled as a submit settles it; an item's hit or miss is its run's to find (10,000 lookups would slow the accept)
                ai.atelier.cache.ResultCache.Settled settled = cache.settle(i.cacheAsked, limits, i.checked.model(), i.checked.tuned(),
                        () -> ai.atelier.jobs.engine.CachePlans.chained(job, i.checked.model()));
                job.options.put(ai.atelier.cache.ResultCache.OPTION, settled.options(settled.initialStatus()));
                jobs.add(job);
                WebhookEvent e = webhooks.event(job, "queued");
                if (e != null) {
                    queued.add(e);
                }
            }
            return batches.accept(batch, caller.keyId(), traceparent, jobs, queued, !limits.budgeted() ? null : inFlight -> {
                try {
                    Budgets.admit(limits, inFlight.spentToday(), inFlight.spentThisMonth(), inFlight.reservedUsd(), total);
                } catch (Problem p) {
                    throw p.with("batch_expected_cost_usd", total).with("batch_requests", items.size());
                }
            });
        })
                .invoke(() -> Log.infof("batch %s: accepted %d request(s), expected $%s, in %d ms", batchId, items.size(), total.toPlainString(),
                        (System.nanoTime() - t0) / 1_000_000))
                .replaceWith(() -> BatchView.of(batch));
    }

    /** An item's job as accepted: held in its batch at the lowest priority, with what the request asked and its inputs (or their URLs). */
    private static Job job(Batch batch, Caller caller, Item i, String traceparent) {
        SubmitRules.Checked c = i.checked;
        ModelStrategy model = c.model();
        Job job = new Job();
        job.id = jobId(i);
        job.tenant = caller.tenantId();
        job.apiKeyId = caller.keyId();
        job.model = model.id();
        job.kind = c.shoot() != null ? Job.KIND_SHOOT : model.output() == ModelStrategy.Output.TEXT ? Job.KIND_LLM : Job.KIND_GENERATE;
        job.status = JobStatus.QUEUED;
        job.stage = "ingest";
        job.priority = Priority.BATCH;
        job.prompt = model.acceptsPrompt() ? c.prompt() : null;
        int sent = Math.min(i.images.size(), model.maxImages());
        job.params = new LinkedHashMap<>(model.effectiveParams(c.tuned(), sent));
        job.options = new LinkedHashMap<>(c.options());
        if (i.deferred) {
            job.options.put("pending_inputs", i.images.stream().map(s -> Map.of("url", s.url().strip(), "role", s.role())).toList());
        }
        job.shoot = c.shoot();
        job.inputs = JobFiles.of(i.stored);
        if (c.init() != null) {
            Map<String, Object> init = new LinkedHashMap<>(c.init());
            if (!i.stored.isEmpty()) {
                init.put("input_key", i.stored.get(0).key());
            }
            init.put("sent_to_model", sent);
            job.initImage = init;
        }
        if (i.webhook != null) {
            job.webhookUrl = i.webhook.url();
            job.webhookEvents = String.join(",", i.webhook.events());
        }
        job.traceParent = traceparent;
        job.createdAt = batch.createdAt();
        job.updatedAt = job.createdAt;
        if (i.submission.deadlineSeconds() != null) {
            job.deadlineAt = job.createdAt.plusSeconds(i.submission.deadlineSeconds());
        }
        job.expectedCostUsd = i.quote;
        job.batchId = batch.id();
        job.customId = i.customId;
        job.batchIndex = i.index;
        return job;
    }
}
