package ai.atelier.usage.rest;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.problem.Problem;
import ai.atelier.usage.Ledger;
import io.smallrye.mutiny.Uni;

/** {@code GET /v1/usage}: what the caller's tenant spent, from fal's figures, grouped by model, day, key or batch. */
@Path("/v1/usage")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Usage")
@Scopes.Requires(Scopes.JOBS_READ)
public class UsageResource {

    /** The {@code from} query parameter as {@link #period} reads it. */
    public static final String FROM = "Start, inclusive: a UTC date (2026-12-01: its start) or an instant (2026-12-01T10:00:00Z); "
            + "default: the start of this UTC month";
    /** The {@code to} query parameter as {@link #period} reads it. */
    public static final String TO = "End, exclusive: a UTC date (2026-12-31: the end of that day) or an instant; default: now";

    /** A time range: from (inclusive) to (exclusive). */
    public record Period(Instant from, Instant to) {
    }

    private final Ledger ledger;
    private final Callers callers;

    public UsageResource(Ledger ledger, Callers callers) {
        this.ledger = ledger;
        this.callers = callers;
    }

    @GET
    @Operation(operationId = "getUsage", summary = "The tenant's usage between from and to (ISO dates or instants; default: this UTC month), grouped by model, day, key or batch")
    public Uni<List<Ledger.Usage>> usage(@Parameter(description = FROM) @QueryParam("from") String from,
            @Parameter(description = TO) @QueryParam("to") String to,
            @Parameter(description = "How the usage is grouped", schema = @Schema(type = SchemaType.STRING, enumeration = { "model", "day", "key", "batch" },
                    defaultValue = "model")) @QueryParam("group_by") String groupBy) {
        String group = groupBy == null ? "model" : groupBy;
        if (!List.of("model", "day", "key", "batch").contains(group)) {
            throw Problem.badRequest("invalid-group-by", "Invalid group_by", "group_by must be model, day, key or batch").with("field", "group_by");
        }
        Period p = period(from, to);
        return ledger.usage(callers.tenant(), p.from(), p.to(), group);
    }

    /** The range asked for; by default this UTC month so far. A date means its UTC start (from) or the next day's (to). */
    public static Period period(String from, String to) {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Instant f = from == null || from.isBlank() ? today.withDayOfMonth(1).atStartOfDay().toInstant(ZoneOffset.UTC) : parse(from, "from", false);
        Instant t = to == null || to.isBlank() ? Instant.now().plusSeconds(1) : parse(to, "to", true);
        if (!f.isBefore(t)) {
            throw Problem.badRequest("invalid-period", "Invalid period", "from must be before to").with("field", "from");
        }
        return new Period(f, t);
    }

    private static Instant parse(String s, String field, boolean endOfDay) {
        try {
            if (s.length() == 10) {
                LocalDate d = LocalDate.parse(s);
                return (endOfDay ? d.plusDays(1) : d).atStartOfDay().toInstant(ZoneOffset.UTC);
            }
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw Problem.badRequest("invalid-period", "Invalid period", field + " must be a date (2026-12-01) or an instant (2026-12-01T10:00:00Z)")
                    .with("field", field);
        }
    }
}
