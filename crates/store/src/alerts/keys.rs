//! Finding a stored alert by its identity (integration and fingerprint).
//!
//! PostgreSQL keeps a unique index on `alerts (integration_id,
//! fingerprint)`. SQLite keeps identities in three key tables instead
//! (migrations `0011_alert_keys.sql` to `0014_alert_key_file.sql`):
//! fingerprints are hashes, so each new alert landed on a random leaf of
//! one large index, and a batch of new alerts rewrote about one index page
//! per alert. A trigger puts each new identity into the small
//! `alert_keys_recent`; the settler here moves them, many at once, into
//! the middle-sized `alert_keys_settling`, and once that holds many, all
//! of those into the large `alert_keys`. Each move writes the pages of its
//! target in key order, once per move rather than once per alert; the
//! middle level keeps the moves into the large table rare, as each writes
//! nearly all of its pages.
//!
//! The settling and settled tables live in a file of their own beside the
//! database ([`KEY_FILE_SUFFIX`]), attached to every connection as schema
//! `keys`. SQLite lets one connection at a time write a file, so in the
//! database itself each move stopped intake for its whole length; in the
//! key file the moves run on a connection of their own while intake goes
//! on, and the writer takes its lock only to drop the moved identities
//! from the recent table.
//!
//! A lookup asks all three tables. An identity is in the recent table
//! until the move that copied it on has committed, so between the two it
//! is in two tables, with the same alert, and never in none: a statement
//! takes its snapshot of the database before that of the key file (SQLite
//! starts the read of `main` first), and the recent rows go only after the
//! copy is durable.
//!
//! The key file holds nothing the database does not: when the store opens
//! and the file is missing, belongs to another database (a restored
//! backup, a copied file) or does not account for every alert, it is built
//! again from `alerts` ([`Store::open_alert_key_file`]).

use crate::{Backend, Store, StoreError};
use sqlx::{AnyConnection, Executor, Row};
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

/// The key file's name: the database file's with this appended (SQLite's
/// own files beside it end in `-wal` and `-shm`).
pub const KEY_FILE_SUFFIX: &str = "-keys";

/// How much of the key file the writer reads through a memory map (1 GiB,
/// some 25 million identities). The writer probes the key tables for
/// every alert of every batch; other connections write the file, and
/// SQLite then drops the writer's cached pages of it, which it read back
/// one system call each. Mapped, it reads them in place. Only the writer
/// maps it, so the mapped pages count once towards the server's memory.
const WRITER_KEY_FILE_MMAP_PRAGMA: &str = "PRAGMA keys.mmap_size = 1073741824";

/// The key file's tables. Made when the store opens, so a missing file is
/// made again; the token says which database's alerts they hold (the
/// database's own is in `alert_key_file`, migration 0014).
const KEY_FILE_SCHEMA: &str = "\
    CREATE TABLE IF NOT EXISTS keys.alert_keys (\
        fingerprint TEXT NOT NULL, integration_id INTEGER NOT NULL, alert_id INTEGER NOT NULL, \
        PRIMARY KEY (fingerprint, integration_id)) WITHOUT ROWID;\
    CREATE TABLE IF NOT EXISTS keys.alert_keys_settling (\
        fingerprint TEXT NOT NULL, integration_id INTEGER NOT NULL, alert_id INTEGER NOT NULL, \
        PRIMARY KEY (fingerprint, integration_id)) WITHOUT ROWID;\
    CREATE TABLE IF NOT EXISTS keys.alert_key_owner (\
        id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL);";

/// The key tables, in the order lookups ask them: the settled one first,
/// where most identities of a long-running store are.
const KEY_TABLES: [&str; 3] = ["alert_keys", "alert_keys_settling", "alert_keys_recent"];

/// Which connection attaches the key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFileUser {
    /// The writer: maps the file (see [`WRITER_KEY_FILE_MMAP_PRAGMA`]).
    Writer,
    /// The pooled connections: reads, and the settler's moves.
    Pooled,
}

