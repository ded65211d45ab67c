package ai.atelier.config;

import jakarta.inject.Singleton;

import io.quarkus.reactive.pg.client.PgPoolCreator;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;

/**
 * The application's PostgreSQL pool, as Quarkus configures it, with every statement prepared once per connection
 * and kept. Quarkus's switch for that ({@code quarkus.datasource.reactive.cache-prepared-statements}) leaves the
 * Vert.x client's limit of 2,048 characters per cached statement, and a job's transitions are longer (one guarded
 * UPDATE with its ledger rows, spend and webhook delivery as CTEs): each was parsed and planned again on every call,
 * PostgreSQL spending more time planning them than running them.
 */
@Singleton
public class PostgresPool implements PgPoolCreator {

    /** Longer than the longest statement Atelier sends (the finish transition is about 3,000 characters). */
    static final int CACHED_SQL_LIMIT = 16_384;
    /** Distinct statements a connection keeps prepared: Atelier sends about a hundred. */
    static final int CACHED_STATEMENTS = 512;

    @Override
    public Pool create(Input input) {
        for (PgConnectOptions options : input.pgConnectOptionsList()) {
            options.setCachePreparedStatements(true).setPreparedStatementCacheSqlLimit(CACHED_SQL_LIMIT)
                    .setPreparedStatementCacheMaxSize(CACHED_STATEMENTS);
        }
        return PgBuilder.pool().with(input.poolOptions()).connectingTo(java.util.List.<io.vertx.sqlclient.SqlConnectOptions>copyOf(input.pgConnectOptionsList())).using(input.vertx()).build();
    }
}
