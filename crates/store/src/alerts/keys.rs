//! Finding a stored alert by its identity (integration and fingerprint).
//!
//! PostgreSQL keeps a unique index on `alerts (integration_id,
//! fingerprint)`. SQLite keeps identities in three key tables instead
//! (migrations `0011_alert_keys.sql` and `0012_alert_keys_settling.sql`):
//! fingerprints are hashes, so each new alert landed on a random leaf of
//! one large index, and a batch of new alerts rewrote about one index page
//! per alert. A trigger puts each new identity into the small
//! `alert_keys_recent`; the settler here moves them, many at once, into
//! the middle-sized `alert_keys_settling`, and once that holds many, all
//! of those into the large `alert_keys`. Each move writes the pages of its
//! target in key order, once per move rather than once per alert; the
//! middle level keeps the moves into the large table rare, as each writes
//! nearly all of its pages. A lookup asks all three tables; a move is one
//! transaction, so every reader finds an identity in exactly one of them.

use crate::{Backend, Store, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// New identities written before the settler moves them on: enough that
/// a move writes each page of `alert_keys_settling` it touches for many
/// alerts, few enough that `alert_keys_recent` stays a few dozen pages (a
/// batch of new alerts writes most of them).
pub(crate) const SETTLE_AFTER: u64 = 8_192;

/// Identities `alert_keys_settling` holds before they all move on into
/// `alert_keys`: eight moves of recent keys. Enough that the rare move
/// into the large table writes each of its pages for many alerts, few
/// enough that the settling table stays a couple of MiB.
pub(crate) const SETTLED_AFTER: i64 = 65_536;

/// The key tables, in the order lookups ask them: the settled one first,
/// where most identities of a long-running store are.
const KEY_TABLES: [&str; 3] = ["alert_keys", "alert_keys_settling", "alert_keys_recent"];

/// SQLite: the condition "this `alerts` row is an alert of integration
/// `integration` whose fingerprint is in `fingerprints`" (SQL: an
/// expression, and a list or a subquery), answered from every key table.
pub(crate) fn sqlite_alert_with_fingerprint_in(integration: &str, fingerprints: &str) -> String {
    let ids = KEY_TABLES.map(|table| {
        format!(
            "SELECT alert_id FROM {table} WHERE integration_id = {integration} AND fingerprint IN ({fingerprints})"
        )
    });
    format!("alerts.id IN ({})", ids.join(" UNION ALL "))
}

/// SQLite: the ids of the alerts of integration `integration` with the
/// fingerprints in column `value` of `fingerprints` (SQL: an expression,
/// and a query such as `json_each`), one row each as column `target`
/// (NULL where there is none). Each is found with one probe of the table
/// that holds it (and of those asked before it).
pub(crate) fn sqlite_alert_ids(integration: &str, fingerprints: &str) -> String {
    format!(
        "SELECT {} AS target FROM ({fingerprints}) AS f",
        sqlite_alert_id(integration, "f.value")
    )
}

/// SQLite: the id of the alert of integration `integration` with
/// fingerprint `fingerprint` (SQL expressions), NULL when there is none.
pub(crate) fn sqlite_alert_id(integration: &str, fingerprint: &str) -> String {
    let ids = KEY_TABLES.map(|table| {
        format!(
            "(SELECT alert_id FROM {table} WHERE integration_id = {integration} AND fingerprint = {fingerprint})"
        )
    });
    format!("COALESCE({})", ids.join(", "))
}

/// SQLite: the condition "no alert of integration `integration` has
/// fingerprint `fingerprint`" (SQL expressions).
pub(crate) fn sqlite_no_alert_with(integration: &str, fingerprint: &str) -> String {
    KEY_TABLES
        .map(|table| {
            format!(
                "NOT EXISTS (SELECT 1 FROM {table} WHERE integration_id = {integration} AND fingerprint = {fingerprint})"
            )
        })
        .join(" AND ")
}

/// How many identities were written since the last move, and whether a
/// move is under way (one at a time).
#[derive(Default)]
pub(crate) struct Settler {
    written: AtomicU64,
    moving: AtomicBool,
}

/// How far [`Store::settle_alert_keys_to`] moves identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveInto {
    /// Recent ones into the settling table, and those on into the settled
    /// one once there are [`SETTLED_AFTER`] of them.
    WhenDue,
    /// Every identity into the settled table.
    Settled,
}

