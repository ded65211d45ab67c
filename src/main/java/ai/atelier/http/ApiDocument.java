package ai.atelier.http;

import org.eclipse.microprofile.openapi.annotations.OpenAPIDefinition;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeIn;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;
import org.eclipse.microprofile.openapi.annotations.info.Info;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;
import org.eclipse.microprofile.openapi.annotations.security.SecuritySchemes;
import org.eclipse.microprofile.openapi.annotations.servers.Server;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * What the OpenAPI document says of the API as a whole, for the clients generated from it: what the API is, where it is
 * served (the server the document was read from), what each tag groups, and the two ways to present an API key. Which
 * route needs which scope is written on each operation by {@link ai.atelier.auth.OpenApiSecurity}, from the annotations
 * the service enforces.
 *
 * <p>An {@link jakarta.ws.rs.core.Application} because that is where the scanner reads {@code @OpenAPIDefinition}; it
 * names no classes, so every resource is served as before.
 */
@OpenAPIDefinition(
        info = @Info(title = "Atelier API", version = "1",
                description = "Image generation in front of fal.ai: submit a job (a prompt, often a photo), watch it (poll or "
                        + "Server-Sent Events), read its pictures as presigned URLs. Every 4xx and 5xx is an RFC 9457 problem "
                        + "(`application/problem+json`)."),
        servers = @Server(url = "/", description = "The server this document was read from"),
        tags = {
                @Tag(name = "Jobs", description = "Submit, read, list, cancel and retry jobs; follow a job's progress as events"),
                @Tag(name = "Product shoots", description = "One product photo, several styles, one job"),
                @Tag(name = "Batches", description = "Up to 10,000 job requests accepted as one, run below interactive work; counts, results as JSON lines, cancel"),
                @Tag(name = "LLM", description = "Product analysis, background prompts and LLM completions (fal's OpenRouter router)"),
                @Tag(name = "Models", description = "The fal models Atelier runs, with their locked and tunable parameters"),
                @Tag(name = "Usage", description = "What the caller's tenant spent, from fal's own figures"),
                @Tag(name = "Webhooks", description = "A job's webhook deliveries to the client's service, and redelivery"),
                @Tag(name = "Admin", description = "Tenants, their limits and keys, and every tenant's usage: for operators (scope admin)"),
                @Tag(name = "fal", description = "Called by fal, not by clients: completion webhooks, verified by their Ed25519 signature"),
                @Tag(name = "Compatibility: seed 000", description = "The seed 000 prototype's routes, kept for its clients"),
                @Tag(name = "Compatibility: seed 001", description = "The seed 001 prototype's routes, kept for its clients") })
@SecuritySchemes({
        @SecurityScheme(securitySchemeName = ApiDocument.BEARER, type = SecuritySchemeType.HTTP, scheme = "bearer",
                description = "A tenant's API key (`atl_…`) or the operator's admin key, as `Authorization: Bearer <key>`. "
                        + "An operation's `x-required-scope` names the scope the key needs."),
        @SecurityScheme(securitySchemeName = ApiDocument.API_KEY, type = SecuritySchemeType.APIKEY, in = SecuritySchemeIn.HEADER,
                apiKeyName = "X-API-Key", description = "The same key as `X-API-Key: <key>`, for clients that cannot set Authorization") })
public final class ApiDocument extends jakarta.ws.rs.core.Application {

    /** The scheme name of {@code Authorization: Bearer <key>}. */
    public static final String BEARER = "bearer";
    /** The scheme name of {@code X-API-Key: <key>}. */
    public static final String API_KEY = "apiKey";

}
