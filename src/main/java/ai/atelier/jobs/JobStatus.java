package ai.atelier.jobs;

import java.util.Locale;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;

/** A job's life: queued → running → succeeded | failed | cancelled. Stored and shown in lower case. */
public enum JobStatus {
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    public static JobStatus parse(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }

    /** Maps the enum to the lower-case words the table's check constraint allows. */
    @Converter(autoApply = true)
    public static class Column implements AttributeConverter<JobStatus, String> {
        @Override
        public String convertToDatabaseColumn(JobStatus status) {
            return status == null ? null : status.wire();
        }

        @Override
        public JobStatus convertToEntityAttribute(String s) {
            return s == null ? null : parse(s);
        }
    }
}
