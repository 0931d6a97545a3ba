//! Creating and changing tickets. Every path validates with the domain
//! rules, writes in one transaction, and records what changed as events.

use crate::directory::{check_assignable, next_round_robin};
use crate::rows::{TICKET_COLUMNS, ticket};
use crate::tx::{Bound, IdempotencyKey, WriteTx};
use crate::{Store, StoreError, Ticket};
use jiff::Timestamp;
use opsdesk_domain::limits::{
    check_body, check_short_text, check_tags, check_title, normalize_tags,
};
use opsdesk_domain::priority::priority_from;
use opsdesk_domain::redaction::redact;
use opsdesk_domain::transition::{Milestone, ReopenPolicy, TicketFacts, plan};
use opsdesk_domain::{
    Actor, Impact, Priority, ServiceId, TeamId, TicketId, TicketKind, TicketNumber, Transition,
    Urgency, UserId,
};
use serde_json::{Value, json};
use sqlx::Row;

/// A manual priority that wins over the impact x urgency matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityOverride {
    pub priority: Priority,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub title: String,
    pub description: String,
    pub requester_id: UserId,
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<UserId>,
    pub service_id: Option<ServiceId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority_override: Option<PriorityOverride>,
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<Option<TeamId>>,
    pub assignee_id: Option<Option<UserId>>,
    pub service_id: Option<Option<ServiceId>>,
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    pub priority_override: Option<Option<PriorityOverride>>,
    /// Refuse the update if the ticket changed since this version was read.
    pub expected_version: Option<i64>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.team_id.is_none()
            && self.assignee_id.is_none()
            && self.service_id.is_none()
            && self.category.is_none()
            && self.tags.is_none()
            && self.impact.is_none()
            && self.urgency.is_none()
            && self.priority_override.is_none()
    }
}

/// Replaces secrets in a text field and records which kinds were found.
/// Secrets replaced while writing one change. The change records them as
/// one `ticket.redacted` event naming the fields and kinds, never the secret.
#[derive(Default)]
pub(crate) struct Redactions(Vec<Value>);

impl Redactions {
    /// The text with its secrets replaced, remembering what was found.
    pub(crate) fn field(&mut self, field: &str, text: &str) -> String {
        let r = redact(text);
        if !r.is_clean() {
            let kinds: Vec<&str> = r.found.iter().map(|k| k.as_str()).collect();
            self.0.push(json!({"field": field, "kinds": kinds}));
        }
        r.text
    }

    /// Appends the event if anything was redacted (`comment` when the
    /// secrets were in a comment, so its visibility applies to the event).
    pub(crate) async fn record(
        self,
        tx: &mut WriteTx,
        ticket: TicketId,
        comment: Option<i64>,
    ) -> Result<(), StoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut data = json!({"fields": self.0});
        if let Some(c) = comment {
            data["comment_id"] = json!(c);
        }
        tx.event("ticket", ticket, "ticket.redacted", data).await?;
        Ok(())
    }
}

fn check_override(o: &PriorityOverride) -> Result<(), StoreError> {
    check_short_text("priority_override.reason", &o.reason).map_err(|_| {
        StoreError::invalid(
            "priority_override.reason",
            "a manual priority needs a reason (1 to 200 characters)",
        )
    })
}

pub(crate) async fn load_ticket(tx: &mut WriteTx, id: TicketId) -> Result<Ticket, StoreError> {
    let row = crate::rows::dynamic_query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(tx.conn().await?)
    .await?
    .ok_or_else(|| StoreError::not_found("ticket", id))?;
    ticket(&row)
}

async fn check_team_exists(tx: &mut WriteTx, team: TeamId) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT 1 AS one FROM teams WHERE id = $1")
        .bind(team.0)
        .fetch_optional(tx.conn().await?)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::invalid("team_id", format!("team {team} does not exist")))
}

/// The owner team of a service, checking the service exists.
async fn service_owner(tx: &mut WriteTx, service: ServiceId) -> Result<Option<TeamId>, StoreError> {
    let row = sqlx::query("SELECT owner_team_id FROM services WHERE id = $1")
        .bind(service.0)
        .fetch_optional(tx.conn().await?)
        .await?
        .ok_or_else(|| {
            StoreError::invalid("service_id", format!("service {service} does not exist"))
        })?;
    Ok(row.try_get::<Option<i64>, _>("owner_team_id")?.map(TeamId))
}

