package ai.atelier.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Every Atelier setting; each maps to an environment variable (ATELIER_FAL_QUEUE_URL, …), see the README table. */
@ConfigMapping(prefix = "atelier")
public interface AtelierConfig {

    Fal fal();

    S3 s3();

    Ingest ingest();

    Jobs jobs();

    Webhooks webhooks();

    Llm llm();

    Shoots shoots();

    Auth auth();

    Usage usage();

    Http http();

    Video video();

    Batches batches();

    /** Batches (ai.atelier.batches): many job requests accepted as one, run below every interactive job. */
    interface Batches {
        /** Most requests one batch may carry. */
        @WithDefault("10000")
        int maxItems();

        /** A tenant's batch share: how many of its batch items run (or wait released to run) at once, unless the tenant sets its own. */
        @WithDefault("16")
        int maxRunning();

        /** How often the feeder releases held items into their tenants' shares and ends batches whose items all ended. */
        @WithDefault("1s")
        Duration feedInterval();

        /** Largest metadata object a batch keeps, as JSON bytes. */
        @WithDefault("16384")
        int maxMetadataBytes();

        /** How many of a batch's items a cancel asks fal to stop at the same time. */
        @WithDefault("8")
        int cancelConcurrency();
    }

    Cache cache();

    /** The result cache (ai.atelier.cache): a seeded request whose result is stored is answered from it, not paid again. */
    interface Cache {
        /** Whether a tenant's seeded requests are cached when its own cache_enabled is not set (the admin API sets it per tenant). */
        @WithDefault("true")
        boolean enabled();

        /** How old an entry may be and still be served, when neither the request nor the tenant says (cache.max_age, cache_max_age). */
        @WithDefault("30d")
        Duration maxAge();

        /**
         * How long a pending entry (one job calling fal for it) makes identical requests wait before one of them takes over, when
         * its owner job is still queued or running; an owner that failed or was cancelled lets them take over at once.
         */
        @WithDefault("30m")
        Duration pendingLease();

        /** The first and the longest pause between two looks of a request waiting for a pending entry (a parked wait, no thread held). */
        @WithDefault("200ms")
        Duration waitBackoff();

        @WithDefault("5s")
        Duration maxWaitBackoff();

        /**
         * How long a stored result is kept after it was filled; the sweep deletes older entries and their files (a request's
         * max_age beyond it finds nothing older). Without it the cache's files would grow for ever.
         */
        @WithDefault("30d")
        Duration retention();

        /** How often an instance sweeps entries past the retention. */
        @WithDefault("10m")
        Duration sweepInterval();
    }

    /** Video outputs: how a clip is copied from fal's file URL into S3 (ai.atelier.storage.VideoCopier). */
    interface Video {
        /** Largest clip copied; a larger one (by fal's file_size, the Content-Length or the bytes) is an invalid output. */
        @WithDefault("200M")
        io.quarkus.runtime.configuration.MemorySize maxBytes();

        /** Bytes of each S3 multipart part but the last (S3 takes 5 MiB to 5 GiB); streamed through, never held. */
        @WithDefault("8M")
        io.quarkus.runtime.configuration.MemorySize partSize();

        /** Time to connect to fal's file host. */
        @WithDefault("10s")
        Duration connectTimeout();

        /** A download or a part upload that moves no byte for this long is given up. */
        @WithDefault("30s")
        Duration readTimeout();
    }

    /** What the HTTP layer allows a client, below the resources. */
    interface Http {
        /** A request's headers must arrive within this of its first byte (slow-header clients are dropped with a 408). */
        @WithDefault("10s")
        Duration headerTimeout();

        /** A request's body must arrive within this of its headers: 64 MiB then needs about 1.1 MiB/s. */
        @WithDefault("60s")
        Duration bodyTimeout();

        /** Parts (text fields and files) one multipart request may have. */
        @WithDefault("32")
        int maxFormParts();

        /** Files one multipart request may carry (the most any model takes is 5: a face, three products, a background). */
        @WithDefault("8")
        int maxFormFiles();

        /** Characters one multipart text field may have (each field's own limit, the same as in JSON, is checked after). */
        @WithDefault("131072")
        int maxFormField();

