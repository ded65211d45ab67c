package ai.atelier.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import ai.atelier.auth.Authenticator;
import ai.atelier.auth.Caller;
import ai.atelier.config.AtelierConfig;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads every multipart request into memory before a resource runs, with Vert.x's decoder, and checks
 * it as it arrives: the body against the body limit, each file against the image byte limit, the
 * number of parts and files, each text field's length and characters. A request that breaks a rule is
 * answered at once with a problem naming the field, and its connection closed (the rest of its body is
 * never read). Nothing is written to disk, so a client that drops mid-upload leaves nothing behind, and
 * every body being read shares one memory budget, per instance and per tenant ({@link BodyMemory}): an
 * upload reserves {@value BodyCost#MULTIPART} bytes for each byte as it arrives, never what it declares.
 */
@Singleton
public class MultipartReader {

    private final AtelierConfig config;
    private final BodyMemory memory;
    private final long maxBody;
    private final long maxFileBytes;

    MultipartReader(AtelierConfig config, BodyMemory memory, @ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBody) {
        this.config = config;
        this.memory = memory;
        this.maxBody = maxBody.asLongValue();
        this.maxFileBytes = config.ingest().maxBytes();
    }

    /** After authentication (1000): an unauthenticated upload is refused before its body is read. */
    void register(@Observes Filters filters) {
        filters.register(this::read, 900);
    }

    private void read(RoutingContext rc) {
        HttpServerRequest request = rc.request();
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (request.method() != HttpMethod.POST || type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")
                || Authenticator.open(rc.normalizedPath())) {
            rc.next();
            return;
        }
        // over the body limit it was refused already (RequestChecks); a declared length is judged, never held
        long declared = BodyReader.contentLength(request);
        long largest = memory.perRequest() / BodyCost.MULTIPART;
        Reading reading = new Reading(rc, memory.open(Caller.of(rc)));
        if (declared >= 0) {
            BodyMemory.Verdict verdict = reading.hold.wouldFit(declared * BodyCost.MULTIPART);
            if (verdict != BodyMemory.Verdict.TAKEN) {
                BodyReader.refuse(rc, verdict, "a multipart body", largest);
                return;
            }
        }
        // called when the answer is sent, and when the connection closes before that
        rc.addEndHandler(v -> reading.release());
        if (BodyReader.expectsContinue(request)) {
            rc.response().writeContinue();
        }
        request.setExpectMultipart(true);
        request.exceptionHandler(reading::failed);
        // the raw body as it arrives (besides the decoder): held to the body limit, and what it costs reserved
        request.handler(chunk -> {
            if (reading.done.get()) {
                return;
            }
            if (request.bytesRead() > maxBody) {
                reading.refuse(413, "body-too-large", "Request too large", "The request is larger than " + maxBody + " bytes, the limit",
                        Map.of("limit_bytes", maxBody));
                return;
            }
            BodyMemory.Verdict verdict = reading.hold.take((long) chunk.length() * BodyCost.MULTIPART);
            if (verdict != BodyMemory.Verdict.TAKEN && reading.done.compareAndSet(false, true)) {
                reading.files.clear();
                reading.release();
                BodyReader.refuse(rc, verdict, "a multipart body", largest);
            }
        });
        request.uploadHandler(upload -> {
            if (reading.done.get()) {
                return;
            }
            String field = upload.name();
            if (reading.files.size() + 1 > config.http().maxFormFiles()) {
                reading.refuse(422, "too-many-files", "Too many files", "A request may carry at most " + config.http().maxFormFiles() + " files",
                        Map.of("field", field == null ? "" : field, "limit", config.http().maxFormFiles()));
                return;
            }
            // the file's chunks as they come, joined once at its end (a growing buffer would copy it again at each doubling)
            List<byte[]> chunks = new ArrayList<>();
            long[] size = { 0 };
            upload.handler(chunk -> {
                if (reading.done.get()) {
                    return;
                }
                if (size[0] + chunk.length() > maxFileBytes) {
                    reading.refuse(413, "image-too-many-bytes", "Image too large", "The file in '" + field + "' has more than " + maxFileBytes
                            + " bytes, the limit", Map.of("field", field == null ? "" : field, "limit_bytes", maxFileBytes));
                    return;
                }
                chunks.add(chunk.getBytes());
                size[0] += chunk.length();
            });
            upload.exceptionHandler(reading::failed);
            upload.endHandler(v -> {
                if (!reading.done.get()) {
                    byte[] bytes = new byte[(int) size[0]];
                    int at = 0;
                    for (byte[] c : chunks) {
                        System.arraycopy(c, 0, bytes, at, c.length);
                        at += c.length;
                    }
                    chunks.clear();
                    reading.files.add(new UploadedForm.File(field, upload.filename(), upload.contentType(), bytes));
                }
            });
        });
        request.endHandler(v -> reading.complete());
    }

    /** One request being read: what it holds of the memory budget, its files so far, whether it was answered. */
    private final class Reading {
        final RoutingContext rc;
        final BodyMemory.Hold hold;
        final List<UploadedForm.File> files = new ArrayList<>();
        final AtomicBoolean done = new AtomicBoolean();

        Reading(RoutingContext rc, BodyMemory.Hold hold) {
            this.rc = rc;
            this.hold = hold;
        }

        void release() {
            hold.release();
        }

        void refuse(int status, String slug, String title, String detail, Map<String, Object> extensions) {
            if (done.compareAndSet(false, true)) {
                files.clear();
                release();
                ProblemAnswers.send(rc, status, slug, title, detail, extensions, null);
            }
        }

        void failed(Throwable t) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof io.vertx.core.http.HttpClosedException) {
                release(); // the client went away: nothing to answer
                done.set(true);
                return;
            }
            if (t instanceof io.netty.handler.codec.http.multipart.HttpPostRequestDecoder.TooManyFormFieldsException
                    || (message.contains("field") && (message.contains("too many") || message.contains("exceed")))) {
                refuse(413, "too-many-parts", "Too many form parts",
                        "A multipart request may have at most " + config.http().maxFormParts() + " parts", Map.of("limit", config.http().maxFormParts()));
            } else if (message.contains("size exceed") || message.contains("too long") || message.contains("too large")) {
                refuse(413, "body-too-large", "Request too large", "The request is larger than this server accepts", Map.of("limit_bytes", maxBody));
            } else {
                refuse(400, "malformed-multipart", "Malformed multipart body", "The request body is not valid multipart/form-data", Map.of());
            }
        }

        void complete() {
            if (done.get()) {
                return;
            }
            MultiMap fields = rc.request().formAttributes();
            if (fields.size() + files.size() > config.http().maxFormParts()) {
                refuse(413, "too-many-parts", "Too many form parts",
                        "A multipart request may have at most " + config.http().maxFormParts() + " parts", Map.of("limit", config.http().maxFormParts()));
                return;
            }
            for (Map.Entry<String, String> e : fields) {
                if (e.getValue().length() > config.http().maxFormField()) {
                    refuse(422, "field-too-long", "Field too long", "The field '" + e.getKey() + "' has " + e.getValue().length()
                            + " characters; a form field may have at most " + config.http().maxFormField(), Map.of("field", e.getKey()));
                    return;
                }
                String refusal = TextRules.refusal(e.getValue());
                if (refusal != null) {
                    refuse(422, "invalid-characters", "Invalid characters", "The field '" + e.getKey() + "' " + refusal, Map.of("field", e.getKey()));
                    return;
                }
            }
            done.set(true);
            rc.put(UploadedForm.KEY, new UploadedForm(fields, List.copyOf(files)));
            rc.next();
        }
    }
}
