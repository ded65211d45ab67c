package ai.atelier.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/** Reads rows straight from PostgreSQL, beside the application, to check what it really stored. */
public final class Db {

    private Db() {
    }

    public static Map<String, Object> job(UUID id) {
        Map<String, Object> row = queryOne("select * from jobs where id = ?", id);
        if (row == null) {
            throw new AssertionError("no row for job " + id);
        }
        return row;
    }

    private static Connection connect() throws java.sql.SQLException {
        Config config = ConfigProvider.getConfig();
        return DriverManager.getConnection(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("atelier-local.db-admin-user", String.class), "");
    }

    /**
     * Runs {@code sql} (a {@code select ... for update}) in a transaction left open: the rows it locked stay locked, and
     * any statement of the application that needs them waits, until the answer is closed (the transaction rolled back).
     */
    public static AutoCloseable holdingLocks(String sql, Object... args) throws java.sql.SQLException {
        Connection c = connect();
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeQuery().close();
        }
        return () -> {
            try (c) {
                c.rollback();
            }
        };
    }

    public static long count() {
        return count("true");
    }

    public static long count(String where) {
        return ((Number) queryOne("select count(*) as n from jobs where " + where).get("n")).longValue();
    }

    public static void execute(String sql, Object... args) {
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeUpdate();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, Object> queryOne(String sql, Object... args) {
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                ResultSetMetaData md = rs.getMetaData();
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    Object v = rs.getObject(i);
                    row.put(md.getColumnName(i), v == null ? null : v instanceof org.postgresql.util.PGobject pg ? pg.getValue() : v);
                }
                return row;
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every row a query answers, each as column → value (jsonb as text). */
    public static java.util.List<Map<String, Object>> queryAll(String sql, Object... args) {
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                java.util.List<Map<String, Object>> rows = new java.util.ArrayList<>();
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Object v = rs.getObject(i);
                        row.put(md.getColumnName(i), v == null ? null : v instanceof org.postgresql.util.PGobject pg ? pg.getValue() : v);
                    }
                    rows.add(row);
                }
                return rows;
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
