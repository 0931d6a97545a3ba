//! Persistence for opsdesk: one implementation over SQLite and PostgreSQL.
//!
//! All SQL is written once with `$n` placeholders and portable types (epoch
//! microseconds, 0/1 booleans, JSON as text) and runs through sqlx's `Any`
//! driver. The two places the dialects really differ, full-text search and
//! job leasing, branch on [`Backend`].
//!
//! Every write runs in a [`tx::WriteTx`], which appends its events to the
//! hash-chained log in the same transaction as the state change.

pub mod alerts;
pub(crate) mod bulk;
pub mod comments;
mod credential_cache;
pub mod directory;
mod error;
pub mod events;
pub mod listing;
mod log_sync;
pub mod models;
mod rows;
pub mod sla;
pub mod sla_clocks;
pub mod sla_report;
pub mod testing;
pub mod tickets;
pub mod tokens;
pub mod tx;
pub mod users;

pub use credential_cache::CREDENTIAL_TTL;
pub use error::StoreError;
pub use models::*;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses the backend from the URL scheme, or says what is accepted.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Config(format!(
                "unsupported database URL scheme '{scheme}': use sqlite://PATH or postgres://USER@HOST/DB"
            )))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// The write-ahead log is synced after every commit and before the
    /// commit's writes are acknowledged: an acknowledged write survives a
    /// process crash and a power loss. (The writer connection itself runs
    /// at `synchronous = NORMAL` and a thread of its own syncs the log, so
    /// the next batch does not wait for the disk: see `log_sync`.)
    #[default]
    Full,
    /// fsync only at checkpoints: an acknowledged write survives a process
    /// crash (kill -9), but a power loss may take the last commits.
    Normal,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "PRAGMA synchronous = FULL",
            SqliteSync::Normal => "PRAGMA synchronous = NORMAL",
        }
    }

    pub fn parse(s: &str) -> Result<SqliteSync, String> {
        match s {
            "full" => Ok(SqliteSync::Full),
            "normal" => Ok(SqliteSync::Normal),
            other => Err(format!(
                "'{other}' is not a SQLite sync level; use full or normal"
            )),
        }
    }
}

/// The page size of a new SQLite database (an existing one keeps its
/// own). Alert intake touches index pages at random, and with 8 KiB pages
/// a batch touches fewer of them, with shallower trees, than with SQLite's
/// default 4 KiB: repeats of known alerts went from about 74,000 to about
/// 84,000/s (docs/BENCHMARKS.md, "Alert intake, fifth pass"). Set before
/// `journal_mode`, which writes the file's first page.
const SQLITE_PAGE_SIZE_PRAGMA: &str = "PRAGMA page_size = 8192";

/// The SQLite writer connection's page cache (KiB, negative): a batch of
/// writes and the index pages it touches stay in memory between batches.
const WRITER_CACHE_PRAGMA: &str = "PRAGMA cache_size = -65536";
/// The writer connection checkpoints inline, on the write path, once the
/// log holds this many frames since it last started over: 32,768 pages,
/// 256 MiB at 8 KiB a page. The background checkpointer copies pages
/// meanwhile, but under sustained intake the log starts over only after an
/// inline checkpoint caught up; at 64 MiB that came every fraction of a
/// second and its page reads and writes took about 5% of the writer's
/// time (docs/BENCHMARKS.md, "Alert intake, sixth pass").
const WRITER_AUTOCHECKPOINT_PRAGMA: &str = "PRAGMA wal_autocheckpoint = 32768";
/// A log that grew past 64 MiB is cut back to that when it starts over,
/// so a database keeps its 256 MiB of log only while it is that busy.
const WRITER_JOURNAL_SIZE_LIMIT_PRAGMA: &str = "PRAGMA journal_size_limit = 67108864";
/// Every write is a savepoint of the batch transaction, and SQLite copies
/// each page a savepoint first changes into a sub-journal. Past 64 KiB that
/// journal spills to a temporary file, opened, written and closed per
/// savepoint (a batch of new alerts touches some hundred index pages);
/// in memory it is a copy.
const WRITER_TEMP_STORE_PRAGMA: &str = "PRAGMA temp_store = MEMORY";

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Writes queue here (one at a time, as both backends order them by the
    /// chain head anyway) and are group-committed: see [`tx::Batch`]. On
    /// SQLite this also keeps writers out of its sleeping busy handler.
    writer: Arc<tx::Writer>,
    /// Tokens and sessions verified in the last moments: see
    /// [`credential_cache`].
    credentials: Arc<credential_cache::CredentialCache>,
    /// Integrations by key, for alert intake (see `alerts::KeyCache`).
    integration_keys: Arc<alerts::KeyCache>,
    /// What alert intake wrote lately, to tell which batches to try as
    /// plain repeats (see `alerts::RepeatHint`).
    repeat_hint: Arc<alerts::RepeatHint>,
    /// How many intake batches took each shortcut (see `alerts::IntakeShortcuts`).
    intake_shortcuts: Arc<alerts::ShortcutCounters>,
    /// When to move recent alert identities (SQLite; see `alerts/keys.rs`).
    alert_keys: Arc<alerts::Settler>,
}

