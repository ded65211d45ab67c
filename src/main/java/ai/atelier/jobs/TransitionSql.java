package ai.atelier.jobs;

import ai.atelier.webhooks.WebhookDeliveries;
import ai.atelier.webhooks.WebhookEvent;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * A statement that moves a job, in the forms it is sent in: with or without the spend it carries (ledger rows and their
 * sum: {@link ai.atelier.usage.Ledger#TRANSITION_SPEND}), with or without the webhook delivery it queues
 * ({@link WebhookDeliveries#queued}). Each form is one prepared statement, as before; the parts a transition has are
 * still written in its own statement.
 *
 * <p>Why forms: a CTE that writes nothing still costs. PostgreSQL opens and locks its table and every index of that table
 * at each execution, and most transitions carry neither part (a job's start has no spend yet; most jobs have no webhook).
 * Measured with a job's three statements alone (20,000 jobs over 8 connections, PostgreSQL 17 with the benchmark's
 * settings): 0.433 ms of PostgreSQL's CPU per job with both parts always present, 0.401 without the empty delivery,
 * 0.377 without the start's empty spend as well.
 *
 * <p>A template marks two places: {@value #COST} in the moving statement's SET list (the job's cost grows by the sum) and
 * {@value #CTES} right after the CTE that moves the job. Parameters: the statement's own ({@code $1} to {@code $own}),
 * then the spend's two (ledger rows as JSON, their sum) when it carries one, then the delivery's three (id, type,
 * payload) when it queues one.
 */
final class TransitionSql {

    static final String COST = "<cost>";
    static final String CTES = "<ctes>";

    /** By {@code (spend ? 1 : 0) | (delivery ? 2 : 0)}. */
    private final String[] forms = new String[4];
    private final int own;
    private final boolean spends;

    private TransitionSql(String template, String from, int own) {
        this.own = own;
        this.spends = template.contains(COST);
        for (int form = 0; form < 4; form++) {
            boolean spend = (form & 1) != 0;
            boolean delivery = (form & 2) != 0;
            if (spend && !spends) {
                continue;
            }
            int next = own + 1;
            StringBuilder ctes = new StringBuilder();
            String cost = "";
            if (spend) {
                cost = "cost_usd = case when $%1$d::numeric > 0 then coalesce(cost_usd, 0) + $%1$d else cost_usd end, ".formatted(next + 1);
                ctes.append(",\n").append(ai.atelier.usage.Ledger.TRANSITION_SPEND.formatted("$" + next, "$" + (next + 1), from));
                next += 2;
            }
            if (delivery) {
                ctes.append(",\nhook as (").append(WebhookDeliveries.queued("$" + next, "$" + (next + 1), "$" + (next + 2), from)).append(")");
            }
            forms[form] = template.replace(COST, cost).replace(CTES, ctes);
        }
    }

    /** {@code from} names the CTE that moves the job (it returns the job's id and tenant); {@code own} counts the template's parameters. */
    static TransitionSql of(String template, String from, int own) {
        return new TransitionSql(template, from, own);
    }

    /** The form for this spend and event (either may be absent), with their parameters added to {@code t} after the statement's own. */
    String sql(Tuple t, JobRepository.Spend spend, WebhookEvent e) {
        if (t.size() != own) {
            throw new IllegalStateException("a transition with " + own + " parameters of its own was given " + t.size());
        }
        boolean spending = spend != null && (!spend.ledger().isEmpty() || spend.usd().signum() != 0);
        if (spending) {
            if (!spends) {
                throw new IllegalStateException("this statement carries no spend");
            }
            t.addValue(spend.ledger()).addBigDecimal(spend.usd());
        }
        if (e != null) {
            t.addUUID(e.deliveryId()).addString(e.type()).addString(e.payload());
        }
        return forms[(spending ? 1 : 0) | (e != null ? 2 : 0)];
    }
}
