//! The one way state changes: a transaction that also appends events.

use crate::log_sync::LogSyncer;
use crate::{Backend, Store, StoreError};
use jiff::Timestamp;
use opsdesk_domain::audit::{ChainedEvent, chain_hash};
use opsdesk_domain::{TicketKind, UserId};
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::sync::{Arc, Weak};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

/// A retried POST carries the same `Idempotency-Key`; the first result is
/// remembered in the same transaction as the change it made, so a crash can
/// never leave the change without its key or the key without its change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// Method and route template, e.g. "POST /api/v1/tickets".
    pub route: String,
    /// Hash of the request body; the same key with another body is refused.
    pub request_hash: String,
}

/// The one transaction that concurrent writes share until it is committed.
///
/// Group commit: each write runs inside its own SAVEPOINT of this
/// transaction, so a failing request undoes only itself, and the committer
/// task commits everything queued with one fsync. A write is acknowledged
/// only after that commit, so "acknowledged" still means "durable"; under
/// load, one fsync serves many requests instead of one each.
pub(crate) struct Batch {
    /// The open transaction, if any.
    tx: Option<BatchTx>,
    /// On SQLite with a writer connection of its own: that connection,
    /// kept between transactions (see [`BatchTx::Held`]).
    held: Option<PoolConnection<Any>>,
    head_seq: i64,
    head_hash: String,
    /// The head when the batch began; the stored head is written once at commit.
    start_seq: i64,
    /// A write was dropped without committing: its savepoint must be undone
    /// before anyone else uses the transaction.
    abandoned: bool,
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
    /// Writes in this batch so far. Each ran in a savepoint, which on
    /// PostgreSQL is a subtransaction; the cap keeps a batch within its cache
    /// of 64 subtransactions per transaction. (Releasing each savepoint costs
    /// a round trip, but nesting them costs SQLite more in its sub-journal.)
    writes: usize,
    /// Per-kind ticket number counters read in this batch, written back once
    /// at commit. Safe because the batch holds the chain-head lock, which
    /// every writer on every node takes first.
    counters: HashMap<&'static str, Counter>,
    /// The last ticket id handed out in this batch (ids are assigned here,
    /// under the chain-head lock, so a ticket's rows can be queued).
    last_ticket_id: Option<i64>,
    backend: Backend,
    /// On file SQLite at full durability: where a committed batch's waiters
    /// go to wait for the log's sync (see `log_sync`). Without it they are
    /// told as soon as `COMMIT` returns: on PostgreSQL that is durable; on
    /// SQLite at `normal` (and in memory) no sync is promised.
    syncer: Option<LogSyncer>,
}

/// How a batch's transaction is begun and ended.
enum BatchTx {
    /// A transaction from the pool, begun and ended by sqlx (PostgreSQL,
    /// and SQLite in memory, whose one connection is shared).
    Pooled(Transaction<'static, Any>),
    /// A transaction on the SQLite writer connection the batch keeps
    /// (`Batch::held`), begun and ended by SQL text that travels with other
    /// statements: `BEGIN` with the chain-head read, `COMMIT` with the last
    /// words. A commit cycle through the pool was five round trips to the
    /// connection's thread, each waiting for a task to be scheduled: the
    /// last words, `COMMIT`, the pool's ping of every connection handed
    /// back, `BEGIN`, and the chain-head read; kept, it is two.
    Held,
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    last: i64,
    stored: i64,
}

/// Most writes one batch holds before it is committed.
const MAX_WRITES_PER_BATCH: usize = 50;

pub(crate) struct Writer {
    batch: Arc<Mutex<Batch>>,
    wake: Notify,
    backend: Backend,
    /// Where batch transactions begin: on SQLite a pool of one connection
    /// of its own (its page cache survives from batch to batch), else the
    /// store's pool.
    pool: AnyPool,
    /// On SQLite with a writer connection of its own: the pool the
    /// background checkpointer uses.
    checkpoint: Option<AnyPool>,
    /// Checked writes waiting for whoever takes the lock next (see
    /// [`Store::checked_write`]).
    checked: std::sync::Mutex<VecDeque<CheckedJob>>,
}

/// How often the SQLite writer's log is checkpointed in the background.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Writer {
    /// Creates the writer and starts its committer (and, given a pool for
    /// it, the SQLite checkpointer) on the current runtime.
    pub(crate) fn start(
        backend: Backend,
        pool: AnyPool,
        checkpoint: Option<AnyPool>,
        syncer: Option<LogSyncer>,
    ) -> Arc<Writer> {
        let writer = Arc::new(Writer {
            batch: Arc::new(Mutex::new(Batch {
                tx: None,
                held: None,
                head_seq: 0,
                head_hash: String::new(),
                start_seq: 0,
                abandoned: false,
                waiters: Vec::new(),
                writes: 0,
                counters: HashMap::new(),
                last_ticket_id: None,
                backend,
                syncer,
            })),
            wake: Notify::new(),
            backend,
            pool,
            checkpoint,
            checked: std::sync::Mutex::new(VecDeque::new()),
        });
        tokio::spawn(committer(Arc::downgrade(&writer)));
        if writer.checkpoint.is_some() {
            tokio::spawn(checkpointer(Arc::downgrade(&writer)));
        }
        writer
    }

    pub(crate) async fn close(&self) {
        if self.checkpoint.is_some() {
            // The kept connection goes back to the pool first, or closing
            // the pool would wait for it; what is queued is committed.
            let mut batch = self.batch.lock().await;
            batch.commit_and_notify().await;
            drop(batch.held.take());
            drop(batch);
            self.pool.close().await;
        }
    }

