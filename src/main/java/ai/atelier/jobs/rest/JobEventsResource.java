package ai.atelier.jobs.rest;

import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import ai.atelier.jobs.JobService;
import ai.atelier.jobs.JobView;
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
 * instance runs the job.
 */
@Path("/v1/jobs/{id}/events")
@Tag(name = "Jobs")
public class JobEventsResource {

    private static final java.util.regex.Pattern EVENTS_PATH = java.util.regex.Pattern.compile("/v1/jobs/([^/]+)/events");
    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

    private final JobService jobs;
    private final ProgressStore store;
    private final ProgressEvents events;

    public JobEventsResource(JobService jobs, ProgressStore store, ProgressEvents events) {
        this.jobs = jobs;
        this.store = store;
        this.events = events;
    }

    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Operation(summary = "Live progress as Server-Sent Events; resumes after Last-Event-ID; ends on the terminal state")
    public RestMulti<OutboundSseEvent> stream(@PathParam("id") UUID id, @RestHeader("Last-Event-ID") String lastEventId, @Context Sse sse) {
        String after = lastEventId != null && lastEventId.matches("\\d{1,20}-\\d{1,20}") ? lastEventId : "0";
        return RestMulti.fromUniResponse(jobs.get(JobService.DEFAULT_TENANT, id), job -> events(id, job, after, sse));
    }

    /**
     * Once an event stream has started its status is 200: an unknown job must be refused before that,
     * so this filter looks the job up first and answers the 404 problem itself.
     */
    @ServerRequestFilter
    public Uni<Response> unknownJob(ContainerRequestContext request) {
        java.util.regex.Matcher m = EVENTS_PATH.matcher(request.getUriInfo().getPath());
        if (!m.matches() || !"GET".equals(request.getMethod())) {
            return Uni.createFrom().nullItem();
        }
        UUID id;
        try {
            id = UUID.fromString(m.group(1));
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().nullItem(); // the path parameter conversion answers that one
        }
        return jobs.get(JobService.DEFAULT_TENANT, id).map(found -> (Response) null)
                .onFailure(Problem.class).recoverWithItem(e -> ProblemMappers.toResponse((Problem) e, request.getUriInfo().getPath()));
    }

    private Multi<OutboundSseEvent> events(UUID id, JobView job, String after, Sse sse) {
        Multi<ProgressStore.Event> all = Multi.createFrom().item(job)
                .onItem().transformToMultiAndConcatenate(j -> {
                    Multi<ProgressStore.Event> live = events.listen(id); // listening before reading history: nothing falls in between
                    return Multi.createFrom().uni(store.history(id, after))
                            .onFailure().invoke(() -> live.subscribe().with(x -> { }).cancel()) // unregister
                            .onItem().transformToMultiAndConcatenate(history -> {
                                if (history.isEmpty() && TERMINAL.contains(job.status())) {
                                    live.subscribe().with(x -> { }).cancel();
                                    // the stream expired with its TTL: the row still says how the job ended
                                    return Multi.createFrom().item(fromRow(job));
                                }
                                String last = history.isEmpty() ? after : history.get(history.size() - 1).id();
                                return Multi.createBy().concatenating().streams(Multi.createFrom().iterable(history),
                                        live.select().where(e -> ProgressStore.compareIds(e.id(), last) > 0));
                            });
                });
        return untilTerminal(all).map(e -> sse.newEventBuilder().id(e.id()).name("progress").mediaType(MediaType.APPLICATION_JSON_TYPE)
                .data(String.class, store.write(e.progress())).build());
    }

    private static ProgressStore.Event fromRow(JobView job) {
        long at = job.finishedAt() != null ? job.finishedAt().toEpochMilli() : job.updatedAt().toEpochMilli();
        return new ProgressStore.Event(at + "-0", new Progress(job.status(), job.stage(), job.progress(),
                job.error() == null ? null : job.error().message(), null, List.of(), job.updatedAt()));
    }

    /** Emits up to and including the first terminal event, then completes (and stops listening). */
    private static Multi<ProgressStore.Event> untilTerminal(Multi<ProgressStore.Event> source) {
        return Multi.createFrom().emitter(emitter -> {
            var subscription = source.subscribe().with(e -> {
                emitter.emit(e);
                if (TERMINAL.contains(e.progress().status())) {
                    emitter.complete();
                }
            }, emitter::fail, emitter::complete);
            emitter.onTermination(subscription::cancel);
        });
    }
}