/// Attaches the key file of the database `conn` is connected to as schema
/// `keys` (a private in-memory one for an in-memory database). Its moves
/// sync at commit whatever the database's own durability: the writer drops
/// moved identities from the recent table right after, and a move lost
/// while that drop was kept would lose them.
pub(crate) async fn attach_key_file(
    conn: &mut AnyConnection,
    user: KeyFileUser,
) -> Result<(), sqlx::Error> {
    let file = crate::sqlite_main_file(&mut *conn).await?;
    let path = if file.is_empty() {
        ":memory:".to_string()
    } else {
        format!("{file}{KEY_FILE_SUFFIX}")
    };
    sqlx::query("ATTACH DATABASE $1 AS keys")
        .bind(path)
        .execute(&mut *conn)
        .await?;
    // Before journal_mode, which writes the file's first page.
    conn.execute("PRAGMA keys.page_size = 8192").await?;
    conn.execute("PRAGMA keys.journal_mode = WAL").await?;
    conn.execute("PRAGMA keys.synchronous = FULL").await?;
    conn.execute("PRAGMA keys.journal_size_limit = 67108864")
        .await?;
    if user == KeyFileUser::Writer {
        conn.execute(WRITER_KEY_FILE_MMAP_PRAGMA).await?;
    }
    Ok(())
}

/// Gives the copy of a database at `path` (a backup) a key file token of
/// its own, so that once restored it builds its own key file instead of
/// taking that of the database it was copied from, which may hold
/// identities of alerts stored after the copy.
pub(crate) async fn give_copy_its_own_key_file(path: &str) -> Result<(), StoreError> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    conn.execute("UPDATE alert_key_file SET token = lower(hex(randomblob(16)))")
        .await?;
    conn.close().await?;
    Ok(())
}

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

/// What the key file holds against the database, read when the store opens.
struct KeyFileState {
    /// The file says it belongs to this database (`opsdesk backup` gives
    /// each copy a token of its own, so a restored copy never takes the
    /// key file of the database it was copied from).
    owned: bool,
    alerts: i64,
    /// Identities in the three key tables, each once (a move that stopped
    /// halfway is finished first).
    identities: i64,
}

impl KeyFileState {
    /// Alerts are never deleted and an identity is stored only with its
    /// alert, so a key file of this database that holds as many
    /// identities as there are alerts holds each of them.
    fn matches(&self) -> bool {
        self.owned && self.alerts == self.identities
    }
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

