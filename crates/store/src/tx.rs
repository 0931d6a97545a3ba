//! The one way state changes: a transaction that also appends events.

use crate::{Backend, Store, StoreError};
use jiff::Timestamp;
use opsdesk_domain::audit::{ChainedEvent, chain_hash};
use opsdesk_domain::{TicketKind, UserId};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use std::collections::HashMap;
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
    tx: Option<Transaction<'static, Any>>,
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
    ) -> Arc<Writer> {
        let writer = Arc::new(Writer {
            batch: Arc::new(Mutex::new(Batch {
                tx: None,
                head_seq: 0,
                head_hash: String::new(),
                start_seq: 0,
                abandoned: false,
                waiters: Vec::new(),
                writes: 0,
                counters: HashMap::new(),
                last_ticket_id: None,
                backend,
            })),
            wake: Notify::new(),
            backend,
            pool,
            checkpoint,
        });
        tokio::spawn(committer(Arc::downgrade(&writer)));
        if writer.checkpoint.is_some() {
            tokio::spawn(checkpointer(Arc::downgrade(&writer)));
        }
        writer
    }

    pub(crate) async fn close(&self) {
        if self.checkpoint.is_some() {
            self.pool.close().await;
        }
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
    /// Undoes the savepoint of a write that was dropped without committing.
    async fn settle_abandoned(&mut self) -> Result<(), StoreError> {
        if !self.abandoned {
            return Ok(());
        }
        self.abandoned = false;
        if let Some(tx) = self.tx.as_mut() {
            let undo = async {
                sqlx::query("ROLLBACK TO SAVEPOINT w")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("RELEASE SAVEPOINT w").execute(&mut **tx).await
            };
            if let Err(e) = undo.await {
                // The transaction is unusable; drop it (rolling back the
                // batch) and fail its waiters rather than commit half of it.
                self.tx = None;
                for waiter in self.waiters.drain(..) {
                    let _ = waiter.send(Err(format!("the write batch was rolled back: {e}")));
                }
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Commits the batch and tells every write in it how that went.
    async fn commit_and_notify(&mut self) {
        let result = self.commit().await.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "group commit failed; the writes in it are reported as failed");
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
        let Some(mut tx) = self.tx.take() else {
            return Ok(());
        };
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
        execute_queued(&mut tx, self.backend, last_words).await?;
        tx.commit().await?;
        Ok(())
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
    pub actor: Option<UserId>,
    pub now: Timestamp,
}

/// A parameter of a queued statement.
#[derive(Debug, Clone)]
pub enum Bound {
    Int(Option<i64>),
    Text(Option<String>),
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
    /// Begins a write. The batch transaction's first statement locks the
    /// chain head, so writers are ordered across nodes (and SQLite takes its
    /// write lock up front instead of failing to upgrade a read lock later).
    pub async fn write(
        &self,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<WriteTx, StoreError> {
        let mut batch = self.writer.batch.clone().lock_owned().await;
        batch.settle_abandoned().await?;
        if batch.writes >= MAX_WRITES_PER_BATCH {
            batch.commit_and_notify().await;
        }
        if batch.tx.is_none() {
            let mut tx = self.writer.pool.begin().await?;
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
            let (head, own_numbering) = match self.backend {
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
            batch.tx = Some(tx);
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
            .tx
            .as_deref_mut()
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

    /// Runs `sql` (an INSERT, UPDATE or DELETE) now, after what this write
    /// queued, and returns how many rows it changed: for a write whose next
    /// step depends on that count. The count is read by `changes()` in the
    /// same round trip (the driver's own count would add up every queued
    /// statement's, and repeat the previous one's after a statement that
    /// changes nothing).
    pub(crate) async fn execute_counted(
        &mut self,
        sql: &'static str,
        params: Vec<Bound>,
    ) -> Result<u64, StoreError> {
        let changed: i64 = match self.writer.backend {
            Backend::Sqlite => {
                self.defer(sql, params);
                self.fetch_one_now("SELECT changes() AS changed", vec![])
                    .await?
                    .try_get("changed")?
            }
            Backend::Postgres => {
                self.flush().await?;
                let done = bind_all(sqlx::query(sql), params)
                    .execute(self.raw_conn())
                    .await?;
                return Ok(done.rows_affected());
            }
        };
        Ok(u64::try_from(changed).unwrap_or(0))
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
        let seq = self.batch.head_seq + 1;
        let entity_id = entity_id.to_string();
        let data = data.to_string();
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
        Ok(seq)
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
                "the change was not saved: the store shut down".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::renumber;

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
