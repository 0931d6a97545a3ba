//! Reading the event log: ticket timelines, the outbox cursor, and the
//! audit chain check.

use crate::rows::{EVENT_COLUMNS, event};
use crate::{Backend, Event, Store, StoreError};
use futures_util::TryStreamExt;
use opsdesk_domain::TicketId;
use opsdesk_domain::audit::{ChainBreak, ChainVerifier, ChainedEvent};
use sqlx::{Executor, Row};

/// The outcome of `opsdesk audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Intact { events: u64 },
    Broken(ChainBreak),
}

impl Store {
    /// A ticket's history, oldest first. Without `include_internal`, events
    /// about internal notes are left out (requesters never see them).
    pub async fn timeline(
        &self,
        ticket: TicketId,
        include_internal: bool,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE entity = 'ticket' AND entity_id = $1 ORDER BY seq"
        ))
        .bind(ticket.0.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        if !include_internal {
            let internal_comments: Vec<serde_json::Value> = events
                .iter()
                .filter(|e| e.kind == "ticket.commented" && e.data["visibility"] == "internal")
                .map(|e| e.data["comment_id"].clone())
                .collect();
            events.retain(|e| {
                let internal_note =
                    e.kind == "ticket.commented" && e.data["visibility"] == "internal";
                let redaction_in_note = e.kind == "ticket.redacted"
                    && internal_comments.contains(&e.data["comment_id"])
                    && !e.data["comment_id"].is_null();
                !internal_note && !redaction_in_note
            });
        }
        Ok(events)
    }

    /// Events after `after_seq`, for consumers that follow the log by cursor.
    pub async fn events_after(&self, after_seq: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// Walks the whole log in one consistent snapshot and checks every link.
    pub async fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Postgres => {
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
            }
            Backend::Sqlite => {
                conn.execute("BEGIN").await?;
            }
        }
        let result = verify_on(&mut conn).await;
        conn.execute("ROLLBACK").await?;
        result
    }
}

async fn verify_on(conn: &mut sqlx::AnyConnection) -> Result<ChainReport, StoreError> {
    let head = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let mut verifier = ChainVerifier::default();
    {
        let mut rows = sqlx::query(
            "SELECT seq, at, actor_id, entity, entity_id, kind, data, prev_hash, hash FROM events ORDER BY seq",
        )
        .fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let entity: String = row.try_get("entity")?;
            let entity_id: String = row.try_get("entity_id")?;
            let kind: String = row.try_get("kind")?;
            let data: String = row.try_get("data")?;
            let prev_hash: String = row.try_get("prev_hash")?;
            let hash: String = row.try_get("hash")?;
            let e = ChainedEvent {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor_id")?,
                entity: &entity,
                entity_id: &entity_id,
                kind: &kind,
                data: &data,
            };
            if let Err(b) = verifier.check(&e, &prev_hash, &hash) {
                return Ok(ChainReport::Broken(b));
            }
        }
    }
    Ok(match verifier.finish(head_seq, &head_hash) {
        Ok(events) => ChainReport::Intact { events },
        Err(b) => ChainReport::Broken(b),
    })
}
