package ai.atelier.jobs.rest;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.jobs.JobReads;
import ai.atelier.problem.Problem;
import ai.atelier.problem.ProblemMappers;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressEvents;
import ai.atelier.progress.ProgressStore;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * {@code GET /v1/jobs/{id}/events}: a job's progress as Server-Sent Events (stage, percent, queue
 * position, new fal log lines), ending with the terminal state. Event ids are Redis stream ids, so a
 * client that reconnects with {@code Last-Event-ID} gets exactly what it missed. Works whichever
 * instance runs the job, and ends when the job ends even if Redis lost the event (it restarted, it
 * failed over): the stream then looks at the job itself every few seconds and ends with its end.
 */
@Path("/v1/jobs/{id}/events")
@Tag(name = "Jobs")
@Scopes.Requires(Scopes.JOBS_READ)
public class JobEventsResource {

    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");
    /** How often an open stream checks the job itself, in case its end never reaches it through Redis. */
    private static final Duration CHECK_ROW = Duration.ofSeconds(2);
    /** A comment line this often keeps an open stream from looking idle to proxies and to the server's idle timeout. */
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    private static final ProgressStore.Event KEEP_ALIVE_MARK = new ProgressStore.Event("keep-alive", null);

    private final JobReads jobs;
    private final ProgressStore store;
    private final ProgressEvents events;
    private final ObjectMapper json;
    private final Callers callers;

    public JobEventsResource(JobReads jobs, ProgressStore store, ProgressEvents events, ObjectMapper json, Callers callers) {
        this.callers = callers;
        this.jobs = jobs;
        this.store = store;
        this.events = events;
        this.json = json;
    }

    @GET
    @EventStream
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job's events, event "
            + "name `progress`, each `id` a position to resume after (Last-Event-ID); the last is the job's terminal state",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.SERVER_SENT_EVENTS,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = Progress.class)))
    @Operation(operationId = "streamJobEvents", summary = "Live progress as Server-Sent Events; resumes after Last-Event-ID; ends on the terminal state")
    public RestMulti<OutboundSseEvent> stream(@PathParam("id") UUID id, @RestHeader("Last-Event-ID") String lastEventId, @Context Sse sse) {
        String after = lastEventId != null && lastEventId.matches("\\d{1,20}-\\d{1,20}") ? lastEventId : "0";
        String tenant = callers.tenant();
        return RestMulti.fromUniResponse(current(tenant, id), job -> events(tenant, id, job, after, sse));
    }

    /**
     * Binds {@link #unknownJob} to the event stream alone: unbound, the filter ran (and suspended the request
     * for its Uni) on every request of the API, status reads included.
     */
    @jakarta.ws.rs.NameBinding
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target({ java.lang.annotation.ElementType.METHOD, java.lang.annotation.ElementType.TYPE })
    public @interface EventStream {
    }

    /**
     * Once an event stream has started its status is 200: an unknown job must be refused before that,
     * so this filter looks the job up first and answers the 404 problem itself.
     */
    // after the scope check (ScopeCheck, at the default priority): a key without jobs:read learns nothing of a job id
    @ServerRequestFilter(priority = jakarta.ws.rs.Priorities.USER + 10)
    @EventStream
    public Uni<Response> unknownJob(ContainerRequestContext request, io.vertx.ext.web.RoutingContext rc) {
        // bound to the stream method alone (EventStream): the request is that GET, its path already matched
        UUID id;
        try {
            id = UUID.fromString(request.getUriInfo().getPathParameters().getFirst("id"));
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().nullItem(); // the path parameter conversion answers that one
        }
        ai.atelier.auth.Caller caller = ai.atelier.auth.Caller.of(rc);
        if (caller == null || caller.tenantId() == null) {
            return Uni.createFrom().nullItem(); // the scope check answers that one
        }
        return jobs.get(caller.tenantId(), id).map(found -> (Response) null)
                .onFailure(Problem.class).recoverWithItem(e -> ProblemMappers.toResponse((Problem) e, request.getUriInfo().getPath()));
    }

    /** The job's state now, as an event would carry it (live view or row). */
    private Uni<ProgressStore.Event> current(String tenant, UUID id) {
        return jobs.get(tenant, id).map(this::asEvent);
    }

    private ProgressStore.Event asEvent(String view) {
        try {
            JsonNode j = json.readTree(view);
            String status = j.path("status").asText();
            Instant at = Instant.parse(j.hasNonNull("finished_at") ? j.get("finished_at").asText() : j.path("updated_at").asText(Instant.now().toString()));
            String message = j.path("error").hasNonNull("message") ? j.path("error").path("message").asText()
                    : j.hasNonNull("message") ? j.get("message").asText() : null;
            return new ProgressStore.Event(at.toEpochMilli() + "-0", new Progress(status, j.path("stage").asText(null), j.path("progress").asInt(),
                    message, null, List.of(), at));
        } catch (Exception e) {
            throw new IllegalStateException("unreadable job view", e);
        }
    }

    private Multi<OutboundSseEvent> events(String tenant, UUID id, ProgressStore.Event now, String after, Sse sse) {
        Multi<ProgressStore.Event> all;
        if (TERMINAL.contains(now.progress().status())) {
            // ended: its history, and the row's end when the history does not end with it (expired, or lost by Redis)
            all = Multi.createFrom().uni(store.history(id, after).onFailure().recoverWithItem(List.of()))
                    .onItem().transformToMultiAndConcatenate(history -> {
                        boolean ends = !history.isEmpty() && TERMINAL.contains(history.get(history.size() - 1).progress().status());
                        boolean missed = !ends && ProgressStore.compareIds(now.id(), after) > 0;
                        return missed ? Multi.createFrom().iterable(history).onCompletion().continueWith(now) : Multi.createFrom().iterable(history);
                    });
        } else {
            Multi<ProgressStore.Event> checks = Multi.createFrom().ticks().every(CHECK_ROW)
                    .onItem().transformToUniAndConcatenate(t -> current(tenant, id).onFailure().recoverWithNull())
                    .select().where(e -> e != null && TERMINAL.contains(e.progress().status()));
            Multi<ProgressStore.Event> keepAlive = Multi.createFrom().ticks().every(KEEP_ALIVE).map(t -> KEEP_ALIVE_MARK);
            all = Multi.createBy().merging().streams(events.listen(id, after), checks, keepAlive);
        }
        return untilTerminal(all).map(e -> e == KEEP_ALIVE_MARK ? sse.newEventBuilder().comment("keep-alive").build()
                // the data is JSON already: no media type, so no non-standard "content-type:" field in the stream
                : sse.newEventBuilder().id(e.id()).name("progress").data(String.class, store.write(e.progress())).build());
    }

    /** Emits up to and including the first terminal event, then completes (and stops listening). */
    private static Multi<ProgressStore.Event> untilTerminal(Multi<ProgressStore.Event> source) {
        return Multi.createFrom().emitter(emitter -> {
            var subscription = source.subscribe().with(e -> {
                emitter.emit(e);
                if (e.progress() != null && TERMINAL.contains(e.progress().status())) {
                    emitter.complete();
                }
            }, emitter::fail, emitter::complete);
            emitter.onTermination(subscription::cancel);
        });
    }
}