    /// Each move into the key file is a transaction of a pooled connection
    /// that writes only that file, so it takes no lock intake waits on.
    /// `OR IGNORE` keeps the inserts from opening a statement journal,
    /// which would copy every page they change (there is nothing to
    /// ignore, as an identity already settled is left out).
    async fn settle_alert_keys_to(&self, how_far: MoveInto) -> Result<u64, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(0);
        }
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM alert_keys_recent) AS recent, \
             (SELECT count(*) FROM keys.alert_keys_settling) AS settling",
        )
        .fetch_one(self.pool())
        .await?;
        let recent: i64 = row.try_get("recent")?;
        let settling: i64 = row.try_get("settling")?;
        let mut moved = 0;
        if recent > 0 {
            // The insert comes first, so the move takes the key file's
            // write lock with its first snapshot, and the highest id is
            // read in the same snapshot of the recent table as the copy.
            let copied = self
                .in_key_file(
                    "INSERT OR IGNORE INTO keys.alert_keys_settling (fingerprint, integration_id, alert_id) \
                     SELECT fingerprint, integration_id, alert_id FROM main.alert_keys_recent AS r \
                     WHERE NOT EXISTS (SELECT 1 FROM keys.alert_keys AS k \
                     WHERE k.fingerprint = r.fingerprint AND k.integration_id = r.integration_id)",
                    &["SELECT max(alert_id) FROM main.alert_keys_recent"],
                )
                .await?;
            moved = copied.changed;
            // Alert ids grow in commit order, so every identity of the
            // recent table up to the highest one copied was copied; those
            // of alerts stored since have higher ids and stay.
            if let Some(upto) = copied.last_value {
                self.write_alone(&[&format!(
                    "DELETE FROM alert_keys_recent WHERE alert_id <= {upto}"
                )])
                .await?;
            }
        }
        let settling = settling.saturating_add(i64::try_from(moved).unwrap_or(i64::MAX));
        let due = match how_far {
            MoveInto::WhenDue => settling >= SETTLED_AFTER,
            MoveInto::Settled => settling > 0,
        };
        if due {
            self.in_key_file(
                "INSERT OR IGNORE INTO keys.alert_keys (fingerprint, integration_id, alert_id) \
                 SELECT fingerprint, integration_id, alert_id FROM keys.alert_keys_settling",
                &["DELETE FROM keys.alert_keys_settling"],
            )
            .await?;
        }
        Ok(moved)
    }

    /// Runs `write`, which must write the key file, then `then`, in one
    /// transaction of a pooled connection: the rows `write` changed, and
    /// the first column of the row the last of `then` returned, if any.
    async fn in_key_file(
        &self,
        write: &'static str,
        then: &[&'static str],
    ) -> Result<KeyFileMove, StoreError> {
        let mut conn = self.pool().acquire().await?;
        conn.execute("BEGIN").await?;
        let run = async {
            let changed = sqlx::query(write)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            let mut last_value = None;
            for sql in then {
                last_value = match sqlx::query(*sql).fetch_optional(&mut *conn).await? {
                    Some(row) => row.try_get(0)?,
                    None => None,
                };
            }
            conn.execute("COMMIT").await?;
            Ok::<_, StoreError>(KeyFileMove {
                changed,
                last_value,
            })
        };
        let ran = run.await;
        if ran.is_err() {
            // The connection goes back to the pool outside a transaction.
            let _ = conn.execute("ROLLBACK").await;
        }
        ran
    }

    /// Makes the key file fit this database when the store opens: makes
    /// its tables where they are missing, finishes a move that stopped
    /// between its two commits, and builds the file again from `alerts`
    /// when it belongs to another database or does not account for every
    /// alert. Nothing to do on PostgreSQL.
    pub(crate) async fn open_alert_key_file(&self) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.pool().acquire().await?;
        conn.execute(KEY_FILE_SCHEMA).await?;
        let owned: bool = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM keys.alert_key_owner AS o \
             JOIN main.alert_key_file AS f ON o.token = f.token)",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?
            != 0;
        if owned {
            conn.execute(
                "DELETE FROM main.alert_keys_recent AS r WHERE EXISTS (SELECT 1 FROM keys.alert_keys_settling AS s \
                 WHERE s.fingerprint = r.fingerprint AND s.integration_id = r.integration_id) \
                 OR EXISTS (SELECT 1 FROM keys.alert_keys AS k \
                 WHERE k.fingerprint = r.fingerprint AND k.integration_id = r.integration_id)",
            )
            .await?;
        }
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM main.alerts) AS alerts, \
             (SELECT count(*) FROM keys.alert_keys) + (SELECT count(*) FROM keys.alert_keys_settling) \
             + (SELECT count(*) FROM main.alert_keys_recent) AS identities",
        )
        .fetch_one(&mut *conn)
        .await?;
        let state = KeyFileState {
            owned,
            alerts: row.try_get("alerts")?,
            identities: row.try_get("identities")?,
        };
        if state.matches() {
            return Ok(());
        }
        if state.owned || state.identities > 0 {
            tracing::warn!(
                alerts = state.alerts,
                identities = state.identities,
                "the alert key file does not match the database; building it again from the alerts"
            );
        }
        // Both files' write locks at once, so no alert is stored meanwhile.
        conn.execute("BEGIN IMMEDIATE").await?;
        let rebuild = conn
            .execute(
                "DELETE FROM keys.alert_keys; \
                 DELETE FROM keys.alert_keys_settling; \
                 DELETE FROM keys.alert_key_owner; \
                 DELETE FROM main.alert_keys_recent; \
                 INSERT INTO keys.alert_keys (fingerprint, integration_id, alert_id) \
                 SELECT fingerprint, integration_id, id FROM main.alerts ORDER BY fingerprint, integration_id; \
                 INSERT INTO keys.alert_key_owner (id, token) SELECT id, token FROM main.alert_key_file; \
                 COMMIT",
            )
            .await;
        if let Err(e) = rebuild {
            let _ = conn.execute("ROLLBACK").await;
            return Err(e.into());
        }
        Ok(())
    }
}

