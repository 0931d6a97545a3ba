//! Finding a stored alert by its identity (integration and fingerprint).
//!
//! PostgreSQL keeps a unique index on `alerts (integration_id,
//! fingerprint)`. SQLite keeps identities in two key tables instead
//! (migration `0011_alert_keys.sql`): fingerprints are hashes, so each new
//! alert landed on a random leaf of one large index, and a batch of new
//! alerts rewrote about one index page per alert. A trigger puts each new
//! identity into the small `alert_keys_recent`; the settler here moves
//! them into `alert_keys` in key order, many at once, so each page of the
//! large table is written once per move rather than once per alert. A
//! lookup asks both tables; a move is one transaction, so every reader
//! finds an identity in exactly one of them.

use crate::{Backend, Store, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// New identities written before the settler moves them: enough that a
/// move writes each page of `alert_keys` it touches for many alerts, few
/// enough that `alert_keys_recent` stays a few dozen pages.
pub(crate) const SETTLE_AFTER: u64 = 8_192;

/// SQLite: the condition "this `alerts` row is an alert of integration
/// `integration` whose fingerprint is in `fingerprints`" (SQL: an
/// expression, and a list or a subquery), answered from both key tables.
pub(crate) fn sqlite_alert_with_fingerprint_in(integration: &str, fingerprints: &str) -> String {
    format!(
        "alerts.id IN (SELECT alert_id FROM alert_keys WHERE integration_id = {integration} AND fingerprint IN ({fingerprints}) \
         UNION ALL SELECT alert_id FROM alert_keys_recent WHERE integration_id = {integration} AND fingerprint IN ({fingerprints}))"
    )
}

/// SQLite: the ids of the alerts of integration `integration` with the
/// fingerprints in column `value` of `fingerprints` (SQL: an expression,
/// and a query such as `json_each`), one row each as column `target`
/// (NULL where there is none). Each is found with one probe of the table
/// that holds it (the recent table only when the settled one has not).
pub(crate) fn sqlite_alert_ids(integration: &str, fingerprints: &str) -> String {
    format!(
        "SELECT {} AS target FROM ({fingerprints}) AS f",
        sqlite_alert_id(integration, "f.value")
    )
}

/// SQLite: the id of the alert of integration `integration` with
/// fingerprint `fingerprint` (SQL expressions), NULL when there is none.
pub(crate) fn sqlite_alert_id(integration: &str, fingerprint: &str) -> String {
    format!(
        "COALESCE((SELECT alert_id FROM alert_keys WHERE integration_id = {integration} AND fingerprint = {fingerprint}), \
         (SELECT alert_id FROM alert_keys_recent WHERE integration_id = {integration} AND fingerprint = {fingerprint}))"
    )
}

/// SQLite: the condition "no alert of integration `integration` has
/// fingerprint `fingerprint`" (SQL expressions).
pub(crate) fn sqlite_no_alert_with(integration: &str, fingerprint: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM alert_keys WHERE integration_id = {integration} AND fingerprint = {fingerprint}) \
         AND NOT EXISTS (SELECT 1 FROM alert_keys_recent WHERE integration_id = {integration} AND fingerprint = {fingerprint})"
    )
}

/// How many identities were written since the last move, and whether a
/// move is under way (one at a time).
#[derive(Default)]
pub(crate) struct Settler {
    written: AtomicU64,
    moving: AtomicBool,
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

    /// Moves every recent alert identity into the settled key table, in
    /// one durable transaction; how many moved. Nothing to do on
    /// PostgreSQL.
    ///
    /// A transaction of its own, without a savepoint (see
    /// [`Store::write_alone`]): the move rewrites a page of `alert_keys`
    /// per few recent keys, and a savepoint would copy each of those pages
    /// into memory first, as much as the table is large. `OR IGNORE`
    /// keeps the insert from opening a statement journal for the same
    /// copies (there is nothing to ignore: an identity is in one table).
    pub async fn settle_alert_keys(&self) -> Result<u64, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(0);
        }
        // Nothing recent: no need to take the writer lock.
        let recent: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT count(*) AS recent FROM alert_keys_recent")
                .fetch_one(self.pool())
                .await?,
            "recent",
        )?;
        if recent == 0 {
            return Ok(0);
        }
        // One transaction under the writer lock: no identity arrives
        // between the copy and the delete, and none is in both tables for
        // a reader.
        let changed = self
            .write_alone(&[
                "INSERT OR IGNORE INTO alert_keys (integration_id, fingerprint, alert_id) \
                 SELECT integration_id, fingerprint, alert_id FROM alert_keys_recent",
                "DELETE FROM alert_keys_recent",
            ])
            .await?;
        Ok(changed.first().copied().unwrap_or(0))
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