        /**
         * Heap the request bodies being read hold at once on one instance, all requests together: multipart
         * uploads and JSON bodies alike, each counted by what it costs once read (ai.atelier.http.BodyMemory),
         * reserved as its bytes arrive. Bodies are never spooled to disk (nothing to clean up when a client
         * drops); past this a body gets a 503 with Retry-After instead of running the heap out.
         */
        @WithDefault("96M")
        io.quarkus.runtime.configuration.MemorySize maxUploadMemory();

        /**
         * The most of {@link #maxUploadMemory()} one tenant's bodies may hold at once (the operator's key, and
         * the callers of the open routes together, count as one tenant each), so no tenant can take it all.
         * It is also the most one request may hold: a larger one is refused with a 413.
         */
        @WithDefault("48M")
        io.quarkus.runtime.configuration.MemorySize maxUploadMemoryPerTenant();

        /**
         * The proxies in front of Atelier (an ingress, a load balancer), as addresses or blocks
         * ({@code 10.0.0.0/8,fd00::/8}). Only a connection from one of them may name the client in
         * {@code X-Forwarded-For} or {@code Forwarded}; from anyone else those headers are ignored. Unset:
         * the peer's address is the client's. See {@link ai.atelier.net.ClientAddress}.
         */
        Optional<List<String>> trustedProxies();
    }

    /** What tenants spend, as metrics. */
    interface Usage {
        /** How often each instance reads every tenant's spend and budgets for the Prometheus gauges. */
        @WithDefault("30s")
        Duration metricsRefresh();
    }

    /**
     * The operator's key ({@code ATELIER_ADMIN_KEY}, from a Kubernetes Secret): the admin API takes it.
     * Without it the admin API answers 401 to everyone.
     */
    java.util.Optional<String> adminKey();

    /** Who may call, and how often. */
    interface Auth {
        /**
         * Requests without a key belong to this tenant (created on first use), for legacy clients that cannot
         * send a header ({@code ATELIER_AUTH_ANONYMOUS_TENANT}). Unset in production: anyone who can reach
         * the service could then spend that tenant's budget.
         */
        Optional<String> anonymousTenant();

        /** Failed authentications one client address may make per minute (across instances) before it gets 429s. */
        @WithDefault("30")
        int failuresPerMinute();
    }

    /** The LLM stages and endpoints, all through fal's OpenRouter router. */
    interface Llm {
        /** The vision model that sorts a product photo into the nine categories (seed 002's choice). */
        @WithDefault("google/gemini-2.5-pro")
        String visionModel();

        @WithDefault("0.3")
        double visionTemperature();

        @WithDefault("2000")
        int visionMaxTokens();

        /** The model that writes prompts when a request asks for {@code prompt_mode: llm}. */
        @WithDefault("openai/gpt-5-mini")
        String promptModel();

        @WithDefault("0.7")
        double promptTemperature();

        /** The default model of the completion endpoints. */
        @WithDefault("google/gemini-2.5-flash")
        String completionModel();

        /** A sync completion or a stream may take this long in all. */
        @WithDefault("120s")
        Duration timeout();

        /** A stream that sends nothing for this long is given up (fal-js uses 15 s). */
        @WithDefault("30s")
        Duration streamIdleTimeout();
    }

    /** Product shoots: several styles of one product photo in one job. */
    interface Shoots {
        /** The generation model each style runs on. */
        @WithDefault("bria-background-replace")
        String model();

        /** How many styles of one shoot run at fal at the same time. */
        @WithDefault("3")
        int maxParallelStyles();

        @WithDefault("8")
        int maxStyles();
    }

    /** Webhooks to clients (Standard Webhooks), each tenant's signed with its own secret. */
    interface Webhooks {
        /**
         * The AES-256 key ({@code ATELIER_WEBHOOKS_ENCRYPTION_KEY}, 32 bytes in base64) that the tenants' signing secrets are
         * encrypted with at rest. Without it no secret can be created or read, so no webhook can be signed or sent.
         */
        Optional<String> encryptionKey();

        /**
         * The one secret every tenant once shared ({@code ATELIER_WEBHOOKS_SECRET}): no longer used (each tenant has its
         * own); read only to warn an operator who still sets it.
         */
        @io.smallrye.config.WithName("secret")
        Optional<String> legacySecret();

        /** How long a rotated-out secret still signs (deliveries carry both signatures meanwhile), unless the rotation says otherwise. */
        @WithDefault("24h")
        Duration secretGrace();