    /// How many times the log syncer has synced the SQLite log, if there
    /// is one (see `log_sync`).
    #[cfg(test)]
    pub(crate) async fn log_syncs(&self) -> Option<u64> {
        self.batch
            .lock()
            .await
            .syncer
            .as_ref()
            .map(LogSyncer::syncs)
    }

    /// Whether batches keep the writer connection between transactions
    /// (SQLite with a writer connection of its own; see [`BatchTx::Held`]).
    fn keeps_connection(&self) -> bool {
        self.checkpoint.is_some()
    }
}

/// Copies committed pages from SQLite's write-ahead log into the database
/// file, off the write path: inline, the commit that crossed the log's
/// size limit would do it (page writes and two fsyncs) while every other
/// write waits. PASSIVE never blocks the writer. Ends with the store.
async fn checkpointer(writer: Weak<Writer>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(pool) = writer.upgrade().and_then(|w| w.checkpoint.clone()) else {
            return;
        };
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "background checkpoint failed; the writer checkpoints inline when its log grows");
        }
    }
}

/// Commits whatever writes are waiting, as often as they arrive. Ends when
/// the store is gone.
async fn committer(writer: Weak<Writer>) {
    loop {
        let Some(w) = writer.upgrade() else { return };
        let woke = tokio::time::timeout(std::time::Duration::from_secs(1), w.wake.notified()).await;
        if woke.is_err() {
            continue;
        }
        let mut batch = w.batch.lock().await;
        batch.commit_and_notify().await;
    }
}

impl Batch {
    /// The writer connection batches keep ([`BatchTx::Held`]), taken from
    /// `pool` the first time.
    async fn held_conn(&mut self, pool: &AnyPool) -> Result<&mut AnyConnection, StoreError> {
        if self.held.is_none() {
            self.held = Some(pool.acquire().await?);
        }
        self.held
            .as_deref_mut()
            .ok_or_else(|| StoreError::Corrupt("the writer connection went missing".into()))
    }

    /// The open transaction's connection.
    fn conn(&mut self) -> Option<&mut AnyConnection> {
        match self.tx.as_mut()? {
            BatchTx::Pooled(tx) => Some(&mut **tx),
            BatchTx::Held => self.held.as_deref_mut(),
        }
    }

    /// Ends the open transaction without committing it. A kept connection
    /// that cannot roll back is closed (the pool opens a new one), so no
    /// later batch can run inside what is left of this one.
    async fn roll_back(&mut self) {
        match self.tx.take() {
            // sqlx rolls it back.
            Some(BatchTx::Pooled(tx)) => drop(tx),
            Some(BatchTx::Held) => {
                let Some(conn) = self.held.as_deref_mut() else {
                    return;
                };
                if let Err(e) = sqlx::query("ROLLBACK").execute(conn).await {
                    tracing::warn!(error = %e, "the writer connection could not roll back; it is replaced");
                    if let Some(conn) = self.held.take()
                        && let Err(e) = conn.close().await
                    {
                        tracing::warn!(error = %e, "closing the writer connection failed");
                    }
                }
            }
            None => {}
        }
    }

    /// Undoes the savepoint of a write that was dropped without committing.
    async fn settle_abandoned(&mut self) -> Result<(), StoreError> {
        if !self.abandoned {
            return Ok(());
        }
        self.abandoned = false;
        if let Some(conn) = self.conn() {
            let undo = async {
                sqlx::query("ROLLBACK TO SAVEPOINT w")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("RELEASE SAVEPOINT w").execute(&mut *conn).await
            };
            if let Err(e) = undo.await {
                // The transaction is unusable; roll the batch back and
                // fail its waiters rather than commit half of it.
                self.roll_back().await;
                for waiter in self.waiters.drain(..) {
                    let _ = waiter.send(Err(format!("the write batch was rolled back: {e}")));
                }
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Commits the batch and tells every write in it how that went (once
    /// the log is synced, where a syncer does that).
    async fn commit_and_notify(&mut self) {
        let result = self.commit().await.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "group commit failed; the writes in it are reported as failed");
        }
        if result.is_ok()
            && let Some(syncer) = &self.syncer
        {
            syncer.after_commit(std::mem::take(&mut self.waiters));
            return;
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }

    async fn commit(&mut self) -> Result<(), StoreError> {
        self.settle_abandoned().await?;
        self.writes = 0;
        let counters = std::mem::take(&mut self.counters);
        self.last_ticket_id = None;
        if self.tx.is_none() {
            return Ok(());
        }
        let mut last_words = Vec::new();
        for (kind, c) in counters.iter().filter(|(_, c)| c.last != c.stored) {
            last_words.push(Deferred {
                sql: "INSERT INTO ticket_counters (kind, last_seq) VALUES ($1, $2) \
                      ON CONFLICT (kind) DO UPDATE SET last_seq = $2",
                params: vec![
                    Bound::Text(Some(kind.to_string())),
                    Bound::Int(Some(c.last)),
                ],
            });
        }
        if self.head_seq != self.start_seq {
            last_words.push(Deferred {
                sql: "UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1",
                params: vec![
                    Bound::Int(Some(self.head_seq)),
                    Bound::Text(Some(self.head_hash.clone())),
                ],
            });
        }
        if let Some(BatchTx::Pooled(mut tx)) =
            self.tx.take_if(|tx| matches!(tx, BatchTx::Pooled(_)))
        {
            execute_queued(&mut tx, self.backend, last_words).await?;
            tx.commit().await?;
            return Ok(());
        }
        // Held: the transaction stays open (for the rollback) until its
        // COMMIT, sent with the last words, has gone through.
        last_words.push(Deferred {
            sql: "COMMIT",
            params: vec![],
        });
        let backend = self.backend;
        let sent = match self.conn() {
            Some(conn) => execute_queued(conn, backend, last_words).await,
            None => Err(StoreError::Corrupt(
                "a batch transaction without its connection".into(),
            )),
        };
        match sent {
            Ok(()) => {
                self.tx = None;
                Ok(())
            }
            Err(e) => {
                self.roll_back().await;
                Err(e)
            }
        }
    }
}

struct Saved {
    head_seq: i64,
    head_hash: String,
    counters: HashMap<&'static str, Counter>,
    last_ticket_id: Option<i64>,
}

/// One write: a savepoint in the shared batch, holding the writer lock.
pub struct WriteTx {
    batch: OwnedMutexGuard<Batch>,
    writer: Arc<Writer>,
    /// What the batch looked like before this write, to forget it on drop.
    saved: Saved,
    committed: bool,
    /// Statements whose results this write does not need, sent together at
    /// the next read or at commit (see [`WriteTx::defer`]).
    pending: Vec<Deferred>,
    /// Whether any of this write's statements reached the database (its
    /// savepoint is queued first, so then there is something to undo).
    sent: bool,
    /// Told with the write's own waiter when the batch holding it commits:
    /// the checked writes this write carried (see [`Store::checked_write`]).
    carried: Vec<oneshot::Sender<Result<(), String>>>,
    pub actor: Option<UserId>,
    pub now: Timestamp,
}

/// A parameter of a queued statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Int(Option<i64>),
    Text(Option<String>),
    /// Bytes: on SQLite, bulk rows in JSONB (see `bulk::RowsParam`).
    Blob(Vec<u8>),
}

#[derive(Debug)]
struct Deferred {
    sql: &'static str,
    params: Vec<Bound>,
}

/// Binds `params` to `q` in order.
pub(crate) fn bind_all(
    mut q: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    params: Vec<Bound>,
) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    for p in params {
        q = match p {
            Bound::Int(i) => q.bind(i),
            Bound::Text(t) => q.bind(t),
            Bound::Blob(b) => q.bind(b),
        };
    }
    q
}

/// Appends `sql` with every `$n` shifted by `offset`, so statements queued
/// separately can share one parameter list. (Our SQL has no `$` anywhere
/// but in placeholders.)
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        match rest[at + 1..at + 1 + digits].parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + offset)),
            Err(_) => out.push_str(&rest[at..at + 1 + digits]),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
}