async fn add_watcher(tx: &mut WriteTx, ticket: TicketId, user: UserId) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO watchers (ticket_id, user_id) SELECT $1, $2 \
         WHERE NOT EXISTS (SELECT 1 FROM watchers WHERE ticket_id = $1 AND user_id = $2)",
    )
    .bind(ticket.0)
    .bind(user.0)
    .execute(tx.conn().await?)
    .await?;
    Ok(())
}

impl Store {
    pub async fn create_ticket(
        &self,
        new: NewTicket,
        now: Timestamp,
        actor: UserId,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Ticket, StoreError> {
        Ok(self
            .create_ticket_with_watchers(new, now, actor, idem)
            .await?
            .0)
    }

    /// [`Store::create_ticket`], also returning who watches the ticket.
    /// A new ticket's watchers are known without asking the database, which
    /// saves the API's create response a round trip; a replayed create
    /// reads them, as they may have changed since.
    pub async fn create_ticket_with_watchers(
        &self,
        new: NewTicket,
        now: Timestamp,
        actor: UserId,
        idem: Option<&IdempotencyKey>,
    ) -> Result<(Ticket, Vec<UserId>), StoreError> {
        check_new_ticket(&new)?;
        let team = resolve_refs(&self.pool, &new).await?;
        let mut tx = self.write(Some(actor), now).await?;
        if let Some(previous) = tx.replayed(idem).await? {
            drop(tx);
            let ticket = self.get_ticket(parse_ref(&previous)?).await?;
            let watchers = self.watchers(ticket.id).await?;
            return Ok((ticket, watchers));
        }
        let ticket = insert_ticket(&mut tx, &new, team).await?;
        let id = ticket.id.0;
        tx.remember(idem, &format!("ticket:{id}")).await?;
        tx.commit().await?;
        let watchers = new_ticket_watchers(&ticket);
        Ok((ticket, watchers))
    }

    /// Creates many tickets in one transaction (imports, data migration,
    /// benchmark seeding): the same validation, redaction, routing and
    /// events as [`Store::create_ticket`], without a commit per ticket.
    /// All or nothing: one invalid ticket refuses the whole batch, naming
    /// its index.
    pub async fn import_tickets(
        &self,
        batch: &[NewTicket],
        now: Timestamp,
        actor: UserId,
    ) -> Result<Vec<TicketId>, StoreError> {
        for (i, new) in batch.iter().enumerate() {
            check_new_ticket(new).map_err(|e| match e {
                StoreError::Invalid(f) => {
                    StoreError::invalid(format!("[{i}].{}", f.field), f.message)
                }
                other => other,
            })?;
        }
        let mut teams = Vec::with_capacity(batch.len());
        for (i, new) in batch.iter().enumerate() {
            teams.push(resolve_refs(&self.pool, new).await.map_err(|e| match e {
                StoreError::Invalid(f) => {
                    StoreError::invalid(format!("[{i}].{}", f.field), f.message)
                }
                other => other,
            })?);
        }
        let mut tx = self.write(Some(actor), now).await?;
        let mut ids = Vec::with_capacity(batch.len());
        for new in batch {
            ids.push(insert_ticket(&mut tx, new, teams[ids.len()]).await?.id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn get_ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("ticket", id))?;
        ticket(&row)
    }

    pub async fn get_ticket_by_number(&self, number: &str) -> Result<Ticket, StoreError> {
        let parsed =
            TicketNumber::parse(number).ok_or_else(|| StoreError::not_found("ticket", number))?;
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE kind = $1 AND seq = $2"
        ))
        .bind(parsed.kind.as_str())
        .bind(parsed.seq)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("ticket", number))?;
        ticket(&row)
    }

    /// Who watches a ticket (gets told about its changes).
    pub async fn watchers(&self, id: TicketId) -> Result<Vec<UserId>, StoreError> {
        let rows =
            sqlx::query("SELECT user_id FROM watchers WHERE ticket_id = $1 ORDER BY user_id")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok(UserId(r.try_get("user_id")?)))
            .collect()
    }

    /// Changes fields (including assignment) of an open ticket.
    pub async fn update_ticket(
        &self,
        id: TicketId,
        patch: TicketPatch,
        now: Timestamp,
        actor: UserId,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Ticket, StoreError> {
        if let Some(t) = &patch.title {
            check_title("title", t)?;
        }
        if let Some(d) = &patch.description {
            check_body("description", d)?;
        }
        if let Some(tags) = &patch.tags {
            check_tags("tags", tags)?;
        }
        if let Some(Some(c)) = &patch.category {
            check_short_text("category", c)?;
        }
        if let Some(Some(o)) = &patch.priority_override {
            check_override(o)?;
        }
        let mut tx = self.write(Some(actor), now).await?;
        if let Some(previous) = tx.replayed(idem).await? {
            drop(tx);
            return self.get_ticket(parse_ref(&previous)?).await;
        }
        let before = load_ticket(&mut tx, id).await?;
        if let Some(v) = patch.expected_version
            && v != before.version
        {
            return Err(StoreError::Conflict(format!(
                "{} changed since you read it (version {v}, now {}); reload and try again",
                before.number, before.version
            )));
        }
        if before.state.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "{} is {} and can no longer be changed",
                before.number, before.state
            )));
        }
        let mut after = before.clone();
        let mut redactions = Redactions::default();
        if let Some(t) = &patch.title {
            after.title = redactions.field("title", t);
        }
        if let Some(d) = &patch.description {
            after.description = redactions.field("description", d);
        }
        if let Some(c) = &patch.category {
            after.category = c.clone();
        }
        if let Some(tags) = &patch.tags {
            after.tags = normalize_tags(tags);
        }
        if let Some(s) = patch.service_id {
            if let Some(s) = s {
                let owner = service_owner(&mut tx, s).await?;
                // A service's owner team takes an unrouted ticket.
                if after.team_id.is_none() && patch.team_id.is_none() {
                    after.team_id = owner;
                }
            }
            after.service_id = s;
        }
        if let Some(i) = patch.impact {
            after.impact = i;
        }
        if let Some(u) = patch.urgency {
            after.urgency = u;
        }
        if let Some(t) = patch.team_id {
            if let Some(t) = t {
                check_team_exists(&mut tx, t).await?;
            }
            after.team_id = t;
        }
        let rule = match patch.assignee_id {
            Some(Some(a)) => {
                check_assignable(&mut tx, a, after.team_id).await?;
                after.assignee_id = Some(a);
                None
            }
            Some(None) => {
                after.assignee_id = None;
                None
            }
            None if after.team_id != before.team_id => {
                // Moving to another team keeps the assignee only if they are in it.
                let keep = match after.assignee_id {
                    Some(a) => check_assignable(&mut tx, a, after.team_id).await.is_ok(),
                    None => false,
                };
                if keep {
                    None
                } else {
                    after.assignee_id = match after.team_id {
                        Some(t) => next_round_robin(&mut tx, t).await?,
                        None => None,
                    };
                    after.assignee_id.map(|_| "round_robin")
                }
            }
            None => None,
        };
        let computed = priority_from(after.impact, after.urgency);
        match &patch.priority_override {
            Some(Some(o)) => {
                after.priority = o.priority;
                after.priority_override_reason = Some(o.reason.clone());
            }
            Some(None) => {
                after.priority = computed;
                after.priority_override_reason = None;
            }
            None if after.priority_override_reason.is_none() => after.priority = computed,
            None => {}
        }
        let changes = field_changes(&before, &after);
        let assignment_changed =
            before.team_id != after.team_id || before.assignee_id != after.assignee_id;
        if changes.is_empty() && !assignment_changed && before.priority == after.priority {
            tx.remember(idem, &format!("ticket:{id}")).await?;
            tx.commit().await?;
            return Ok(before);
        }
        let tags_json =
            serde_json::to_string(&after.tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE tickets SET title = $1, description = $2, team_id = $3, assignee_id = $4, service_id = $5, category = $6, \
             tags = $7, impact = $8, urgency = $9, priority = $10, priority_override_reason = $11, updated_at = $12, \
             version = version + 1 WHERE id = $13",
        )
        .bind(&after.title)
        .bind(&after.description)
        .bind(after.team_id.map(|t| t.0))
        .bind(after.assignee_id.map(|a| a.0))
        .bind(after.service_id.map(|s| s.0))
        .bind(&after.category)
        .bind(&tags_json)
        .bind(after.impact.as_str())
        .bind(after.urgency.as_str())
        .bind(after.priority.rank())
        .bind(&after.priority_override_reason)
        .bind(now.as_microsecond())
        .bind(id.0)
        .execute(tx.conn().await?)
        .await?;
        if before.tags != after.tags {
            sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
                .bind(id.0)
                .execute(tx.conn().await?)
                .await?;
            for tag in &after.tags {
                sqlx::query("INSERT INTO ticket_tags (tag, ticket_id) VALUES ($1, $2)")
                    .bind(tag)
                    .bind(id.0)
                    .execute(tx.conn().await?)
                    .await?;
            }
        }
        if !changes.is_empty() {
            tx.event("ticket", id, "ticket.updated", json!({"changes": changes}))
                .await?;
        }
        if assignment_changed {
            if let Some(a) = after.assignee_id {
                add_watcher(&mut tx, id, a).await?;
            }
            tx.event(
                "ticket",
                id,
                "ticket.assigned",
                json!({"team_id": {"from": before.team_id, "to": after.team_id},
                       "assignee_id": {"from": before.assignee_id, "to": after.assignee_id}, "rule": rule}),
            )
            .await?;
        }
        if let Some(o) = &patch.priority_override {
            tx.event(
                "ticket",
                id,
                "ticket.priority_overridden",
                json!({"from": before.priority, "to": after.priority, "reason": o.as_ref().map(|o| o.reason.clone()), "cleared": o.is_none()}),
            )
            .await?;
        } else if before.priority != after.priority {
            tx.event(
                "ticket",
                id,
                "ticket.reprioritized",
                json!({"from": before.priority, "to": after.priority}),
            )
            .await?;
        }
        redactions.record(&mut tx, id, None).await?;
        tx.remember(idem, &format!("ticket:{id}")).await?;
        tx.commit().await?;
        self.get_ticket(id).await
    }

    /// Takes one step of the ticket's state machine.
    pub async fn transition_ticket(
        &self,
        id: TicketId,
        step: &Transition,
        reopen: ReopenPolicy,
        now: Timestamp,
        actor: Actor,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Ticket, StoreError> {
        let mut tx = self.write(Some(actor.user_id), now).await?;
        if let Some(previous) = tx.replayed(idem).await? {
            drop(tx);
            return self.get_ticket(parse_ref(&previous)?).await;
        }
        let before = load_ticket(&mut tx, id).await?;
        apply_transition(&mut tx, &before, step, reopen, actor, json!({})).await?;
        tx.remember(idem, &format!("ticket:{id}")).await?;
        tx.commit().await?;
        self.get_ticket(id).await
    }

    /// Closes resolved tickets whose reopen window has passed. Safe to run on
    /// every node at once: each close re-checks the state under the write lock.
    /// Returns how many it closed.
    pub async fn close_expired_resolutions(
        &self,
        reopen: ReopenPolicy,
        now: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let cutoff = now
            .checked_sub(reopen.window)
            .unwrap_or(Timestamp::MIN)
            .as_microsecond();
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM tickets WHERE state IN ('resolved', 'fulfilled') AND resolved_at <= $1 ORDER BY resolved_at LIMIT $2",
        )
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        let mut closed = 0;
        for id in ids {
            let mut tx = self.write(None, now).await?;
            let t = load_ticket(&mut tx, TicketId(id)).await?;
            if !matches!(
                t.state,
                opsdesk_domain::TicketState::Resolved | opsdesk_domain::TicketState::Fulfilled
            ) {
                continue;
            }
            // The close is stamped at the moment the window ended, not when
            // this worker got round to it (it may have been down).
            let closes_at = t.resolved_at.map_or(now, |r| reopen.closes_at(r));
            tx.now = closes_at.min(now);
            let system = Actor {
                user_id: UserId(0),
                role: opsdesk_domain::Role::Admin,
            };
            apply_transition(
                &mut tx,
                &t,
                &Transition::Close { outcome: None },
                reopen,
                system,
                json!({"automatic": true, "reason": "reopen window ended"}),
            )
            .await?;
            tx.commit().await?;
            closed += 1;
        }
        Ok(closed)
    }
}