/// The path of the main database file of the SQLite database `db` (a
/// pool or a connection) is connected to; empty for an in-memory one.
pub(crate) async fn sqlite_main_file<'c, E>(db: E) -> Result<String, sqlx::Error>
where
    E: Executor<'c, Database = sqlx::Any>,
{
    sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .fetch_one(db)
        .await?
        .try_get(0)
}

/// The write-ahead log of the SQLite database `pool` is connected to:
/// the main database file's path with `-wal` (SQLite's own naming).
async fn sqlite_log_path(pool: &AnyPool) -> Result<std::path::PathBuf, StoreError> {
    let file = sqlite_main_file(pool).await?;
    if file.is_empty() {
        return Err(StoreError::Config(
            "the SQLite database has no file, so its log cannot be synced".into(),
        ));
    }
    Ok(std::path::PathBuf::from(format!("{file}-wal")))
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects without migrating. `sqlite://PATH` creates the file if needed.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, SqliteSync::default()).await
    }

    /// Connects with an explicit SQLite durability level.
    pub async fn connect_with(url: &str, synchronous: SqliteSync) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?;
        let (pool, write_pool) = match backend {
            Backend::Sqlite => {
                // An in-memory database exists per connection, so it gets
                // exactly one; a file is shared by a small pool.
                let memory = url.contains(":memory:");
                let connections = if memory { 1 } else { 8 };
                let pool = AnyPoolOptions::new()
                    .max_connections(connections)
                    // A local file does not go stale like a network
                    // connection; pinging it on every acquire would add a
                    // round trip to every request.
                    .test_before_acquire(false)
                    .min_connections(1)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PAGE_SIZE_PRAGMA).await?;
                            // WAL: readers never block the writer.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute(synchronous.pragma()).await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            alerts::attach_key_file(conn, alerts::KeyFileUser::Pooled).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await?;
                // Writes get a connection of their own: SQLite drops a
                // connection's page cache whenever another connection wrote,
                // so a writer that moved between pooled connections re-read
                // the pages it had just written (from the OS) at every
                // batch. Its cache is larger, and it never checkpoints
                // inline: checkpoints run off the write path (see
                // `tx::Writer`), so a commit is the log append and its fsync.
                let write_pool = if memory {
                    None
                } else {
                    Some(
                        AnyPoolOptions::new()
                            .max_connections(1)
                            .min_connections(1)
                            .test_before_acquire(false)
                            .after_connect(move |conn, _| {
                                Box::pin(async move {
                                    conn.execute(SQLITE_PAGE_SIZE_PRAGMA).await?;
                                    conn.execute("PRAGMA journal_mode = WAL").await?;
                                    // No sync in the commit at either level; at
                                    // full durability the log syncer makes each
                                    // commit durable before it is acknowledged
                                    // (see `log_sync`).
                                    conn.execute(SqliteSync::Normal.pragma()).await?;
                                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                                    conn.execute("PRAGMA foreign_keys = ON").await?;
                                    conn.execute(WRITER_CACHE_PRAGMA).await?;
                                    conn.execute(WRITER_AUTOCHECKPOINT_PRAGMA).await?;
                                    conn.execute(WRITER_JOURNAL_SIZE_LIMIT_PRAGMA).await?;
                                    conn.execute(WRITER_TEMP_STORE_PRAGMA).await?;
                                    alerts::attach_key_file(conn, alerts::KeyFileUser::Writer)
                                        .await?;
                                    Ok(())
                                })
                            })
                            .connect_with(options)
                            .await?,
                    )
                };
                (pool, write_pool)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                (pool, None)
            }
        };
        let writer = match write_pool {
            Some(write_pool) => {
                let syncer = match synchronous {
                    SqliteSync::Full => Some(
                        log_sync::LogSyncer::start(sqlite_log_path(&pool).await?).map_err(|e| {
                            StoreError::Config(format!(
                                "cannot start the SQLite log sync thread: {e}"
                            ))
                        })?,
                    ),
                    SqliteSync::Normal => None,
                };
                tx::Writer::start(backend, write_pool, Some(pool.clone()), syncer)
            }
            None => tx::Writer::start(backend, pool.clone(), None, None),
        };
        Ok(Store {
            pool,
            backend,
            writer,
            credentials: Arc::default(),
            integration_keys: Arc::default(),
            repeat_hint: Arc::new(alerts::RepeatHint::new()),
            intake_shortcuts: Arc::default(),
            alert_keys: Arc::default(),
        })
    }

    /// Connects and applies pending migrations (safe to run from several nodes
    /// at once: sqlx takes an advisory lock on PostgreSQL).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, SqliteSync::default()).await
    }

    pub async fn open_with(url: &str, synchronous: SqliteSync) -> Result<Store, StoreError> {
        let store = Store::connect_with(url, synchronous).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        migrator.run(&self.pool).await?;
        // The key file is checked after the migrations, which may have
        // just moved its tables out of the database (0014).
        self.open_alert_key_file().await
    }

    /// Refreshes the query planner's statistics so queue pages keep using
    /// the right indexes as the data grows. Cheap on SQLite (bounded
    /// sampling); a full ANALYZE on PostgreSQL, for after bulk imports.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Sqlite => {
                conn.execute("PRAGMA analysis_limit = 2000").await?;
                conn.execute("PRAGMA optimize = 0x10002").await?;
            }
            Backend::Postgres => {
                conn.execute("ANALYZE").await?;
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// True when the database answers; for `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Writes a consistent copy of the database to `path` (SQLite:
    /// `VACUUM INTO`, safe while the server runs; the alert key file is
    /// not copied, as it is built again from the alerts when the copy is
    /// first opened). PostgreSQL is backed up
    /// with its own tools (pg_dump).
    pub async fn backup(&self, path: &str) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                if std::path::Path::new(path).exists() {
                    return Err(StoreError::Config(format!("{path} already exists; refusing to overwrite it")));
                }
                sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
                alerts::give_copy_its_own_key_file(path).await
            }
            Backend::Postgres => Err(StoreError::Config(
                "backup of a PostgreSQL database is done with pg_dump; `opsdesk backup` covers SQLite".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use crate::{SqliteSync, Store};
    use jiff::Timestamp;
    use sqlx::Row;

    #[tokio::test]
    async fn at_full_durability_the_writer_commits_without_a_sync_and_the_log_is_synced_before_the_answer()
     {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("sync.db").display());
        let store = Store::open_with(&url, SqliteSync::Full)
            .await
            .expect("store");
        let before = store.writer.log_syncs().await.expect("a log syncer");
        let mut tx = store.write(None, Timestamp::now()).await.expect("write");
        let level: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(tx.conn().await.expect("conn"))
            .await
            .and_then(|row| row.try_get(0))
            .expect("the writer's level");
        assert_eq!(level, 1, "the writer connection runs at NORMAL");
        tx.event("test", "1", "test.synced", serde_json::json!({}))
            .await
            .expect("event");
        tx.commit().await.expect("durable");
        // The commit was answered by the log syncer, after a sync.
        let after = store.writer.log_syncs().await.expect("a log syncer");
        assert!(after > before, "syncs {before} → {after}");
        store.close().await;

        // At NORMAL nothing syncs the log on the write path.
        let url = format!("sqlite://{}", dir.path().join("normal.db").display());
        let store = Store::open_with(&url, SqliteSync::Normal)
            .await
            .expect("store");
        assert_eq!(store.writer.log_syncs().await, None);
        store.close().await;
    }

    #[tokio::test]
    async fn a_new_sqlite_database_has_8_kib_pages_in_wal_mode() {
        let db = TestDb::sqlite().await;
        let size: i64 = sqlx::query("PRAGMA page_size")
            .fetch_one(db.store.pool())
            .await
            .and_then(|row| row.try_get(0))
            .expect("the page size");
        assert_eq!(size, 8192);
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(db.store.pool())
            .await
            .and_then(|row| row.try_get(0))
            .expect("the journal mode");
        assert_eq!(mode, "wal");
        db.cleanup().await;
    }

    #[tokio::test]
    async fn postgres_leaves_room_on_alert_pages_for_updates_in_place() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let options: String = sqlx::query(
            "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'alerts'::regclass",
        )
        .fetch_one(db.store.pool())
        .await
        .and_then(|row| row.try_get(0))
        .expect("the table's options");
        assert_eq!(options, "fillfactor=50");
        db.cleanup().await;
    }
}