impl Store {
    /// Notes that `n` new alerts were stored; once enough have been since
    /// the last move, starts one in the background (SQLite).
    pub(crate) fn alert_keys_written(&self, n: u64) {
        if self.backend() != Backend::Sqlite || n == 0 {
            return;
        }
        let settler = &self.alert_keys;
        if settler.written.fetch_add(n, Ordering::Relaxed) + n < SETTLE_AFTER {
            return;
        }
        if settler.moving.swap(true, Ordering::AcqRel) {
            return;
        }
        settler.written.store(0, Ordering::Relaxed);
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.settle_alert_keys().await {
                tracing::warn!(error = %e, "moving recent alert keys failed; retried after the next alerts");
            }
            store.alert_keys.moving.store(false, Ordering::Release);
        });
    }

    /// Moves every recent alert identity into the settling table, and
    /// the settling ones into the settled table once there are
    /// [`SETTLED_AFTER`] of them; how many recent ones moved. What the
    /// background settler runs. Nothing to do on PostgreSQL.
    pub async fn settle_alert_keys(&self) -> Result<u64, StoreError> {
        self.settle_alert_keys_to(MoveInto::WhenDue).await
    }

    /// Moves every alert identity into the settled table; how many recent
    /// ones moved. Nothing to do on PostgreSQL.
    pub async fn settle_all_alert_keys(&self) -> Result<u64, StoreError> {
        self.settle_alert_keys_to(MoveInto::Settled).await
    }

    /// Each move is a durable transaction of its own, without a savepoint
    /// (see [`Store::write_alone`]): a move rewrites a page of its target
    /// per few identities, and a savepoint would copy each of those pages
    /// into memory first, as much as the table is large. `OR IGNORE` keeps
    /// the insert from opening a statement journal for the same copies
    /// (there is nothing to ignore: an identity is in one table).
    async fn settle_alert_keys_to(&self, how_far: MoveInto) -> Result<u64, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(0);
        }
        // Nothing to move: no need to take the writer lock.
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM alert_keys_recent) AS recent, \
             (SELECT count(*) FROM alert_keys_settling) AS settling",
        )
        .fetch_one(self.pool())
        .await?;
        let recent: i64 = sqlx::Row::try_get(&row, "recent")?;
        let settling: i64 = sqlx::Row::try_get(&row, "settling")?;
        // Each move under the writer lock: no identity arrives between the
        // copy and the delete, and none is in two tables for a reader.
        let mut moved = 0;
        if recent > 0 {
            let changed = self
                .write_alone(&[
                    "INSERT OR IGNORE INTO alert_keys_settling (integration_id, fingerprint, alert_id) \
                     SELECT integration_id, fingerprint, alert_id FROM alert_keys_recent",
                    "DELETE FROM alert_keys_recent",
                ])
                .await?;
            moved = changed.first().copied().unwrap_or(0);
        }
        let settling = settling.saturating_add(i64::try_from(moved).unwrap_or(i64::MAX));
        let due = match how_far {
            MoveInto::WhenDue => settling >= SETTLED_AFTER,
            MoveInto::Settled => settling > 0,
        };
        if due {
            self.write_alone(&[
                "INSERT OR IGNORE INTO alert_keys (integration_id, fingerprint, alert_id) \
                 SELECT integration_id, fingerprint, alert_id FROM alert_keys_settling",
                "DELETE FROM alert_keys_settling",
            ])
            .await?;
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    //! The move of identities out of the unique index (migration 0011) on
    //! a database that already holds alerts.
    use crate::Store;
    use sqlx::migrate::Migrator;
    use sqlx::{Connection, Executor, Row, SqliteConnection};

    const INSERT_ALERT: &str = "INSERT INTO alerts (id, integration_id, fingerprint, source, status, labels, \
        annotations, summary, severity, service_id, action, first_seen, last_seen, started_at, count, \
        occurrences, flapping, flap) VALUES ($1, 1, $2, 'generic', 'firing', '{}', '{}', 's', 'critical', \
        NULL, 'page', 0, 0, 0, 1, 1, 0, '{}')";

    #[tokio::test]
    async fn stored_alerts_keep_their_ids_and_get_settled_keys() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let mut conn = SqliteConnection::connect(&url).await.expect("connects");
        // The migrations before this one, as a directory of their own.
        let older = dir.path().join("migrations");
        std::fs::create_dir(&older).expect("a directory");
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).expect("the migrations") {
            let path = entry.expect("an entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if name.as_str() < "0011" {
                std::fs::copy(&path, older.join(&name)).expect("copied");
            }
        }
        let before = Migrator::new(older.as_path()).await.expect("a migrator");
        before.run(&mut conn).await.expect("migrations before 0011");
        conn.execute(
            "INSERT INTO users (id, username, display_name, role, created_at) VALUES (1, 'admin', 'Admin', 'admin', 0); \
             INSERT INTO services (id, name, tier, created_at) VALUES (1, 'Checkout', 1, 0); \
             INSERT INTO alert_integrations (id, name, service_id, key_hash, key_prefix, config, created_by, \
             created_at, updated_at) VALUES (1, 'prometheus', 1, 'hash', 'prefix', '{}', 1, 0, 0)",
        )
        .await
        .expect("an integration");
        for (id, fingerprint) in [(3_i64, "00000000000000bb"), (7, "00000000000000aa")] {
            sqlx::query(INSERT_ALERT)
                .bind(id)
                .bind(fingerprint)
                .execute(&mut conn)
                .await
                .expect("an alert");
        }
        // The last id handed out was higher than any kept (a rolled-back
        // row never reuses its id either).
        sqlx::query("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'alerts'")
            .execute(&mut conn)
            .await
            .expect("sequence");
        conn.close().await.expect("closes");

        let store = Store::open(&url).await.expect("migrates the rest");
        let keys: Vec<(String, i64)> =
            sqlx::query("SELECT fingerprint, alert_id FROM alert_keys ORDER BY fingerprint")
                .fetch_all(store.pool())
                .await
                .expect("keys")
                .iter()
                .map(|r| (r.get("fingerprint"), r.get("alert_id")))
                .collect();
        assert_eq!(
            keys,
            vec![
                ("00000000000000aa".to_string(), 7),
                ("00000000000000bb".to_string(), 3)
            ]
        );
        let recent: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alert_keys_recent")
            .fetch_one(store.pool())
            .await
            .expect("count")
            .get("n");
        assert_eq!(recent, 0);

        let mut conn = SqliteConnection::connect(&url).await.expect("connects");
        sqlx::query(INSERT_ALERT)
            .bind(None::<i64>)
            .bind("00000000000000cc")
            .execute(&mut conn)
            .await
            .expect("a new alert");
        let (id, key): (i64, i64) = sqlx::query(
            "SELECT a.id AS id, k.alert_id AS key FROM alerts a \
             JOIN alert_keys_recent k ON k.fingerprint = a.fingerprint",
        )
        .fetch_one(&mut conn)
        .await
        .map(|r| (r.get("id"), r.get("key")))
        .expect("the new alert's key is recent");
        assert_eq!((id, key), (10, 10), "ids go on from the last handed out");
        let refused =
            sqlx::query("UPDATE alerts SET fingerprint = '00000000000000dd' WHERE id = 10")
                .execute(&mut conn)
                .await;
        assert!(refused.is_err(), "an identity never changes");
        conn.close().await.expect("closes");
        store.close().await;
    }
}