/// Limits on a new ticket's own fields, before touching the database.
fn check_new_ticket(new: &NewTicket) -> Result<(), StoreError> {
    check_title("title", &new.title)?;
    check_body("description", &new.description)?;
    check_tags("tags", &new.tags)?;
    if let Some(c) = &new.category {
        check_short_text("category", c)?;
    }
    if let Some(o) = &new.priority_override {
        check_override(o)?;
    }
    Ok(())
}

/// Inserts one validated ticket with its tags, watchers and events.
/// Checks what a new ticket refers to and finds its team, in one round trip
/// and before taking the write lock (the hottest write path). References
/// are never deleted, only deactivated, so checking first is safe.
/// Who watches a ticket from its creation: its requester and its assignee,
/// in id order (as [`Store::watchers`] lists them).
fn new_ticket_watchers_of(requester: UserId, assignee: Option<UserId>) -> Vec<UserId> {
    let mut watchers = vec![requester];
    watchers.extend(assignee.filter(|a| *a != requester));
    watchers.sort();
    watchers
}

fn new_ticket_watchers(ticket: &Ticket) -> Vec<UserId> {
    new_ticket_watchers_of(ticket.requester_id, ticket.assignee_id)
}

async fn resolve_refs(pool: &sqlx::AnyPool, new: &NewTicket) -> Result<Option<TeamId>, StoreError> {
    let refs = sqlx::query(
        "SELECT (SELECT active FROM users WHERE id = $1) AS requester_active, \
         (SELECT COUNT(*) FROM services WHERE id = $2) AS service_found, \
         (SELECT owner_team_id FROM services WHERE id = $2) AS owner_team_id, \
         (SELECT COUNT(*) FROM teams WHERE id = $3) AS team_found",
    )
    .bind(new.requester_id.0)
    .bind(new.service_id.map(|s| s.0))
    .bind(new.team_id.map(|t| t.0))
    .fetch_one(pool)
    .await?;
    match refs.try_get::<Option<i64>, _>("requester_active")? {
        None => {
            return Err(StoreError::invalid(
                "requester_id",
                format!("user {} does not exist", new.requester_id),
            ));
        }
        Some(0) => {
            return Err(StoreError::invalid(
                "requester_id",
                format!("user {} is deactivated", new.requester_id),
            ));
        }
        Some(_) => {}
    }
    if let Some(service) = new.service_id
        && refs.try_get::<i64, _>("service_found")? == 0
    {
        return Err(StoreError::invalid(
            "service_id",
            format!("service {service} does not exist"),
        ));
    }
    if let Some(team) = new.team_id
        && refs.try_get::<i64, _>("team_found")? == 0
    {
        return Err(StoreError::invalid(
            "team_id",
            format!("team {team} does not exist"),
        ));
    }
    // A service's owner team takes tickets nobody routed.
    let team = new
        .team_id
        .or(refs.try_get::<Option<i64>, _>("owner_team_id")?.map(TeamId));
    Ok(team)
}

