package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import ai.atelier.webhooks.WebhookEvent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Tuple;

/** Each form binds exactly the parameters its SQL names, and names only the parts it carries. */
class TransitionSqlTest {

    private static final TransitionSql MOVE = TransitionSql.of("""
            with done as (
                update jobs set status = 'failed', error_code = $3, <cost>updated_at = now()
                where id = $1 and lease_owner = $2
                returning id, tenant)<ctes>
            select id from done""", "done", 3);

    private static final JobRepository.Spend SPEND = new JobRepository.Spend(new JsonArray().add(new JsonObject().put("usd", 0.003)),
            new BigDecimal("0.003"));
    private static final WebhookEvent EVENT = new WebhookEvent(UUID.randomUUID(), "job.failed", "{\"data\":{}}");

    private static Tuple own() {
        return Tuple.tuple().addUUID(UUID.randomUUID()).addString("owner").addString("code");
    }

    /** The highest $n the statement names. */
    private static int highest(String sql) {
        Matcher m = Pattern.compile("\\$(\\d+)").matcher(sql);
        int max = 0;
        while (m.find()) {
            max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max;
    }

    @Test
    void thePlainFormNamesNeitherPartAndBindsOnlyItsOwn() {
        Tuple t = own();
        String sql = MOVE.sql(t, JobRepository.Spend.NONE, null);
        assertThat(t.size()).isEqualTo(3).isEqualTo(highest(sql));
        assertThat(sql).doesNotContain("ledger", "tenant_spend", "webhook_deliveries", "cost_usd", "<");
    }

    @Test
    void aSpendAddsTheLedgerRowsTheSumAndTheCostAfterTheStatementsOwnParameters() {
        Tuple t = own();
        String sql = MOVE.sql(t, SPEND, null);
        assertThat(t.size()).isEqualTo(5).isEqualTo(highest(sql));
        assertThat(t.getValue(3)).isEqualTo(SPEND.ledger());
        assertThat(t.getValue(4)).isEqualTo(SPEND.usd());
        assertThat(sql).contains("insert into ledger", "insert into tenant_spend", "cost_usd = case when $5::numeric > 0")
                .doesNotContain("webhook_deliveries");
    }

    @Test
    void aDeliveryComesLastWithOrWithoutASpend() {
        Tuple t = own();
        String sql = MOVE.sql(t, null, EVENT);
        assertThat(t.size()).isEqualTo(6).isEqualTo(highest(sql));
        assertThat(t.getValue(3)).isEqualTo(EVENT.deliveryId());
        assertThat(sql).contains("insert into webhook_deliveries").doesNotContain("ledger");

        Tuple both = own();
        String all = MOVE.sql(both, SPEND, EVENT);
        assertThat(both.size()).isEqualTo(8).isEqualTo(highest(all));
        assertThat(both.getValue(5)).isEqualTo(EVENT.deliveryId());
        assertThat(both.getValue(7)).isEqualTo(EVENT.payload());
        assertThat(all).contains("insert into ledger", "insert into webhook_deliveries");
    }

    @Test
    void ledgerRowsWithoutASumAreStillWritten() {
        // a call that cost nothing (a cache hit's saved spend) is still in the ledger
        JobRepository.Spend free = new JobRepository.Spend(new JsonArray().add(new JsonObject().put("usd", 0)), BigDecimal.ZERO);
        Tuple t = own();
        assertThat(MOVE.sql(t, free, null)).contains("insert into ledger");
        assertThat(t.size()).isEqualTo(5);
    }

    @Test
    void aStatementWithoutACostRefusesASpendAndTheWrongNumberOfParameters() {
        TransitionSql insert = TransitionSql.of("with job as (insert into jobs (id) values ($1) returning id, tenant)<ctes> select 1", "job", 1);
        assertThatThrownBy(() -> insert.sql(Tuple.of(UUID.randomUUID()), SPEND, null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> MOVE.sql(Tuple.of(UUID.randomUUID()), null, null)).isInstanceOf(IllegalStateException.class);
        Tuple t = Tuple.of(UUID.randomUUID());
        assertThat(insert.sql(t, null, EVENT)).contains("$4::text").doesNotContain("$5");
    }
}