        /** Delay before the first retry; doubles per attempt. */
        @WithDefault("5s")
        Duration backoff();

        /** Attempts before a delivery is given up (12 attempts from 5 s span about 3 hours). */
        @WithDefault("12")
        int maxAttempts();

        /** Timeout of one delivery attempt, from the address check to the end of the answer. */
        @WithDefault("10s")
        Duration timeout();

        /** How often an instance looks for due deliveries (it also looks each time an attempt ends). */
        @WithDefault("1s")
        Duration pollInterval();

        /** Attempts one instance has under way at once, all tenants together. */
        @WithDefault("64")
        int maxInFlight();

        /**
         * Attempts one tenant has under way at once, across every instance: a receiver that is slow or never answers
         * holds at most this many, and every other tenant's deliveries go on.
         */
        @WithDefault("8")
        int maxInFlightPerTenant();
    }

    /** fal.ai access. */
    interface Fal {
        /** The fal API key ({@code FAL_KEY}); without it calls go out unauthenticated (the simulator accepts that). */
        Optional<String> key();

        /** Queue API base URL ({@code FAL_QUEUE_URL}). */
        @WithDefault("https://queue.fal.run")
        String queueUrl();

        /** Synchronous run base URL ({@code FAL_RUN_URL}). */
        @WithDefault("https://fal.run")
        String runUrl();

        /** Platform API base URL ({@code FAL_API_URL}): prices and estimates. */
        @WithDefault("https://api.fal.ai")
        String apiUrl();

        /** How often prices are read again from fal's pricing API (they carry the account's discounts, which change). */
        @WithDefault("10m")
        Duration pricingRefresh();

        /** REST (storage, tokens) base URL ({@code FAL_REST_URL}). */
        @WithDefault("https://rest.fal.ai")
        String restUrl();

        /** Timeout of one HTTP call to fal. */
        @WithDefault("30s")
        Duration callTimeout();

        /** How often a queued request's status is polled. */
        @WithDefault("500ms")
        Duration pollInterval();

        /** Tries per call on 429/502/503/504 and connection failures. */
        @WithDefault("5")
        int maxAttempts();

        /** First backoff delay; doubles per try, with ±25 % jitter; a Retry-After header wins when longer. */
        @WithDefault("1s")
        Duration backoff();

        /** Cap on one backoff delay. */
        @WithDefault("30s")
        Duration maxBackoff();

        /** Failures in a row (5xx, 429, no answer) that open the circuit to fal. */
        @WithDefault("20")
        int breakerThreshold();

        /** How long an open circuit stops calls before one trial call. */
        @WithDefault("10s")
        Duration breakerOpenFor();

        /** How long one fal request may take, queue included, before the job fails. */
        @WithDefault("15m")
        Duration requestDeadline();

        /**
         * When set, replaces every model's own request deadline (a video model's 20 minutes, ModelStrategy.requestDeadline):
         * for an account whose queue runs longer, or a test that cannot wait 20 minutes.
         */
        Optional<Duration> modelDeadline();

        /**
         * Atelier's public base URL ({@code ATELIER_FAL_PUBLIC_BASE_URL}). When set, submits ask fal to call
         * {@code <base>/v1/fal/webhook} on completion and polling slows to {@link #webhookPollInterval()}.
         */
        Optional<String> publicBaseUrl();

        /** Polling interval when fal webhooks are on: polling then only reconciles webhooks that never came. */
        @WithDefault("10s")
        Duration webhookPollInterval();

        /**
         * Status streams (fal's {@code /status/stream}) one instance holds open at once: a wait streams while
         * a slot is free, so it learns of completion the moment fal knows; the others are parked (polled).
         */
        @WithDefault("1000")
        int streamSlots();

        /** A wait that streamed this long without completing gives its slot up and is parked (a long job). */
        @WithDefault("2m")
        Duration streamMax();

        /** A parked wait is polled at {@code poll-interval}, backing off to this; with fal webhooks on, at {@code webhook-poll-interval}. */
        @WithDefault("10s")
        Duration maxPollInterval();

        /** How many status calls the poller of parked waits makes at once. */
        @WithDefault("64")
        int maxParkedPolls();

        /** Where fal publishes the keys its webhooks are signed with. */
        @WithDefault("https://rest.alpha.fal.ai/.well-known/jwks.json")
        String jwksUrl();