pub(crate) async fn insert_ticket(
    tx: &mut WriteTx,
    new: &NewTicket,
    team: Option<TeamId>,
) -> Result<Ticket, StoreError> {
    let now = tx.now;
    let assignee = match new.assignee_id {
        Some(a) => {
            check_assignable(tx, a, team).await?;
            Some(a)
        }
        None => match team {
            Some(t) => next_round_robin(tx, t).await?,
            None => None,
        },
    };
    let mut redactions = Redactions::default();
    let title = redactions.field("title", &new.title);
    let description = redactions.field("description", &new.description);
    let tags = normalize_tags(&new.tags);
    let computed = priority_from(new.impact, new.urgency);
    let priority = new
        .priority_override
        .as_ref()
        .map_or(computed, |o| o.priority);
    let seq = tx.next_ticket_seq(new.kind.as_str()).await?;
    let number = TicketNumber {
        kind: new.kind,
        seq,
    }
    .to_string();
    let state = new.kind.initial_state();
    let at = now.as_microsecond();
    let tags_json = serde_json::to_string(&tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = tx.next_ticket_id().await?;
    tx.defer(
        "INSERT INTO tickets (id, kind, seq, number, state, is_open, title, description, requester_id, team_id, \
         assignee_id, service_id, category, tags, impact, urgency, priority, priority_override_reason, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)",
        vec![
            Bound::Int(Some(id)),
            Bound::Text(Some(new.kind.as_str().to_string())),
            Bound::Int(Some(seq)),
            Bound::Text(Some(number.clone())),
            Bound::Text(Some(state.as_str().to_string())),
            Bound::Int(Some(i64::from(state.is_open()))),
            Bound::Text(Some(title.clone())),
            Bound::Text(Some(description.clone())),
            Bound::Int(Some(new.requester_id.0)),
            Bound::Int(team.map(|t| t.0)),
            Bound::Int(assignee.map(|a| a.0)),
            Bound::Int(new.service_id.map(|s| s.0)),
            Bound::Text(new.category.clone()),
            Bound::Text(Some(tags_json)),
            Bound::Text(Some(new.impact.as_str().to_string())),
            Bound::Text(Some(new.urgency.as_str().to_string())),
            Bound::Int(Some(priority.rank())),
            Bound::Text(new.priority_override.as_ref().map(|o| o.reason.clone())),
            Bound::Int(Some(at)),
        ],
    );
    let ticket_id = TicketId(id);
    for tag in &tags {
        tx.defer(
            "INSERT INTO ticket_tags (tag, ticket_id) VALUES ($1, $2)",
            vec![Bound::Text(Some(tag.clone())), Bound::Int(Some(id))],
        );
    }
    // A new ticket has no watchers yet, so plain inserts do.
    for w in new_ticket_watchers_of(new.requester_id, assignee) {
        tx.defer(
            "INSERT INTO watchers (ticket_id, user_id) VALUES ($1, $2)",
            vec![Bound::Int(Some(id)), Bound::Int(Some(w.0))],
        );
    }
    tx.event(
        "ticket",
        id,
        "ticket.created",
        json!({
            "number": number, "kind": new.kind, "state": state, "title": title,
            "requester_id": new.requester_id, "team_id": team, "assignee_id": assignee,
            "service_id": new.service_id, "category": new.category, "tags": tags,
            "impact": new.impact, "urgency": new.urgency, "priority": priority,
        }),
    )
    .await?;
    if let Some(o) = &new.priority_override {
        tx.event(
            "ticket",
            id,
            "ticket.priority_overridden",
            json!({"from": computed, "to": o.priority, "reason": o.reason}),
        )
        .await?;
    }
    if assignee.is_some() && new.assignee_id.is_none() {
        tx.event("ticket", id, "ticket.assigned", json!({"team_id": {"from": null, "to": team}, "assignee_id": {"from": null, "to": assignee}, "rule": "round_robin"}))
            .await?;
    }
    redactions.record(tx, ticket_id, None).await?;
    // What was just written, without reading it back.
    Ok(Ticket {
        id: ticket_id,
        number,
        kind: new.kind,
        state,
        title,
        description,
        requester_id: new.requester_id,
        team_id: team,
        assignee_id: assignee,
        service_id: new.service_id,
        category: new.category.clone(),
        tags,
        impact: new.impact,
        urgency: new.urgency,
        priority,
        priority_override_reason: new.priority_override.as_ref().map(|o| o.reason.clone()),
        on_hold_reason: None,
        resolution_code: None,
        resolution_note: None,
        workaround: None,
        change_outcome: None,
        reopen_count: 0,
        merged_into_id: None,
        created_at: now,
        updated_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        reopened_at: None,
        version: 1,
        sla: None,
    })
}

/// Applies a planned step to a loaded ticket inside a write.
pub(crate) async fn apply_transition(
    tx: &mut WriteTx,
    before: &Ticket,
    step: &Transition,
    reopen: ReopenPolicy,
    actor: Actor,
    extra: Value,
) -> Result<(), StoreError> {
    let facts = TicketFacts {
        kind: before.kind,
        state: before.state,
        resolved_at: before.resolved_at,
    };
    let planned = plan(facts, step, tx.now, reopen)?;
    let now = tx.now_micros();
    let mut assignee = before.assignee_id;
    if planned.takes_ownership
        && assignee.is_none()
        && check_assignable(tx, actor.user_id, before.team_id)
            .await
            .is_ok()
    {
        assignee = Some(actor.user_id);
    }
    let mut resolution_code = before.resolution_code.clone();
    let mut resolution_note = before.resolution_note.clone();
    let mut resolved_at = before.resolved_at.map(|t| t.as_microsecond());
    let mut acknowledged_at = before.acknowledged_at.map(|t| t.as_microsecond());
    let mut acknowledged_by = before.acknowledged_by.map(|u| u.0);
    let mut closed_at = before.closed_at.map(|t| t.as_microsecond());
    let mut reopened_at = before.reopened_at.map(|t| t.as_microsecond());
    let mut redactions = Redactions::default();
    match planned.milestone {
        Some(Milestone::Acknowledged) if acknowledged_at.is_none() => {
            acknowledged_at = Some(now);
            acknowledged_by = Some(actor.user_id.0);
        }
        Some(Milestone::Resolved) => {
            resolved_at = Some(now);
            if let Some((code, note)) = &planned.resolution {
                resolution_code = Some(code.clone());
                resolution_note = Some(redactions.field("resolution_note", note));
            }
        }
        Some(Milestone::Closed) => closed_at = Some(now),
        Some(Milestone::Reopened) => {
            reopened_at = Some(now);
            resolved_at = None;
            resolution_code = None;
            resolution_note = None;
        }
        _ => {}
    }
    let workaround = match &planned.workaround {
        Some(w) => Some(redactions.field("workaround", w)),
        None => before.workaround.clone(),
    };
    let note = planned.note.as_ref().map(|n| redactions.field("note", n));
    let change_outcome = planned.change_outcome.or(before.change_outcome);
    sqlx::query(
        "UPDATE tickets SET state = $1, is_open = $2, on_hold_reason = $3, resolution_code = $4, resolution_note = $5, \
         workaround = $6, change_outcome = $7, reopen_count = reopen_count + $8, assignee_id = $9, acknowledged_at = $10, \
         acknowledged_by = $11, resolved_at = $12, closed_at = $13, reopened_at = $14, updated_at = $15, version = version + 1 \
         WHERE id = $16",
    )
    .bind(planned.to.as_str())
    .bind(i64::from(planned.to.is_open()))
    .bind(planned.on_hold_reason.map(|r| r.as_str()))
    .bind(&resolution_code)
    .bind(&resolution_note)
    .bind(&workaround)
    .bind(change_outcome.map(|o| o.as_str()))
    .bind(i64::from(planned.reopens))
    .bind(assignee.map(|a| a.0))
    .bind(acknowledged_at)
    .bind(acknowledged_by)
    .bind(resolved_at)
    .bind(closed_at)
    .bind(reopened_at)
    .bind(now)
    .bind(before.id.0)
    .execute(tx.conn().await?)
    .await?;
    let mut data = json!({
        "action": planned.name, "from": planned.from, "to": planned.to,
        "on_hold_reason": planned.on_hold_reason, "change_outcome": planned.change_outcome,
        "note": note, "reopens": planned.reopens,
    });
    if let Some((code, _)) = &planned.resolution {
        data["resolution_code"] = json!(code);
        data["resolution_note"] = json!(resolution_note);
    }
    if planned.workaround.is_some() {
        data["workaround"] = json!(workaround);
    }
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    tx.event("ticket", before.id, "ticket.transitioned", data)
        .await?;
    if assignee != before.assignee_id {
        add_watcher(tx, before.id, actor.user_id).await?;
        tx.event(
            "ticket",
            before.id,
            "ticket.assigned",
            json!({"team_id": {"from": before.team_id, "to": before.team_id}, "assignee_id": {"from": before.assignee_id, "to": assignee}, "rule": "acknowledge"}),
        )
        .await?;
    }
    redactions.record(tx, before.id, None).await?;
    Ok(())
}

/// The before/after of every plain field that differs.
fn field_changes(before: &Ticket, after: &Ticket) -> serde_json::Map<String, Value> {
    let mut changes = serde_json::Map::new();
    let mut diff = |name: &str, b: Value, a: Value| {
        if b != a {
            changes.insert(name.to_string(), json!({"from": b, "to": a}));
        }
    };
    diff("title", json!(before.title), json!(after.title));
    diff(
        "description",
        json!(before.description),
        json!(after.description),
    );
    diff(
        "service_id",
        json!(before.service_id),
        json!(after.service_id),
    );
    diff("category", json!(before.category), json!(after.category));
    diff("tags", json!(before.tags), json!(after.tags));
    diff("impact", json!(before.impact), json!(after.impact));
    diff("urgency", json!(before.urgency), json!(after.urgency));
    changes
}

/// Parses a remembered idempotent result, "ticket:42".
pub(crate) fn parse_ref(result_ref: &str) -> Result<TicketId, StoreError> {
    result_ref
        .rsplit(':')
        .next()
        .and_then(|id| id.parse().ok())
        .map(TicketId)
        .ok_or_else(|| StoreError::Corrupt(format!("idempotency result '{result_ref}'")))
}
