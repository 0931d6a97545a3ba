//! Replies, work notes, links between tickets, and merging duplicates.

use crate::rows::{COMMENT_COLUMNS, comment, ts};
use crate::tickets::{Redactions, apply_transition, load_ticket, parse_ref};
use crate::tx::IdempotencyKey;
use crate::{Comment, Link, Store, StoreError, Ticket, Visibility};
use jiff::Timestamp;
use opsdesk_domain::limits::check_required_body;
use opsdesk_domain::ticket::OnHoldReason;
use opsdesk_domain::transition::ReopenPolicy;
use opsdesk_domain::{Actor, LinkKind, Permission, TicketId, TicketState, Transition, UserId};
use serde_json::json;
use sqlx::Row;

impl Store {
    /// Adds a public reply or an internal note. The first public reply from
    /// someone other than the requester is the ticket's first response; a
    /// requester's reply to a ticket waiting on them resumes it.
    pub async fn add_comment(
        &self,
        ticket_id: TicketId,
        visibility: Visibility,
        body: &str,
        now: Timestamp,
        author: Actor,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Comment, StoreError> {
        check_required_body("body", body)?;
        let mut tx = self.write(Some(author.user_id), now).await?;
        if let Some(previous) = tx.replayed(idem).await? {
            drop(tx);
            let id = parse_ref(&previous)?.0;
            return self.get_comment(id).await;
        }
        let t = load_ticket(&mut tx, ticket_id).await?;
        if t.state.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "{} is {}; open a new ticket instead of commenting",
                t.number, t.state
            )));
        }
        let mut redactions = Redactions::default();
        let body = redactions.field("body", body);
        let id: i64 = sqlx::query(
            "INSERT INTO comments (ticket_id, author_id, visibility, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ticket_id.0)
        .bind(author.user_id.0)
        .bind(visibility.as_str())
        .bind(&body)
        .bind(now.as_microsecond())
        .fetch_one(tx.conn().await?)
        .await?
        .try_get("id")?;
        let first_response = visibility == Visibility::Public
            && author.user_id != t.requester_id
            && author.can(Permission::WorkAllTickets)
            && t.first_response_at.is_none();
        sqlx::query(
            "UPDATE tickets SET updated_at = $1, version = version + 1, \
             first_response_at = CASE WHEN $2 = 1 THEN $1 ELSE first_response_at END WHERE id = $3",
        )
        .bind(now.as_microsecond())
        .bind(i64::from(first_response))
        .bind(ticket_id.0)
        .execute(tx.conn().await?)
        .await?;
        tx.event(
            "ticket",
            ticket_id,
            "ticket.commented",
            json!({"comment_id": id, "visibility": visibility, "body": body, "first_response": first_response}),
        )
        .await?;
        redactions.record(&mut tx, ticket_id, Some(id)).await?;
        let waiting_on_requester = t.state == TicketState::OnHold
            && t.on_hold_reason == Some(OnHoldReason::AwaitingCustomer);
        if waiting_on_requester
            && author.user_id == t.requester_id
            && visibility == Visibility::Public
        {
            let fresh = load_ticket(&mut tx, ticket_id).await?;
            apply_transition(
                &mut tx,
                &fresh,
                &Transition::Resume {},
                ReopenPolicy::default(),
                author,
                json!({"automatic": true, "reason": "requester replied"}),
            )
            .await?;
        }
        tx.remember(idem, &format!("comment:{id}")).await?;
        tx.commit().await?;
        self.get_comment(id).await
    }

    pub async fn get_comment(&self, id: i64) -> Result<Comment, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("comment", id))?;
        comment(&row)
    }

    /// Comments oldest first; internal notes only when asked for.
    pub async fn list_comments(
        &self,
        ticket_id: TicketId,
        include_internal: bool,
    ) -> Result<Vec<Comment>, StoreError> {
        let sql = if include_internal {
            format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id = $1 ORDER BY id")
        } else {
            format!(
                "SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id = $1 AND visibility = 'public' ORDER BY id"
            )
        };
        let rows = crate::rows::dynamic_query(&sql)
            .bind(ticket_id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(comment).collect()
    }

    /// Links `source <kind> target`. Both tickets record the event.
    pub async fn link_tickets(
        &self,
        source: TicketId,
        kind: LinkKind,
        target: TicketId,
        now: Timestamp,
        actor: UserId,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Link, StoreError> {
        if source == target {
            return Err(StoreError::invalid(
                "target_id",
                "a ticket cannot be linked to itself",
            ));
        }
        let mut tx = self.write(Some(actor), now).await?;
        if tx.replayed(idem).await?.is_none() {
            let s = load_ticket(&mut tx, source).await?;
            let t = load_ticket(&mut tx, target).await.map_err(|_| {
                StoreError::invalid("target_id", format!("ticket {target} does not exist"))
            })?;
            let exists = sqlx::query(
                "SELECT kind FROM ticket_links WHERE (source_id = $1 AND target_id = $2) OR (source_id = $2 AND target_id = $1)",
            )
            .bind(source.0)
            .bind(target.0)
            .fetch_all(tx.conn().await?)
            .await?;
            if !exists.is_empty() {
                let existing: String = exists[0].try_get("kind")?;
                return Err(StoreError::Conflict(format!(
                    "{} and {} are already linked ({existing})",
                    s.number, t.number
                )));
            }
            sqlx::query("INSERT INTO ticket_links (source_id, kind, target_id, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
                .bind(source.0)
                .bind(kind.as_str())
                .bind(target.0)
                .bind(now.as_microsecond())
                .bind(actor.0)
                .execute(tx.conn().await?)
                .await?;
            tx.event(
                "ticket",
                source,
                "ticket.linked",
                json!({"kind": kind, "target_id": target, "target_number": t.number}),
            )
            .await?;
            tx.event(
                "ticket",
                target,
                "ticket.linked_from",
                json!({"kind": kind, "source_id": source, "source_number": s.number}),
            )
            .await?;
            tx.remember(idem, &format!("ticket:{source}")).await?;
        }
        tx.commit().await?;
        self.list_links(source)
            .await?
            .into_iter()
            .find(|l| l.source_id == source && l.target_id == target)
            .ok_or_else(|| StoreError::not_found("link", format!("{source} -> {target}")))
    }

    pub async fn unlink_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        now: Timestamp,
        actor: UserId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write(Some(actor), now).await?;
        let done = sqlx::query("DELETE FROM ticket_links WHERE source_id = $1 AND target_id = $2")
            .bind(source.0)
            .bind(target.0)
            .execute(tx.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(
                "link",
                format!("{source} -> {target}"),
            ));
        }
        tx.event(
            "ticket",
            source,
            "ticket.unlinked",
            json!({"target_id": target}),
        )
        .await?;
        tx.event(
            "ticket",
            target,
            "ticket.unlinked_from",
            json!({"source_id": source}),
        )
        .await?;
        tx.commit().await
    }

    /// Links in both directions of a ticket.
    pub async fn list_links(&self, ticket_id: TicketId) -> Result<Vec<Link>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.source_id AS source_id, s.number AS source_number, l.kind AS kind, l.target_id AS target_id, \
             t.number AS target_number, l.created_at AS created_at, l.created_by AS created_by \
             FROM ticket_links l JOIN tickets s ON s.id = l.source_id JOIN tickets t ON t.id = l.target_id \
             WHERE l.source_id = $1 OR l.target_id = $1 ORDER BY l.created_at, l.source_id, l.target_id",
        )
        .bind(ticket_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Link {
                    source_id: TicketId(r.try_get("source_id")?),
                    source_number: r.try_get("source_number")?,
                    kind: crate::rows::parse("kind", &kind)?,
                    target_id: TicketId(r.try_get("target_id")?),
                    target_number: r.try_get("target_number")?,
                    created_at: ts(r.try_get("created_at")?)?,
                    created_by: UserId(r.try_get("created_by")?),
                })
            })
            .collect()
    }

    /// Merges `duplicate` into `survivor`: its comments and watchers (and its
    /// requester, as a watcher) move over, it is linked `duplicate_of` and
    /// closed with a pointer. Merging is the one path that closes a ticket
    /// from any open state, because the work continues on the survivor.
    pub async fn merge_tickets(
        &self,
        duplicate: TicketId,
        survivor: TicketId,
        now: Timestamp,
        actor: UserId,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Ticket, StoreError> {
        if duplicate == survivor {
            return Err(StoreError::invalid(
                "survivor_id",
                "a ticket cannot be merged into itself",
            ));
        }
        let mut tx = self.write(Some(actor), now).await?;
        if let Some(previous) = tx.replayed(idem).await? {
            drop(tx);
            return self.get_ticket(parse_ref(&previous)?).await;
        }
        let dup = load_ticket(&mut tx, duplicate).await?;
        let surv = load_ticket(&mut tx, survivor).await.map_err(|_| {
            StoreError::invalid("survivor_id", format!("ticket {survivor} does not exist"))
        })?;
        if dup.kind != surv.kind {
            return Err(StoreError::invalid(
                "survivor_id",
                format!(
                    "{} is a {} and {} is a {}; only tickets of one kind merge",
                    dup.number, dup.kind, surv.number, surv.kind
                ),
            ));
        }
        if dup.state.is_terminal() || dup.merged_into_id.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} is already {}",
                dup.number, dup.state
            )));
        }
        if surv.state.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "{} is {}; merge into an open ticket",
                surv.number, surv.state
            )));
        }
        let moved: Vec<i64> =
            sqlx::query("SELECT id FROM comments WHERE ticket_id = $1 ORDER BY id")
                .bind(duplicate.0)
                .fetch_all(tx.conn().await?)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<_, _>>()?;
        sqlx::query(
            "UPDATE comments SET ticket_id = $1, moved_from_ticket_id = $2 WHERE ticket_id = $2",
        )
        .bind(survivor.0)
        .bind(duplicate.0)
        .execute(tx.conn().await?)
        .await?;
        sqlx::query(
            "INSERT INTO watchers (ticket_id, user_id) SELECT $1, w.user_id FROM watchers w WHERE w.ticket_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM watchers x WHERE x.ticket_id = $1 AND x.user_id = w.user_id)",
        )
        .bind(survivor.0)
        .bind(duplicate.0)
        .execute(tx.conn().await?)
        .await?;
        sqlx::query(
            "INSERT INTO watchers (ticket_id, user_id) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM watchers WHERE ticket_id = $1 AND user_id = $2)",
        )
        .bind(survivor.0)
        .bind(dup.requester_id.0)
        .execute(tx.conn().await?)
        .await?;
        // A pair of tickets has one link at most (see `link_tickets`), so an
        // earlier link between the two gives way to the duplicate_of link.
        let replaced_links: Vec<String> = sqlx::query(
            "DELETE FROM ticket_links WHERE ((source_id = $1 AND target_id = $2) OR (source_id = $2 AND target_id = $1)) \
             AND NOT (source_id = $1 AND kind = 'duplicate_of') RETURNING kind",
        )
        .bind(duplicate.0)
        .bind(survivor.0)
        .fetch_all(tx.conn().await?)
        .await?
        .iter()
        .map(|r| r.try_get("kind"))
        .collect::<Result<_, _>>()?;
        sqlx::query(
            "INSERT INTO ticket_links (source_id, kind, target_id, created_at, created_by) SELECT $1, 'duplicate_of', $2, $3, $4 \
             WHERE NOT EXISTS (SELECT 1 FROM ticket_links WHERE source_id = $1 AND target_id = $2)",
        )
        .bind(duplicate.0)
        .bind(survivor.0)
        .bind(now.as_microsecond())
        .bind(actor.0)
        .execute(tx.conn().await?)
        .await?;
        sqlx::query(
            "UPDATE tickets SET state = 'closed', is_open = 0, merged_into_id = $1, resolution_code = 'duplicate', \
             resolution_note = $2, closed_at = $3, updated_at = $3, on_hold_reason = NULL, version = version + 1 WHERE id = $4",
        )
        .bind(survivor.0)
        .bind(format!("Merged into {}", surv.number))
        .bind(now.as_microsecond())
        .bind(duplicate.0)
        .execute(tx.conn().await?)
        .await?;
        sqlx::query("UPDATE tickets SET updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(now.as_microsecond())
            .bind(survivor.0)
            .execute(tx.conn().await?)
            .await?;
        tx.event(
            "ticket",
            duplicate,
            "ticket.merged",
            json!({"into_id": survivor, "into_number": surv.number, "from": dup.state, "to": TicketState::Closed, "moved_comment_ids": moved, "replaced_links": replaced_links}),
        )
        .await?;
        tx.event(
            "ticket",
            survivor,
            "ticket.merged_in",
            json!({"from_id": duplicate, "from_number": dup.number, "moved_comment_ids": moved}),
        )
        .await?;
        tx.remember(idem, &format!("ticket:{survivor}")).await?;
        tx.commit().await?;
        self.get_ticket(survivor).await
    }
}