        /**
         * A fal webhook whose signature no cached key verifies makes Atelier read fal's JWKS again (fal may have added a
         * key), at most once per this interval, so anonymous POSTs cannot make it fetch the keys each time.
         */
        @WithDefault("5m")
        Duration jwksRefetchInterval();

        /** Largest accepted clock difference of a fal webhook's timestamp. */
        @WithDefault("300s")
        Duration webhookTolerance();

        /** How input images reach fal: presigned S3 GET URLs, or inline data URLs. */
        @WithDefault("presigned-url")
        InputMode inputMode();

        enum InputMode {
            PRESIGNED_URL,
            DATA_URL
        }
    }

    /** Object storage. */
    interface S3 {
        /** Bucket for inputs and outputs ({@code ATELIER_S3_BUCKET}). */
        @WithDefault("atelier")
        String bucket();

        /** Lifetime of presigned GET URLs handed to clients and to fal. */
        @WithDefault("1h")
        Duration presignExpiry();

        /** Longest one upload attempt may take (an output of a few megabytes; retried twice on 5xx or a lost connection). */
        @WithDefault("30s")
        Duration uploadTimeout();

        /** Failed S3 calls in a row that open the circuit, and how long it stays open. */
        @WithDefault("10")
        int breakerThreshold();

        @WithDefault("10s")
        Duration breakerOpenFor();
    }

    /** Checks on uploads. */
    interface Ingest {
        /** Largest accepted image file. */
        @WithDefault("20971520")
        long maxBytes();

        /** Largest accepted image, in pixels (width × height). */
        @WithDefault("40000000")
        long maxPixels();

        /** Smallest accepted side, in pixels. */
        @WithDefault("256")
        int minSide();

        /** Hosts an image URL may name even though they resolve to loopback or private addresses (local use only). */
        Optional<List<String>> allowedHosts();

        /** Timeout for fetching an image URL. */
        @WithDefault("20s")
        Duration fetchTimeout();
    }

    /** Job execution. */
    interface Jobs {
        /**
         * Jobs one instance holds at once, most of them waiting on fal (which costs a few kilobytes and no
         * thread each); past this the rest wait in PostgreSQL for any instance.
         */
        @WithDefault("20000")
        int maxInFlight();

        /**
         * Jobs one instance works on at once (submitting to fal, recording, fetching, storing, finishing).
         * Waiting on fal is not work: a burst is submitted at once, not behind other jobs' fal time. Most work
         * is a round trip holding a few kilobytes, and a saturated instance takes longer over each: a low cap
         * then holds jobs back while the cores wait on the network. Pictures held in memory have their own cap.
         */
        @WithDefault("512")
        int maxWorking();

        /**
         * Pictures one instance copies through memory at once (fal's outputs on their way to S3, a batch
         * item's inputs from their URLs), each holding its bytes on the heap until it is stored.
         */
        @WithDefault("64")
        int maxCopying();

        /** Per-model caps on jobs one instance runs at once, as {@code model=limit} pairs: {@code flux-2-lora-edit=4,qwen-multiple-angles=8}. */
        Optional<List<String>> modelLimits();

        /** How long a claimed job stays this instance's without a heartbeat; after that any instance may take it over. */
        @WithDefault("30s")
        Duration lease();

        /**
         * How often an instance looks in PostgreSQL for jobs to claim besides being told (a submit on any
         * instance wakes the others with LISTEN/NOTIFY): this finds the jobs of instances that died.
         */
        @WithDefault("2s")
        Duration claimInterval();

        /**
         * How long a job whose fal work is done (or running) rides out an outage of PostgreSQL or S3 before it
         * fails: its paid outputs wait at fal (kept at least 7 days) while the step is retried with backoff.
         */
        @WithDefault("24h")
        Duration outageRetryFor();

        /** How often an instance looks for jobs past their own deadline, to cancel them. */
        @WithDefault("1s")
        Duration deadlineSweepInterval();

        /** On SIGTERM: how long in-flight jobs may take to finish before their leases are handed back. */
        @WithDefault("20s")
        Duration shutdownGrace();

        /** This instance's name in lease_owner; defaults to the host name plus a random suffix. */
        Optional<String> instanceId();

        /** Lifetime of a job's live progress in Redis; PostgreSQL keeps the job after that. */
        @WithDefault("3600s")
        Duration progressTtl();
    }
}
