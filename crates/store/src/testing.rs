//! Throwaway databases for tests: a fresh SQLite file or a fresh PostgreSQL
//! database per test, migrated and removed afterwards.
//!
//! Used by this crate's contract suite (`tests/contract.rs`), which runs every
//! test against both backends, and by the server's integration tests.
//!
//! PostgreSQL comes from `OPSDESK_TEST_PG_URL` (an admin URL allowed to
//! `CREATE DATABASE`), by default `postgres://postgres@127.0.0.1:5432/postgres`.
//! When it cannot be reached, [`TestDb::postgres`] returns `None` so a laptop
//! without PostgreSQL still runs the SQLite half; with `CI=true` it panics
//! instead, because CI must run both halves.

use crate::Store;
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use std::time::Duration;

/// The admin URL used when `OPSDESK_TEST_PG_URL` is not set.
pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the PostgreSQL server before calling it unreachable.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A migrated store on a database that exists only for one test.
///
/// Dropping it removes the database (best effort); `cleanup().await` does the
/// same and waits for it, which is the tidier choice at the end of a test.
pub struct TestDb {
    /// The URL the store was opened with, for tests that open a second store.
    pub url: String,
    pub store: Store,
    teardown: Teardown,
}

enum Teardown {
    /// The temporary directory holding the SQLite file and its WAL.
    SqliteDir(PathBuf),
    Postgres {
        admin_url: String,
        database: String,
    },
    Done,
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

impl TestDb {
    /// A fresh SQLite database in its own temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("opsdesk-test-{}", random_hex()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create test directory {}: {e}", dir.display()));
        let url = format!("sqlite://{}", dir.join("opsdesk.db").display());
        let store = match Store::open(&url).await {
            Ok(store) => store,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("cannot open test SQLite database {url}: {e}");
            }
        };
        TestDb {
            url,
            store,
            teardown: Teardown::SqliteDir(dir),
        }
    }

    /// A fresh PostgreSQL database `opsdesk_test_<hex>`, or `None` (with a
    /// note on stderr) when no server answers and `CI` is not `true`.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("OPSDESK_TEST_PG_URL")
            .unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
        let mut admin = match connect_admin(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => {
                let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
                if ci {
                    panic!(
                        "PostgreSQL is required in CI but {} is unreachable: {e}; \
                         start PostgreSQL or point OPSDESK_TEST_PG_URL at one",
                        redact_url(&admin_url)
                    );
                }
                eprintln!(
                    "note: skipping a PostgreSQL test: {} is unreachable ({e}); \
                     set OPSDESK_TEST_PG_URL to run it",
                    redact_url(&admin_url)
                );
                return None;
            }
        };
        let database = format!("opsdesk_test_{}", random_hex());
        // The name is generated here from hex digits only; nothing external
        // reaches this statement.
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{database}\""
            )))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {database}: {e}"));
        let _ = admin.close().await;
        let url = with_database(&admin_url, &database);
        // Constructed before opening, so a failed migration still drops it.
        let mut db = TestDb {
            url: url.clone(),
            store: match Store::connect(&url).await {
                Ok(store) => store,
                Err(e) => {
                    drop_postgres_database(&admin_url, &database).await;
                    panic!("cannot connect to test database {database}: {e}");
                }
            },
            teardown: Teardown::Postgres {
                admin_url,
                database,
            },
        };
        if let Err(e) = db.store.migrate().await {
            db.teardown_now().await;
            panic!("cannot migrate test database: {e}");
        }
        Some(db)
    }

    /// Closes the store and removes the database, waiting for both.
    pub async fn cleanup(mut self) {
        self.teardown_now().await;
    }

    async fn teardown_now(&mut self) {
        self.store.close().await;
        match std::mem::replace(&mut self.teardown, Teardown::Done) {
            Teardown::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Teardown::Postgres {
                admin_url,
                database,
            } => drop_postgres_database(&admin_url, &database).await,
            Teardown::Done => {}
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.teardown, Teardown::Done) {
            Teardown::SqliteDir(dir) => {
                // Open connections do not stop removal on Unix; elsewhere this
                // is best effort like the rest of the teardown.
                let _ = std::fs::remove_dir_all(dir);
            }
            Teardown::Postgres {
                admin_url,
                database,
            } => {
                // Drop cannot await, and may run inside the test's runtime
                // (where blocking on it would deadlock a current-thread one),
                // so the drop gets a thread and a small runtime of its own.
                let handle = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(drop_postgres_database(&admin_url, &database));
                    }
                });
                let _ = handle.join();
            }
            Teardown::Done => {}
        }
    }
}

async fn connect_admin(admin_url: &str) -> Result<sqlx::PgConnection, String> {
    match tokio::time::timeout(PG_CONNECT_TIMEOUT, sqlx::PgConnection::connect(admin_url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {PG_CONNECT_TIMEOUT:?}")),
    }
}

/// Best effort: `WITH (FORCE)` ends connections a leaked pool still holds.
async fn drop_postgres_database(admin_url: &str, database: &str) {
    let Ok(mut admin) = connect_admin(admin_url).await else {
        eprintln!("note: could not reconnect to drop test database {database}");
        return;
    };
    let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
    if let Err(e) = admin.execute(sqlx::AssertSqlSafe(sql)).await {
        eprintln!("note: could not drop test database {database}: {e}");
    }
    let _ = admin.close().await;
}

/// `admin_url` with its database path replaced by `database`, keeping the
/// credentials, host and query parameters.
fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// This crate's own tests on both backends, as `tests/contract.rs` does
/// for the contract suite: for each `name` (an `async fn name(db:
/// &TestDb)` in scope), a test `sqlite::name` and a test `postgres::name`.
#[cfg(test)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::testing::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::testing::TestDb::postgres().await else {
                        return;
                    };
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}
#[cfg(test)]
pub(crate) use on_both_backends;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaces_the_admin_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:5432", "t1"),
            "postgresql://h:5432/t1"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