/// What [`Store::in_key_file`] did.
struct KeyFileMove {
    /// Rows the writing statement changed.
    changed: u64,
    /// The first column of the last statement's row, if it returned one.
    last_value: Option<i64>,
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
    /// [`INSERT_ALERT`] with the next id: `$1` is the fingerprint.
    pub(super) const INSERT_ALERT_WITHOUT_ID: &str = "INSERT INTO alerts (integration_id, fingerprint, source, \
        status, labels, annotations, summary, severity, service_id, action, first_seen, last_seen, started_at, \
        count, occurrences, flapping, flap) VALUES (1, $1, 'generic', 'firing', '{}', '{}', 's', 'critical', \
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
mod key_file {
    //! The key file is built from `alerts` again whenever it does not
    //! match them.
    use super::KEY_FILE_SUFFIX;
    use crate::Store;
    use sqlx::{Executor, Row};
    use std::path::Path;

    /// An integration to hang alerts on.
    const SETUP: &str = "INSERT INTO users (id, username, display_name, role, created_at) \
        VALUES (1, 'admin', 'Admin', 'admin', 0); \
        INSERT INTO services (id, name, tier, created_at) VALUES (1, 'Checkout', 1, 0); \
        INSERT INTO alert_integrations (id, name, service_id, key_hash, key_prefix, config, created_by, \
        created_at, updated_at) VALUES (1, 'prometheus', 1, 'hash', 'prefix', '{}', 1, 0, 0)";

    fn url(path: &Path) -> String {
        format!("sqlite://{}", path.display())
    }

    async fn store_alerts(store: &Store, fingerprints: &[&str]) {
        for fingerprint in fingerprints {
            sqlx::query(super::tests::INSERT_ALERT_WITHOUT_ID)
                .bind(*fingerprint)
                .execute(store.pool())
                .await
                .expect("an alert");
        }
    }

    /// Every identity the three key tables hold, by alert id (an identity
    /// in two tables shows twice).
    async fn identities(store: &Store) -> Vec<(i64, String)> {
        sqlx::query(
            "SELECT alert_id, fingerprint FROM alert_keys UNION ALL \
             SELECT alert_id, fingerprint FROM alert_keys_settling UNION ALL \
             SELECT alert_id, fingerprint FROM alert_keys_recent ORDER BY alert_id",
        )
        .fetch_all(store.pool())
        .await
        .expect("identities")
        .iter()
        .map(|r| (r.get("alert_id"), r.get("fingerprint")))
        .collect()
    }

    async fn token(store: &Store) -> String {
        sqlx::query("SELECT token FROM alert_key_file")
            .fetch_one(store.pool())
            .await
            .expect("a token")
            .get(0)
    }

    fn ids(fingerprints: &[&str]) -> Vec<(i64, String)> {
        (1..)
            .zip(fingerprints.iter().map(|f| f.to_string()))
            .collect()
    }

    /// Copies `from`'s key file (and its log, if any) to be `to`'s.
    fn copy_key_file(from: &Path, to: &Path) {
        for ending in ["", "-wal"] {
            let source = format!("{}{KEY_FILE_SUFFIX}{ending}", from.display());
            let target = format!("{}{KEY_FILE_SUFFIX}{ending}", to.display());
            let _ = std::fs::remove_file(&target);
            if Path::new(&source).exists() {
                std::fs::copy(&source, &target).expect("copied");
            }
        }
        let _ = std::fs::remove_file(format!("{}{KEY_FILE_SUFFIX}-shm", to.display()));
    }