/// Runs queued statements in order: on SQLite as one multi-statement
/// execution (one round trip to the connection's thread), on PostgreSQL one
/// by one, as it takes one statement per parameterised query.
async fn execute_queued(
    conn: &mut AnyConnection,
    backend: Backend,
    queued: Vec<Deferred>,
) -> Result<(), StoreError> {
    if queued.is_empty() {
        return Ok(());
    }
    match backend {
        Backend::Sqlite => {
            let (sql, params) = joined(queued);
            let query = crate::rows::dynamic_query(&sql);
            bind_all(query, params).execute(conn).await?;
        }
        Backend::Postgres => {
            for d in queued {
                bind_all(sqlx::query(d.sql), d.params)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Runs each of `statements` (without parameters) in turn; the rows each
/// changed.
async fn execute_each(
    conn: &mut AnyConnection,
    statements: &[&str],
) -> Result<Vec<u64>, StoreError> {
    let mut changed = Vec::with_capacity(statements.len());
    for sql in statements {
        changed.push(
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut *conn)
                .await?
                .rows_affected(),
        );
    }
    Ok(changed)
}

/// Queued statements as one SQLite text with one parameter list.
fn joined(queued: Vec<Deferred>) -> (String, Vec<Bound>) {
    let mut sql = String::new();
    let mut params = Vec::new();
    for d in queued {
        renumber(d.sql, params.len(), &mut sql);
        sql.push_str(";\n");
        params.extend(d.params);
    }
    (sql, params)
}

impl Store {
    /// Runs `statements` in one transaction of their own on the writer
    /// connection, after the open batch is committed, and commits it.
    /// Unlike a [`WriteTx`] it has no savepoint: inside one SQLite copies
    /// every existing page a statement first changes into an in-memory
    /// journal, which for housekeeping that rewrites thousands of pages
    /// (the move of recent alert keys) costs as much memory as it touches.
    /// For statements that record no events and that no request waits on.
    /// The rows each statement changed.
    pub(crate) async fn write_alone(&self, statements: &[&str]) -> Result<Vec<u64>, StoreError> {
        let mut batch = self.writer.batch.clone().lock_owned().await;
        batch.settle_abandoned().await?;
        batch.commit_and_notify().await;
        if !self.writer.keeps_connection() {
            let mut tx = self.writer.pool.begin().await?;
            let changed = execute_each(&mut tx, statements).await?;
            tx.commit().await?;
            return Ok(changed);
        }
        let conn = batch.held_conn(&self.writer.pool).await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let run = async {
            let changed = execute_each(&mut *conn, statements).await?;
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok::<_, StoreError>(changed)
        };
        let ran = run.await;
        batch.tx = Some(BatchTx::Held);
        match ran {
            Ok(changed) => {
                batch.tx = None;
                Ok(changed)
            }
            Err(e) => {
                batch.roll_back().await;
                Err(e)
            }
        }
    }

    /// Begins a write. The batch transaction's first statement locks the
    /// chain head, so writers are ordered across nodes (and SQLite takes its
    /// write lock up front instead of failing to upgrade a read lock later).
    pub async fn write(
        &self,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<WriteTx, StoreError> {
        let batch = self.writer.batch.clone().lock_owned().await;
        self.write_locked(batch, actor, now).await
    }

    /// [`Store::write`] with the lock already taken.
    async fn write_locked(
        &self,
        mut batch: OwnedMutexGuard<Batch>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<WriteTx, StoreError> {
        batch.settle_abandoned().await?;
        if batch.writes >= MAX_WRITES_PER_BATCH {
            batch.commit_and_notify().await;
        }
        if batch.tx.is_none() {
            // The lock, and what the batch needs to hand out ticket ids and
            // numbers. On SQLite one statement does both: its snapshot is
            // current once it holds the write lock, or the statement fails.
            // On PostgreSQL the reads must be a second statement: under
            // READ COMMITTED, subqueries of a statement that waited for the
            // lock still see the snapshot from before the wait, so they
            // would miss the previous holder's tickets.
            const LOCK: &str = "UPDATE chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash";
            const NUMBERING: &str = "(SELECT COALESCE(MAX(id), 0) FROM tickets) AS last_ticket_id, \
                 (SELECT last_seq FROM ticket_counters WHERE kind = $1) AS c0, \
                 (SELECT last_seq FROM ticket_counters WHERE kind = $2) AS c1, \
                 (SELECT last_seq FROM ticket_counters WHERE kind = $3) AS c2, \
                 (SELECT last_seq FROM ticket_counters WHERE kind = $4) AS c3";
            let numbering_query = |sql: String| {
                let mut query = crate::rows::dynamic_query(&sql);
                for kind in TicketKind::ALL {
                    query = query.bind(kind.as_str());
                }
                query
            };
            // On SQLite the head's row also holds the numbering.
            let (head, own_numbering) = if self.writer.keeps_connection() {
                let conn = batch.held_conn(&self.writer.pool).await?;
                // `fetch_all`: the driver's `fetch_one` looks at the first
                // statement's result only.
                let begun = numbering_query(format!("BEGIN;\n{LOCK}, {NUMBERING}"))
                    .fetch_all(conn)
                    .await;
                batch.tx = Some(BatchTx::Held);
                match begun.map(|mut rows| rows.pop()) {
                    Ok(Some(row)) => (row, None),
                    Ok(None) => {
                        batch.roll_back().await;
                        return Err(StoreError::Corrupt("the chain head is missing".into()));
                    }
                    Err(e) => {
                        batch.roll_back().await;
                        return Err(e.into());
                    }
                }
            } else {
                let mut tx = self.writer.pool.begin().await?;
                let rows = match self.backend {
                    Backend::Sqlite => {
                        let row = numbering_query(format!("{LOCK}, {NUMBERING}"))
                            .fetch_one(&mut *tx)
                            .await?;
                        (row, None)
                    }
                    Backend::Postgres => {
                        let head = sqlx::query(LOCK).fetch_one(&mut *tx).await?;
                        let numbering = numbering_query(format!("SELECT {NUMBERING}"))
                            .fetch_one(&mut *tx)
                            .await?;
                        (head, Some(numbering))
                    }
                };
                batch.tx = Some(BatchTx::Pooled(tx));
                rows
            };
            let numbering = own_numbering.as_ref().unwrap_or(&head);
            batch.head_seq = head.try_get("seq")?;
            batch.head_hash = head.try_get("hash")?;
            batch.start_seq = batch.head_seq;
            batch.last_ticket_id = Some(numbering.try_get("last_ticket_id")?);
            for (i, kind) in TicketKind::ALL.into_iter().enumerate() {
                let stored: Option<i64> = numbering.try_get(format!("c{i}").as_str())?;
                let stored = stored.unwrap_or(0);
                batch.counters.insert(
                    kind.as_str(),
                    Counter {
                        last: stored,
                        stored,
                    },
                );
            }
        }
        batch.writes += 1;
        let saved = Saved {
            head_seq: batch.head_seq,
            head_hash: batch.head_hash.clone(),
            counters: batch.counters.clone(),
            last_ticket_id: batch.last_ticket_id,
        };
        Ok(WriteTx {
            batch,
            writer: self.writer.clone(),
            saved,
            committed: false,
            pending: vec![Deferred {
                sql: "SAVEPOINT w",
                params: vec![],
            }],
            sent: false,
            carried: Vec::new(),
            actor,
            // Stored times have microsecond precision; what a write returns
            // must read back identical.
            now: Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now),
        })
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.committed {
            // Undone by whoever takes the lock next; the chain head forgets
            // this write's events now.
            // Nothing to undo if none of its statements were sent.
            self.batch.abandoned |= self.sent;
            self.batch.head_seq = self.saved.head_seq;
            self.batch.head_hash = std::mem::take(&mut self.saved.head_hash);
            self.batch.counters = std::mem::take(&mut self.saved.counters);
            self.batch.last_ticket_id = self.saved.last_ticket_id;
            self.writer.wake.notify_one();
        }
    }
}

impl WriteTx {
    /// The batch connection, after sending whatever this write queued, so
    /// every read sees the write's own changes.
    pub async fn conn(&mut self) -> Result<&mut AnyConnection, StoreError> {
        self.flush().await?;
        Ok(self.raw_conn())
    }

    fn raw_conn(&mut self) -> &mut AnyConnection {
        // `write()` opened the batch transaction and only commit/drop end it.
        self.batch
            .conn()
            .expect("a write always has its batch transaction")
    }

    /// Queues a statement whose result this write does not need. On SQLite
    /// the queue goes to the database as one multi-statement execution: the
    /// driver runs each connection on its own thread, so every statement
    /// sent alone is a round trip between threads, and a ticket create is
    /// otherwise six of them while holding the writer lock.
    pub fn defer(&mut self, sql: &'static str, params: Vec<Bound>) {
        self.pending.push(Deferred { sql, params });
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.sent = true;
        let backend = self.writer.backend;
        execute_queued(self.raw_conn(), backend, pending).await
    }

    /// Runs the query `sql`, which returns one row, after what this write
    /// queued: on SQLite in the same round trip as the queue.
    pub(crate) async fn fetch_one_now(
        &mut self,
        sql: &'static str,
        params: Vec<Bound>,
    ) -> Result<AnyRow, StoreError> {
        match self.writer.backend {
            Backend::Sqlite => {
                self.defer(sql, params);
                let pending = std::mem::take(&mut self.pending);
                self.sent = true;
                let (sql, params) = joined(pending);
                let query = crate::rows::dynamic_query(&sql);
                // `fetch_all`: the driver's `fetch_one` looks at the first
                // statement's result only.
                let mut rows = bind_all(query, params).fetch_all(self.raw_conn()).await?;
                rows.pop()
                    .ok_or_else(|| StoreError::Corrupt("a one-row query returned no row".into()))
            }
            Backend::Postgres => {
                self.flush().await?;
                Ok(bind_all(sqlx::query(sql), params)
                    .fetch_one(self.raw_conn())
                    .await?)
            }
        }
    }

    /// A new ticket's id, assigned under the writer lock so that the
    /// ticket's rows can be queued together.
    pub async fn next_ticket_id(&mut self) -> Result<i64, StoreError> {
        let last = match self.batch.last_ticket_id {
            Some(last) => last,
            None => {
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS last FROM tickets")
                    .fetch_one(self.conn().await?)
                    .await?;
                row.try_get("last")?
            }
        };
        self.batch.last_ticket_id = Some(last + 1);
        Ok(last + 1)
    }

    /// The next number in a kind's ticket sequence ("INC-000042" is 42).
    pub async fn next_ticket_seq(&mut self, kind: &'static str) -> Result<i64, StoreError> {
        if !self.batch.counters.contains_key(kind) {
            let row = sqlx::query("SELECT last_seq FROM ticket_counters WHERE kind = $1")
                .bind(kind)
                .fetch_optional(self.conn().await?)
                .await?;
            let stored = match row {
                Some(r) => r.try_get("last_seq")?,
                None => 0,
            };
            self.batch.counters.insert(
                kind,
                Counter {
                    last: stored,
                    stored,
                },
            );
        }
        let counter = self
            .batch
            .counters
            .get_mut(kind)
            .ok_or_else(|| StoreError::Corrupt("ticket counter vanished".into()))?;
        counter.last += 1;
        Ok(counter.last)
    }

    pub fn now_micros(&self) -> i64 {
        self.now.as_microsecond()
    }

    /// Appends one event to the log, chained to the previous one.
    pub async fn event(
        &mut self,
        entity: &str,
        entity_id: impl Display,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<i64, StoreError> {
        Ok(self.append_event(entity, entity_id, kind, data.to_string()))
    }

    /// Chains an event whose data is already JSON text: events recorded
    /// before the writer lock are serialized then, not while it is held.
    fn append_event(
        &mut self,
        entity: &str,
        entity_id: impl Display,
        kind: &str,
        data: String,
    ) -> i64 {
        let seq = self.batch.head_seq + 1;
        let entity_id = entity_id.to_string();
        let at = self.now_micros();
        let actor = self.actor.map(|a| a.0);
        let event = ChainedEvent {
            seq,
            at,
            actor,
            entity,
            entity_id: &entity_id,
            kind,
            data: &data,
        };
        let hash = chain_hash(&self.batch.head_hash, &event);
        self.defer(
            "INSERT INTO events (seq, at, actor_id, entity, entity_id, kind, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                Bound::Int(Some(seq)),
                Bound::Int(Some(at)),
                Bound::Int(actor),
                Bound::Text(Some(entity.to_string())),
                Bound::Text(Some(entity_id)),
                Bound::Text(Some(kind.to_string())),
                Bound::Text(Some(data)),
                Bound::Text(Some(self.batch.head_hash.clone())),
                Bound::Text(Some(hash.clone())),
            ],
        );
        self.batch.head_seq = seq;
        self.batch.head_hash = hash;
        seq
    }

    /// The result a previous request with this key produced, if any.
    pub async fn replayed(
        &mut self,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Option<String>, StoreError> {
        let (Some(idem), Some(actor)) = (idem, self.actor) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT route, request_hash, result_ref FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .bind(actor.0)
        .bind(&idem.key)
        .fetch_optional(self.conn().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let route: String = row.try_get("route")?;
        let request_hash: String = row.try_get("request_hash")?;
        if route != idem.route || request_hash != idem.request_hash {
            return Err(StoreError::Conflict(format!(
                "Idempotency-Key '{}' was already used for a different request ({route}); use a new key for a new request",
                idem.key
            )));
        }
        Ok(Some(row.try_get("result_ref")?))
    }

    /// Remembers what this request produced, for its retries.
    pub async fn remember(
        &mut self,
        idem: Option<&IdempotencyKey>,
        result_ref: &str,
    ) -> Result<(), StoreError> {
        let (Some(idem), Some(actor)) = (idem, self.actor) else {
            return Ok(());
        };
        let at = self.now_micros();
        self.defer(
            "INSERT INTO idempotency_keys (user_id, key, route, request_hash, result_ref, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Bound::Int(Some(actor.0)),
                Bound::Text(Some(idem.key.clone())),
                Bound::Text(Some(idem.route.clone())),
                Bound::Text(Some(idem.request_hash.clone())),
                Bound::Text(Some(result_ref.to_string())),
                Bound::Int(Some(at)),
            ],
        );
        Ok(())
    }

    /// Ends this write and waits until the batch holding it is durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.commit_queued().await?.wait().await
    }

    /// Ends this write (its statements have reached the database, inside
    /// the batch) without waiting for the batch to be committed; the
    /// returned [`Durable`] tells when it is. A caller doing many writes
    /// in a row can go on with the next while the last is committed, and
    /// several of its writes may then share a commit.
    pub(crate) async fn commit_queued(mut self) -> Result<Durable, StoreError> {
        self.defer("RELEASE SAVEPOINT w", vec![]);
        if !self.sent && self.pending.len() == 2 {
            // Savepoint then release with nothing between: an empty write.
            self.pending.clear();
        }
        self.flush().await?;
        self.committed = true;
        let (done, durable) = oneshot::channel();
        self.batch.waiters.push(done);
        let carried = std::mem::take(&mut self.carried);
        self.batch.waiters.extend(carried);
        let writer = self.writer.clone();
        drop(self);
        writer.wake.notify_one();
        Ok(Durable(durable))
    }
}

/// A write that ended and waits for its batch's commit.
#[must_use = "a write is saved only once its batch is committed"]
pub(crate) struct Durable(oneshot::Receiver<Result<(), String>>);

impl Durable {
    /// Waits until the batch holding the write is committed.
    pub(crate) async fn wait(self) -> Result<(), StoreError> {
        match self.0.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Conflict(format!(
                "the change was not saved: {e}"
            ))),
            Err(_) => Err(StoreError::Conflict(
                "the change was not saved: its write failed or the store shut down".into(),
            )),
        }
    }
}

/// Where a write's statements and events go: a [`WriteTx`], or a
/// [`Recorded`] list that a checked write carries to whoever writes it.
pub(crate) trait Queue {
    /// As [`WriteTx::defer`].
    fn queue(&mut self, sql: &'static str, params: Vec<Bound>);
    /// As [`WriteTx::event`].
    fn queue_event(&mut self, entity: &str, entity_id: String, kind: &str, data: serde_json::Value);
}

impl Queue for WriteTx {
    fn queue(&mut self, sql: &'static str, params: Vec<Bound>) {
        self.defer(sql, params);
    }

    fn queue_event(
        &mut self,
        entity: &str,
        entity_id: String,
        kind: &str,
        data: serde_json::Value,
    ) {
        self.append_event(entity, entity_id, kind, data.to_string());
    }
}

/// Statements and events recorded now, to be added to a write later: the
/// events are chained only then, behind whatever the log holds by then,
/// but their data is serialized now, before the writer lock.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    statements: Vec<Deferred>,
    events: Vec<RecordedEvent>,
}

#[derive(Debug)]
struct RecordedEvent {
    entity: String,
    entity_id: String,
    kind: String,
    /// The event's data as JSON text, serialized when recorded.
    data: String,
}

impl Queue for Recorded {
    fn queue(&mut self, sql: &'static str, params: Vec<Bound>) {
        self.statements.push(Deferred { sql, params });
    }

    fn queue_event(
        &mut self,
        entity: &str,
        entity_id: String,
        kind: &str,
        data: serde_json::Value,
    ) {
        self.events.push(RecordedEvent {
            entity: entity.to_string(),
            entity_id,
            kind: kind.to_string(),
            data: data.to_string(),
        });
    }
}

impl Recorded {
    /// Adds the events (chained now), then the statements, to `tx`.
    fn add_to(self, tx: &mut WriteTx) {
        for e in self.events {
            tx.append_event(&e.entity, e.entity_id, &e.kind, e.data);
        }
        tx.pending.extend(self.statements);
    }
}

/// A write decided before the writer lock that stands only if its one
/// statement changes exactly `expect` rows; then its recorded statements
/// and events follow. See [`Store::checked_write`].
#[derive(Debug)]
pub(crate) struct CheckedWrite {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Bound>,
    pub(crate) expect: u64,
    pub(crate) then: Recorded,
    /// The time its events carry.
    pub(crate) now: Timestamp,
}

/// A checked write waiting in the queue, and where its outcome goes: the
/// commit to wait for if it stood, `None` if it did not (nothing of it
/// was written).
struct CheckedJob {
    write: CheckedWrite,
    reply: oneshot::Sender<Option<Durable>>,
}

/// Most checked writes one lock holder sends together.
const MAX_CHECKED_PER_ROUND: usize = 16;

/// `SAVEPOINT cN` for each place of a round; the rollback of a write that
/// did not stand undoes it and every write after it in the round.
const CHECKED_SAVEPOINTS: [&str; MAX_CHECKED_PER_ROUND] = [
    "SAVEPOINT c0",
    "SAVEPOINT c1",
    "SAVEPOINT c2",
    "SAVEPOINT c3",
    "SAVEPOINT c4",
    "SAVEPOINT c5",
    "SAVEPOINT c6",
    "SAVEPOINT c7",
    "SAVEPOINT c8",
    "SAVEPOINT c9",
    "SAVEPOINT c10",
    "SAVEPOINT c11",
    "SAVEPOINT c12",
    "SAVEPOINT c13",
    "SAVEPOINT c14",
    "SAVEPOINT c15",
];
const CHECKED_ROLLBACKS: [&str; MAX_CHECKED_PER_ROUND] = [
    "ROLLBACK TO SAVEPOINT c0",
    "ROLLBACK TO SAVEPOINT c1",
    "ROLLBACK TO SAVEPOINT c2",
    "ROLLBACK TO SAVEPOINT c3",
    "ROLLBACK TO SAVEPOINT c4",
    "ROLLBACK TO SAVEPOINT c5",
    "ROLLBACK TO SAVEPOINT c6",
    "ROLLBACK TO SAVEPOINT c7",
    "ROLLBACK TO SAVEPOINT c8",
    "ROLLBACK TO SAVEPOINT c9",
    "ROLLBACK TO SAVEPOINT c10",
    "ROLLBACK TO SAVEPOINT c11",
    "ROLLBACK TO SAVEPOINT c12",
    "ROLLBACK TO SAVEPOINT c13",
    "ROLLBACK TO SAVEPOINT c14",
    "ROLLBACK TO SAVEPOINT c15",
];

impl Store {
    /// Runs a write decided before the lock, that stands only if its
    /// statement changes exactly the rows it expects. `true` once it is
    /// durable; `false` if it did not stand (nothing of it was written).
    ///
    /// Such writes are combined: each goes into a queue, and whoever takes
    /// the writer lock next sends every queued write, each in a savepoint of
    /// its own, in one round trip, then their events and statements in a
    /// second. Under load this replaces a lock hand-over and two round
    /// trips per write with two round trips per dozen, and the database
    /// connection works instead of waiting for the next writer to be
    /// scheduled.
    pub(crate) async fn checked_write(&self, write: CheckedWrite) -> Result<bool, StoreError> {
        let (reply, mut outcome) = oneshot::channel();
        self.writer
            .checked
            .lock()
            .map_err(|_| StoreError::Corrupt("the checked-write queue was poisoned".into()))?
            .push_back(CheckedJob { write, reply });
        loop {
            tokio::select! {
                biased;
                done = &mut outcome => {
                    return match done {
                        Ok(Some(durable)) => durable.wait().await.map(|()| true),
                        // Did not stand, or its round failed: nothing of it
                        // was written.
                        Ok(None) | Err(_) => Ok(false),
                    };
                }
                batch = self.writer.batch.clone().lock_owned() => {
                    self.run_checked(batch).await;
                }
            }
        }
    }

    /// Sends the queued checked writes (up to a round's worth), holding
    /// `batch`; those a failed write undid go back to the queue's front.
    async fn run_checked(&self, batch: OwnedMutexGuard<Batch>) {
        let jobs: Vec<CheckedJob> = match self.writer.checked.lock() {
            Ok(mut queue) => {
                let n = queue.len().min(MAX_CHECKED_PER_ROUND);
                queue.drain(..n).collect()
            }
            Err(_) => return,
        };
        let Some(first) = jobs.first() else { return };
        let now = first.write.now;
        let tx = match self.write_locked(batch, None, now).await {
            Ok(tx) => tx,
            // The jobs' replies drop: each falls back to a write of its own.
            Err(e) => {
                tracing::warn!(error = %e, "checked writes could not begin; each falls back");
                return;
            }
        };
        match self.checked_round(tx, jobs).await {
            Ok(again) if !again.is_empty() => {
                if let Ok(mut queue) = self.writer.checked.lock() {
                    for job in again.into_iter().rev() {
                        queue.push_front(job);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a round of checked writes failed; each falls back");
            }
        }
    }

    /// One round: every job's statement in its savepoint and its count, in
    /// one round trip; the jobs before the first that did not stand are
    /// kept (with their events and statements), that one is told it did
    /// not, and those after it (undone with it) are handed back to queue
    /// again.
    async fn checked_round(
        &self,
        mut tx: WriteTx,
        jobs: Vec<CheckedJob>,
    ) -> Result<Vec<CheckedJob>, StoreError> {
        let mut counted = Vec::with_capacity(jobs.len());
        match self.backend {
            Backend::Sqlite => {
                for (i, job) in jobs.iter().enumerate() {
                    tx.defer(CHECKED_SAVEPOINTS[i], vec![]);
                    tx.defer(job.write.sql, job.write.params.clone());
                    tx.defer("SELECT changes() AS changed", vec![]);
                }
                let (sql, params) = joined(std::mem::take(&mut tx.pending));
                tx.sent = true;
                let query = crate::rows::dynamic_query(&sql);
                let rows = bind_all(query, params).fetch_all(tx.raw_conn()).await?;
                if rows.len() != jobs.len() {
                    return Err(StoreError::Corrupt(format!(
                        "{} checked writes returned {} counts",
                        jobs.len(),
                        rows.len()
                    )));
                }
                for row in rows {
                    let changed: i64 = row.try_get("changed")?;
                    counted.push(u64::try_from(changed).unwrap_or(0));
                }
            }
            Backend::Postgres => {
                tx.flush().await?;
                for (i, job) in jobs.iter().enumerate() {
                    sqlx::query(CHECKED_SAVEPOINTS[i])
                        .execute(tx.raw_conn())
                        .await?;
                    let done = bind_all(sqlx::query(job.write.sql), job.write.params.clone())
                        .execute(tx.raw_conn())
                        .await?;
                    counted.push(done.rows_affected());
                }
            }
        }
        let stood = jobs
            .iter()
            .zip(&counted)
            .take_while(|(job, n)| job.write.expect == **n)
            .count();
        let mut jobs = jobs.into_iter();
        let kept: Vec<CheckedJob> = jobs.by_ref().take(stood).collect();
        let failed = jobs.next();
        let again: Vec<CheckedJob> = jobs.collect();
        if failed.is_some() {
            tx.defer(CHECKED_ROLLBACKS[stood], vec![]);
        }
        // Told before the lock is let go, so that none of them takes it
        // only to find its write done. If what follows fails, the writes
        // are not saved and their waits say so.
        for job in kept {
            tx.now = job.write.now;
            job.write.then.add_to(&mut tx);
            let (done, durable) = oneshot::channel();
            tx.carried.push(done);
            let _ = job.reply.send(Some(Durable(durable)));
        }
        if let Some(job) = failed {
            let _ = job.reply.send(None);
        }
        // Nobody waits for the round's own outcome: each write it carried
        // waits on its own.
        let _ = tx.commit_queued().await?;
        Ok(again)
    }
}

#[cfg(test)]
mod tests {
    use super::{Bound, CheckedWrite, Queue, Recorded, renumber};
    use crate::events::ChainReport;
    use crate::testing::TestDb;
    use jiff::Timestamp;
    use sqlx::Row;

    /// A checked insert of `key` into the scratch table, with one event.
    fn insert_key(key: &str) -> CheckedWrite {
        let mut then = Recorded::default();
        then.queue_event(
            "scratch",
            key.to_string(),
            "scratch.inserted",
            serde_json::json!({}),
        );
        CheckedWrite {
            sql: "INSERT INTO scratch (k) VALUES ($1) ON CONFLICT (k) DO NOTHING",
            params: vec![Bound::Text(Some(key.to_string()))],
            expect: 1,
            then,
            now: Timestamp::now(),
        }
    }

    /// Three checked writes queued while another write holds the lock go
    /// out in one round; the second does not stand (its key is the first's),
    /// so it and the third are undone, the second is told so, and the third
    /// goes out again and stands. Each standing write's event is chained.
    async fn combined_round_undoes_from_the_first_write_that_does_not_stand(db: &TestDb) {
        let store = &db.store;
        sqlx::query("CREATE TABLE scratch (k TEXT PRIMARY KEY)")
            .execute(store.pool())
            .await
            .expect("the scratch table");
        let holder = store
            .write(None, Timestamp::now())
            .await
            .expect("a write holding the lock");
        let (a, b, c) = (store.clone(), store.clone(), store.clone());
        let first = tokio::spawn(async move { a.checked_write(insert_key("one")).await });
        tokio::task::yield_now().await;
        let second = tokio::spawn(async move { b.checked_write(insert_key("one")).await });
        tokio::task::yield_now().await;
        let third = tokio::spawn(async move { c.checked_write(insert_key("two")).await });
        // All three queue behind the holder.
        for _ in 0..100 {
            if store.writer.checked.lock().map(|q| q.len()).unwrap_or(0) == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(store.writer.checked.lock().map(|q| q.len()).unwrap_or(0), 3);
        holder.commit().await.expect("the holder commits");

        let outcome = |r: Result<Result<bool, crate::StoreError>, tokio::task::JoinError>| {
            r.expect("the task ran").expect("the write did not fail")
        };
        assert!(outcome(first.await), "the first write stands");
        assert!(
            !outcome(second.await),
            "the second write finds its key taken"
        );
        assert!(
            outcome(third.await),
            "the third write, undone with the second, stands on its second try"
        );

        let keys: Vec<String> = sqlx::query("SELECT k FROM scratch ORDER BY k")
            .fetch_all(store.pool())
            .await
            .expect("the keys")
            .iter()
            .map(|r| r.try_get("k").expect("a key"))
            .collect();
        assert_eq!(keys, ["one", "two"]);
        let events: Vec<String> = sqlx::query(
            "SELECT entity_id FROM events WHERE kind = 'scratch.inserted' ORDER BY seq",
        )
        .fetch_all(store.pool())
        .await
        .expect("the events")
        .iter()
        .map(|r| r.try_get("entity_id").expect("an entity id"))
        .collect();
        assert_eq!(events, ["one", "two"], "one event per standing write");
        assert!(
            matches!(store.verify_chain().await, Ok(ChainReport::Intact { .. })),
            "the event chain holds"
        );
    }

    /// A batch whose commit fails is undone whole, its write is told so,
    /// and the next write begins a new batch that commits (on SQLite, on
    /// the writer connection the batches keep).
    async fn a_batch_whose_commit_fails_is_undone_and_writing_goes_on(db: &TestDb) {
        let store = &db.store;
        for sql in [
            "CREATE TABLE scratch_parent (id INTEGER PRIMARY KEY)",
            "CREATE TABLE scratch_child (id INTEGER PRIMARY KEY, \
             parent INTEGER REFERENCES scratch_parent (id) DEFERRABLE INITIALLY DEFERRED)",
        ] {
            sqlx::query(sql)
                .execute(store.pool())
                .await
                .expect("a scratch table");
        }
        let insert = |id: i64, parent: Option<i64>| async move {
            let mut tx = store.write(None, Timestamp::now()).await.expect("a write");
            sqlx::query("INSERT INTO scratch_child (id, parent) VALUES ($1, $2)")
                .bind(id)
                .bind(parent)
                .execute(tx.conn().await.expect("its connection"))
                .await
                .expect("the insert (its reference is checked at commit)");
            tx.commit().await
        };
        let refused = insert(1, Some(42)).await;
        assert!(
            refused.is_err(),
            "a reference to no row fails the commit: {refused:?}"
        );
        insert(2, None).await.expect("the next write commits");
        insert(3, None).await.expect("and the one after it");
        let ids: Vec<i64> = sqlx::query("SELECT id FROM scratch_child ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("the rows")
            .iter()
            .map(|r| r.get("id"))
            .collect();
        assert_eq!(ids, vec![2, 3], "nothing of the failed batch remains");
    }

    crate::testing::on_both_backends!(
        combined_round_undoes_from_the_first_write_that_does_not_stand,
        a_batch_whose_commit_fails_is_undone_and_writing_goes_on,
    );

    #[test]
    fn queued_statements_share_one_parameter_list() {
        let mut out = String::new();
        renumber("INSERT INTO t VALUES ($1, $2, $1)", 0, &mut out);
        out.push(';');
        renumber("UPDATE t SET a = $2 WHERE b = $1 AND c = $10", 3, &mut out);
        assert_eq!(
            out,
            "INSERT INTO t VALUES ($1, $2, $1);UPDATE t SET a = $5 WHERE b = $4 AND c = $13"
        );
    }
}
