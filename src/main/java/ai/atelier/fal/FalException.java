package ai.atelier.fal;

import java.time.Duration;
import java.util.Optional;

/**
 * A fal call that did not give a usable answer: an HTTP status with fal's {@code detail} and
 * {@code error_type}, or no answer at all (status 0). Knows whether trying again can help.
 */
public class FalException extends RuntimeException {

    private final int status;
    private final String errorType;
    private final Duration retryAfter;
    private final boolean userTimeout;
    private final boolean mayRetry;

    public FalException(int status, String errorType, String message, Duration retryAfter, boolean userTimeout) {
        this(status, errorType, message, retryAfter, userTimeout, true);
    }

    private FalException(int status, String errorType, String message, Duration retryAfter, boolean userTimeout, boolean mayRetry) {
        super(message, null, false, false);
        this.status = status;
        this.errorType = errorType;
        this.retryAfter = retryAfter;
        this.userTimeout = userTimeout;
        this.mayRetry = mayRetry;
    }

    /** The same failure, never retried: for a call that may have been billed (see {@link #surelyNotTaken}). */
    public FalException notToRetry() {
        return new FalException(status, errorType, getMessage(), retryAfter, userTimeout, false);
    }

    public int status() {
        return status;
    }

    public String errorType() {
        return errorType;
    }

    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** 429, 502, 503, 504 and lost connections may pass; a 504 for the caller's own request timeout must not be retried. */
    public boolean retryable() {
        if (userTimeout || !mayRetry) {
            return false;
        }
        return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
    }

    /**
     * Whether fal surely did not take the request, so sending it again cannot make fal run it twice:
     * fal refused it (429, 503) or the connection never carried it. A timeout, a 502 or a 504 after
     * sending is ambiguous: the request may be running, and a second one would be paid for too.
     */
    /** Whether the failure says fal is in trouble (counted by the circuit breaker); a refusal of the request itself (4xx) is not. */
    public boolean againstFal() {
        return status == 0 || status == 429 || status >= 500;
    }

    public boolean surelyNotTaken() {
        return status == 429 || status == 503 || (status == 0 && ("connection_error".equals(errorType) || "circuit_open".equals(errorType)));
    }

    /** A stable code for the job's error column. */
    public String code() {
        if (status == 422) {
            return "fal_validation";
        }
        // our own limits first: a deadline is also never retried, but it is not fal's user timeout
        if ("circuit_open".equals(errorType) || "deadline".equals(errorType)) {
            return "fal_" + errorType;
        }
        if (userTimeout) {
            return "fal_request_timeout";
        }
        if (status == 0) {
            return "fal_unreachable";
        }
        return errorType != null ? "fal_" + errorType : "fal_http_" + status;
    }
}
