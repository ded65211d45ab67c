package ai.atelier.compat;

import jakarta.inject.Singleton;

import ai.atelier.jobs.JobView;
import ai.atelier.jobs.JobViewFormat;

/** The prototypes' status answers as live-store formats: a seed client's status poll of a job it submitted is one Redis read too. */
final class LegacyFormats {

    private LegacyFormats() {
    }

    /** Seed 001's {@code GET /api/{session_id}/status}. */
    @Singleton
    static class Seed001 implements JobViewFormat {
        static final String NAME = "seed001";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String source() {
            return Seed001Resource.SOURCE;
        }

        @Override
        public String statusRoute() {
            return "/api/{session_id}/status";
        }

        @Override
        public Object render(JobView j) {
            return new Seed001Resource.Status(j.id().toString(), LegacyStatus.word(j.status()), j.progress(), Seed001Resource.message(j),
                    LegacyStatus.resultUrl(j), LegacyStatus.error(j));
        }
    }

    /** Seed 000's {@code GET /api/jobs/{job_id}}. */
    @Singleton
    static class Seed000 implements JobViewFormat {
        static final String NAME = "seed000";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String source() {
            return Seed000Resource.SOURCE;
        }

        @Override
        public String statusRoute() {
            return "/api/jobs/{job_id}";
        }

        @Override
        public Object render(JobView j) {
            return Seed000Resource.legacy(j);
        }
    }
}