    #[tokio::test]
    async fn a_key_file_that_does_not_match_the_database_is_built_again() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let live = dir.path().join("opsdesk.db");
        let backup = dir.path().join("backup.db");
        let all = [
            "00000000000000a1",
            "00000000000000a2",
            "00000000000000a3",
            "00000000000000a4",
        ];
        let first = &all[..3];

        let store = Store::open(&url(&live)).await.expect("opens");
        store.pool().execute(SETUP).await.expect("an integration");
        store_alerts(&store, &first[..2]).await;
        store.settle_all_alert_keys().await.expect("settled");
        store_alerts(&store, &first[2..]).await;
        store.settle_alert_keys().await.expect("settling");
        store
            .backup(&backup.display().to_string())
            .await
            .expect("a backup");
        let live_token = token(&store).await;
        // A copy of the key file as it is now, with three identities.
        let earlier = dir.path().join("earlier.db");
        store
            .pool()
            .execute("PRAGMA keys.wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpointed");
        copy_key_file(&live, &earlier);
        store_alerts(&store, &all[3..]).await;
        store.settle_all_alert_keys().await.expect("settled");
        assert_eq!(identities(&store).await, ids(&all));
        store.close().await;

        // Older than the database: its own token, but alert 4 is missing.
        copy_key_file(&earlier, &live);
        let store = Store::open(&url(&live)).await.expect("opens");
        assert_eq!(identities(&store).await, ids(&all), "older");
        store.close().await;

        // Lost: built again, every identity once.
        for ending in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{KEY_FILE_SUFFIX}{ending}", live.display()));
        }
        let store = Store::open(&url(&live)).await.expect("opens");
        assert_eq!(identities(&store).await, ids(&all), "lost");
        store.settle_all_alert_keys().await.expect("settled");
        store.close().await;

        // Newer than the database: a restored backup beside the key file
        // of the database it was taken from, which also names alert 4.
        copy_key_file(&live, &backup);
        let restored = Store::open(&url(&backup)).await.expect("opens");
        assert_eq!(identities(&restored).await, ids(first), "restored backup");
        assert_ne!(
            token(&restored).await,
            live_token,
            "a backup is a database of its own"
        );
        // Alert 4 is new to it, and gets its identity.
        store_alerts(&restored, &["00000000000000b4"]).await;
        assert_eq!(
            identities(&restored).await.last(),
            Some(&(4, "00000000000000b4".to_string()))
        );
        restored.close().await;

        // Another database's: as many alerts, with the same ids, but other
        // fingerprints; only the token tells.
        let other = dir.path().join("other.db");
        let other_fingerprints = [
            "00000000000000c1",
            "00000000000000c2",
            "00000000000000c3",
            "00000000000000c4",
        ];
        let store = Store::open(&url(&other)).await.expect("opens");
        store.pool().execute(SETUP).await.expect("an integration");
        store_alerts(&store, &other_fingerprints).await;
        store.settle_all_alert_keys().await.expect("settled");
        store.close().await;
        copy_key_file(&live, &other);
        let store = Store::open(&url(&other)).await.expect("opens");
        assert_eq!(
            identities(&store).await,
            ids(&other_fingerprints),
            "another database's"
        );
        store.close().await;

        // A move that copied identities into the key file and stopped
        // before dropping them from the recent table: finished on open.
        let store = Store::open(&url(&live)).await.expect("opens");
        store_alerts(&store, &["00000000000000a5"]).await;
        store
            .pool()
            .execute(
                "INSERT INTO keys.alert_keys_settling (fingerprint, integration_id, alert_id) \
                 SELECT fingerprint, integration_id, alert_id FROM main.alert_keys_recent",
            )
            .await
            .expect("copied");
        store.close().await;
        let store = Store::open(&url(&live)).await.expect("opens");
        let mut five = ids(&all);
        five.push((5, "00000000000000a5".to_string()));
        assert_eq!(identities(&store).await, five, "interrupted move");
        let recent: i64 = sqlx::query("SELECT count(*) FROM alert_keys_recent")
            .fetch_one(store.pool())
            .await
            .expect("a count")
            .get(0);
        assert_eq!(recent, 0, "the recent copy is dropped");
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
