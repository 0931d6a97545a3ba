//! The one way state changes: a transaction that also appends events.

use crate::{Store, StoreError};
use jiff::Timestamp;
use opsdesk_domain::UserId;
use opsdesk_domain::audit::{ChainedEvent, chain_hash};
use sqlx::{Any, AnyConnection, Row, Transaction};
use std::fmt::Display;

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

/// An open write transaction holding the event-chain lock.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    head_seq: i64,
    head_hash: String,
    appended: bool,
    pub actor: Option<UserId>,
    pub now: Timestamp,
}

impl Store {
    /// Begins a write. Its first statement locks the chain head, so writers
    /// are ordered (and SQLite takes its write lock up front instead of
    /// failing to upgrade a read lock later).
    pub async fn write(
        &self,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<WriteTx, StoreError> {
        let writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("UPDATE chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await?;
        Ok(WriteTx {
            tx,
            _writer: writer,
            head_seq: row.try_get("seq")?,
            head_hash: row.try_get("hash")?,
            appended: false,
            actor,
            now,
        })
    }
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
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
        let seq = self.head_seq + 1;
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
        let hash = chain_hash(&self.head_hash, &event);
        sqlx::query(
            "INSERT INTO events (seq, at, actor_id, entity, entity_id, kind, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(at)
        .bind(actor)
        .bind(entity)
        .bind(&entity_id)
        .bind(kind)
        .bind(&data)
        .bind(&self.head_hash)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        self.head_seq = seq;
        self.head_hash = hash;
        self.appended = true;
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
        .fetch_optional(&mut *self.tx)
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
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, route, request_hash, result_ref, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(actor.0)
        .bind(&idem.key)
        .bind(&idem.route)
        .bind(&idem.request_hash)
        .bind(result_ref)
        .bind(self.now_micros())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits the change and its events together.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if self.appended {
            sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.head_seq)
                .bind(&self.head_hash)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}