#[cfg(test)]
mod settling {
    //! When settling identities move on into the settled table.
    use super::SETTLED_AFTER;
    use crate::testing::TestDb;
    use sqlx::Row;

    /// Fills `table` with `n` made-up identities numbered from `from`.
    async fn fill(db: &TestDb, table: &str, from: i64, n: i64) {
        crate::rows::dynamic_query(&format!(
            "WITH RECURSIVE i(k) AS (SELECT $1 UNION ALL SELECT k + 1 FROM i WHERE k < $1 + $2 - 1) \
             INSERT INTO {table} (integration_id, fingerprint, alert_id) \
             SELECT 1, printf('%016x', k), k FROM i WHERE $2 > 0"
        ))
        .bind(from)
        .bind(n)
        .execute(db.store.pool())
        .await
        .expect("identities");
    }

    async fn count(db: &TestDb, table: &str) -> i64 {
        crate::rows::dynamic_query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(db.store.pool())
            .await
            .expect("a count")
            .get("n")
    }

    /// Table-driven: identities already settling, recent ones, and where
    /// each level stands after one move of the background settler.
    #[tokio::test]
    async fn settling_identities_move_on_once_there_are_enough() {
        let cases = [
            // (settling before, recent, settling after, settled after)
            (0, 10, 10, 0),
            (SETTLED_AFTER - 11, 10, SETTLED_AFTER - 1, 0),
            (SETTLED_AFTER - 10, 10, 0, SETTLED_AFTER),
            (SETTLED_AFTER, 0, 0, SETTLED_AFTER),
        ];
        for (settling, recent, settling_after, settled_after) in cases {
            let db = TestDb::sqlite().await;
            fill(&db, "alert_keys_settling", 0, settling).await;
            fill(&db, "alert_keys_recent", settling, recent).await;
            let moved = db.store.settle_alert_keys().await.expect("moved");
            let case = format!("{settling} settling, {recent} recent");
            assert_eq!(moved, recent as u64, "{case}");
            assert_eq!(count(&db, "alert_keys_recent").await, 0, "{case}");
            assert_eq!(
                count(&db, "alert_keys_settling").await,
                settling_after,
                "{case}"
            );
            assert_eq!(count(&db, "alert_keys").await, settled_after, "{case}");
            db.cleanup().await;
        }
    }
}
