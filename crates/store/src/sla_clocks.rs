//! The SLA projection and its timers.
//!
//! The event log is the truth about SLA clocks; this module keeps a
//! projection of it (`sla_clocks`, and `sla_status`/`sla_due_at` on each
//! ticket) so queues can sort by time to breach and the worker can find the
//! next clock that falls due without replaying every history.
//!
//! * [`Store::project_sla`] follows the log by cursor and recomputes each
//!   ticket an event touched; a calendar or policy change recomputes every
//!   open ticket ([`Store::recompute_open_sla`]).
//! * [`Store::fire_due_sla`] claims clocks whose next announcement is due
//!   (a lease, so several nodes share the work) and recomputes them.
//!
//! Every recomputation runs inside a write transaction, which orders it
//! after every other write on every node. It re-reads the ticket's history
//! there, appends `sla.warning` / `sla.breached` for what the domain says is
//! owed ([`due_announcements`]), stamped with the true instant, and records
//! that it did in the same transaction: each announcement happens once per
//! clock, however many nodes race and however often the server restarts.

use crate::rows::{EVENT_COLUMNS, dynamic_query, event, parse};
use crate::tx::WriteTx;
use crate::{Backend, Event, Store, StoreError, bulk};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::BusinessCalendar;
use opsdesk_domain::sla::{
    ClockEvent, ClockEventKind, ClockState, ClockStatus, PolicyFacts, SlaMetric, SlaPolicy,
    due_announcements, evaluate, next_announcement, select_policy, summarize,
};
use opsdesk_domain::{Priority, ServiceId, TeamId, TicketKind, TicketState};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeSet, HashMap};

/// Tickets recomputed per write transaction: large enough to amortise the
/// commit, small enough that other writers wait only milliseconds.
const TICKETS_PER_WRITE: usize = 500;

/// Log events read per projection step.
const EVENTS_PER_STEP: i64 = 2000;

/// The cursor row of this consumer in `worker_cursors`.
const CURSOR: &str = "sla";

/// How long a node keeps the projection cursor or a claimed timer before
/// another node may take over (it renews while it works).
pub const SLA_LEASE: SignedDuration = SignedDuration::from_secs(30);

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlaPass {
    /// Tickets whose clocks were recomputed.
    pub tickets: u64,
    /// `sla.warning` and `sla.breached` events appended.
    pub announced: u64,
}

impl std::ops::AddAssign for SlaPass {
    fn add_assign(&mut self, other: SlaPass) {
        self.tickets += other.tickets;
        self.announced += other.announced;
    }
}

/// Policies and built calendars, loaded once per pass.
pub(crate) struct SlaRules {
    policies: Vec<SlaPolicy>,
    calendars: HashMap<i64, BusinessCalendar>,
}

/// What a ticket's clocks depend on: the fields policies match on, and the
/// history.
pub(crate) struct ClockInputs {
    pub kind: TicketKind,
    pub priority: Priority,
    pub service_id: Option<ServiceId>,
    pub team_id: Option<TeamId>,
    pub organization: Option<String>,
    pub history: Vec<Event>,
}

/// A ticket's clocks under the policy in force.
pub(crate) struct EvaluatedClocks<'r> {
    pub policy: &'r SlaPolicy,
    pub clocks: Vec<(SlaMetric, ClockStatus)>,
    /// The instant the clocks were evaluated at: `now`, or the ticket's
    /// last event when that is later.
    pub at: Timestamp,
}

impl SlaRules {
    /// The policy covering `inputs` and each of its clocks at `now`; `None`
    /// when no policy covers the ticket.
    ///
    /// The policy is chosen on the ticket's *current* kind, priority,
    /// service and requester organisation, and applies to the business
    /// time already elapsed (documented in `docs/sla.md`).
    pub(crate) fn evaluate(
        &self,
        inputs: &ClockInputs,
        now: Timestamp,
    ) -> Result<Option<EvaluatedClocks<'_>>, StoreError> {
        // An event stamped after `now` (written by another node, or after
        // this pass took its `now`) already happened: never evaluate a
        // history before its own last event, or a clock could miss its
        // start and never be looked at again.
        let now = inputs
            .history
            .iter()
            .map(|e| e.at)
            .max()
            .map_or(now, |last| last.max(now));
        let facts = PolicyFacts {
            kind: inputs.kind,
            priority: inputs.priority,
            service: inputs.service_id,
            organization: inputs.organization.as_deref(),
        };
        let Some(policy) = select_policy(&self.policies, &facts) else {
            return Ok(None);
        };
        let lookup = |id: i64| self.calendars.get(&id);
        let mut clocks = Vec::with_capacity(policy.targets.len());
        for target in &policy.targets {
            let events = clock_events(target.metric, &inputs.history);
            let status = evaluate(target, &lookup, &events, now)
                .map_err(|e| StoreError::Corrupt(format!("SLA policy {}: {e}", policy.id)))?;
            clocks.push((target.metric, status));
        }
        Ok(Some(EvaluatedClocks {
            policy,
            clocks,
            at: now,
        }))
    }
}

/// States in which the resolution clock stops: the work is done (or
/// abandoned); a reopen restarts it.
const RESOLUTION_STOP_STATES: [TicketState; 4] = [
    TicketState::Resolved,
    TicketState::Fulfilled,
    TicketState::Closed,
    TicketState::Cancelled,
];

/// The event kinds that move a clock; everything else is skipped when
/// histories are loaded in bulk.
const CLOCK_EVENT_KINDS: &str = "'ticket.created', 'ticket.transitioned', 'ticket.commented'";

/// Translates a ticket's event log into one metric's clock history:
/// `ticket.created` starts every clock, each transition reports the new
/// state (for pauses); resolution stops on resolved/fulfilled/closed/
/// cancelled and restarts on a reopen; first response stops at the comment
/// the store marked as the first public agent reply.
pub(crate) fn clock_events(metric: SlaMetric, history: &[Event]) -> Vec<ClockEvent> {
    let mut out = Vec::new();
    for e in history {
        let at = e.at;
        match e.kind.as_str() {
            "ticket.created" => out.push(ClockEvent::new(at, ClockEventKind::Started)),
            "ticket.transitioned" => {
                let Ok(to) = serde_json::from_value::<TicketState>(e.data["to"].clone()) else {
                    continue;
                };
                out.push(ClockEvent::new(at, ClockEventKind::StateChanged(to)));
                if metric == SlaMetric::Resolution {
                    if e.data["reopens"] == json!(true) {
                        out.push(ClockEvent::new(at, ClockEventKind::Restarted));
                    } else if RESOLUTION_STOP_STATES.contains(&to) {
                        out.push(ClockEvent::new(at, ClockEventKind::Stopped));
                    }
                }
            }
            "ticket.commented"
                if metric == SlaMetric::FirstResponse
                    && e.data["first_response"] == json!(true) =>
            {
                out.push(ClockEvent::new(at, ClockEventKind::Stopped));
            }
            _ => {}
        }
    }
    out
}

/// The JSON array bound as the one parameter of a bulk statement.
fn json_param<T: serde::Serialize>(values: &T) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|e| StoreError::Corrupt(format!("bulk parameter: {e}")))
}

/// Loads the clock inputs of `ids` (missing tickets are left out).
pub(crate) async fn load_clock_inputs(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
) -> Result<HashMap<i64, ClockInputs>, StoreError> {
    let mut inputs = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(inputs);
    }
    let sql = format!(
        "SELECT t.id, t.kind, t.priority, t.service_id, t.team_id, u.organization \
         FROM tickets t JOIN users u ON u.id = t.requester_id WHERE t.id IN ({})",
        bulk::ints(backend, "$1")
    );
    let rows = dynamic_query(&sql)
        .bind(json_param(&ids)?)
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let rank: i64 = row.try_get("priority")?;
        inputs.insert(
            row.try_get("id")?,
            ClockInputs {
                kind: parse("kind", &kind)?,
                priority: Priority::from_rank(rank)
                    .ok_or_else(|| StoreError::Corrupt(format!("priority rank {rank}")))?,
                service_id: row.try_get::<Option<i64>, _>("service_id")?.map(ServiceId),
                team_id: row.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
                organization: row.try_get("organization")?,
                history: Vec::new(),
            },
        );
    }
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE entity = 'ticket' AND entity_id IN ({}) \
         AND kind IN ({CLOCK_EVENT_KINDS}) ORDER BY seq",
        bulk::texts(backend, "$1")
    );
    let names: Vec<String> = ids.iter().map(i64::to_string).collect();
    let rows = dynamic_query(&sql)
        .bind(json_param(&names)?)
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let e = event(&row)?;
        let Ok(id) = e.entity_id.parse::<i64>() else {
            continue;
        };
        if let Some(input) = inputs.get_mut(&id) {
            input.history.push(e);
        }
    }
    Ok(inputs)
}

/// What is remembered about a clock between recomputations.
#[derive(Debug, Clone)]
struct Remembered {
    policy_id: i64,
    warned: bool,
    breach_announced: bool,
}

/// One `sla_clocks` row to write.
struct ClockRow {
    ticket_id: i64,
    metric: SlaMetric,
    policy_id: i64,
    state: ClockState,
    target_seconds: i64,
    due_at: Option<i64>,
    warning_at: Option<i64>,
    breached_at: Option<i64>,
    warned: bool,
    breach_announced: bool,
    next_fire_at: Option<i64>,
}

const CLOCK_COLUMNS: &str = "ticket_id, metric, policy_id, state, target_seconds, due_at, \
    warning_at, breached_at, warned, breach_announced, next_fire_at, computed_at";

fn micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_microsecond())
}

impl Store {
    pub(crate) async fn sla_rules(&self) -> Result<SlaRules, StoreError> {
        let policies = self
            .list_sla_policies()
            .await?
            .iter()
            .map(crate::sla::SlaPolicyRecord::to_domain)
            .collect();
        let calendars = self.business_calendars().await?;
        Ok(SlaRules {
            policies,
            calendars,
        })
    }

    /// Brings the SLA projection up to date with the event log: recomputes
    /// every ticket touched since the cursor (every open ticket after a
    /// calendar or policy change) and announces what fell due. Returns
    /// without doing anything while another node holds the cursor.
    pub async fn project_sla(&self, owner: &str, now: Timestamp) -> Result<SlaPass, StoreError> {
        let mut pass = SlaPass::default();
        loop {
            let position: i64 = sqlx::query("SELECT position FROM worker_cursors WHERE name = $1")
                .bind(CURSOR)
                .fetch_one(&self.pool)
                .await?
                .try_get("position")?;
            let rows = sqlx::query(
                "SELECT seq, entity, entity_id, kind FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(position)
            .bind(EVENTS_PER_STEP)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(pass);
            };
            let until: i64 = last.try_get("seq")?;
            let mut touched = BTreeSet::new();
            let mut rules_changed = false;
            for row in &rows {
                let entity: String = row.try_get("entity")?;
                let kind: String = row.try_get("kind")?;
                match entity.as_str() {
                    "calendar" | "sla_policy" => rules_changed = true,
                    // Our own announcements change no clock.
                    "ticket" if !kind.starts_with("sla.") => {
                        let id: String = row.try_get("entity_id")?;
                        if let Ok(id) = id.parse::<i64>() {
                            touched.insert(id);
                        }
                    }
                    _ => {}
                }
            }
            let rules = self.sla_rules().await?;
            if rules.policies.is_empty() && !rules_changed {
                // Nothing is covered, and the projection already says so
                // (the last policy change recomputed everything).
                touched.clear();
            }
            let step = if rules_changed {
                self.recompute_all_open(&rules, now, Some((owner, position, until)))
                    .await?
            } else {
                let ids: Vec<i64> = touched.into_iter().collect();
                self.recompute_in_chunks(&rules, &ids, now, Some((owner, position, until)))
                    .await?
            };
            match step {
                Some(done) => pass += done,
                // Another node holds the cursor; it does the work.
                None => return Ok(pass),
            }
        }
    }

    /// Recomputes the SLA clocks of every open ticket, e.g. after a calendar
    /// change. The projector does this on its own when it reads a calendar
    /// or policy event; this is the same work on demand (and for benchmarks).
    pub async fn recompute_open_sla(&self, now: Timestamp) -> Result<SlaPass, StoreError> {
        let rules = self.sla_rules().await?;
        Ok(self
            .recompute_all_open(&rules, now, None)
            .await?
            .unwrap_or_default())
    }

    async fn recompute_all_open(
        &self,
        rules: &SlaRules,
        now: Timestamp,
        cursor: Option<(&str, i64, i64)>,
    ) -> Result<Option<SlaPass>, StoreError> {
        // Open tickets, and closed ones that still owe an announcement. One
        // read up front: ids are small, and a scan per chunk would cost a
        // pass over every open ticket each time.
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM tickets WHERE is_open = 1 \
             UNION SELECT ticket_id AS id FROM sla_clocks WHERE next_fire_at IS NOT NULL \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        self.recompute_in_chunks(rules, &ids, now, cursor).await
    }

    async fn recompute_in_chunks(
        &self,
        rules: &SlaRules,
        ids: &[i64],
        now: Timestamp,
        cursor: Option<(&str, i64, i64)>,
    ) -> Result<Option<SlaPass>, StoreError> {
        let mut pass = SlaPass::default();
        let chunks: Vec<&[i64]> = if ids.is_empty() {
            vec![&[]]
        } else {
            ids.chunks(TICKETS_PER_WRITE).collect()
        };
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let chunk_cursor = if i + 1 == count { cursor } else { None };
            match self
                .recompute_chunk(rules, chunk, now, chunk_cursor)
                .await?
            {
                Some(done) => pass += done,
                None => return Ok(None),
            }
        }
        Ok(Some(pass))
    }

    /// Claims the clocks whose next announcement is due at `now` (at most
    /// `limit` tickets) and recomputes them, which announces what is owed.
    /// A claim is a lease: a node that dies holding it only delays the
    /// announcement until the lease runs out.
    pub async fn fire_due_sla(
        &self,
        owner: &str,
        now: Timestamp,
        limit: i64,
    ) -> Result<SlaPass, StoreError> {
        let lease_until = now.checked_add(SLA_LEASE).unwrap_or(now).as_microsecond();
        let mut tx = self.write(None, now).await?;
        let rows = sqlx::query(
            "UPDATE sla_clocks SET lease_owner = $1, lease_until = $2 \
             WHERE (ticket_id, metric) IN (SELECT ticket_id, metric FROM sla_clocks \
                 WHERE next_fire_at <= $3 AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $1) \
                 ORDER BY next_fire_at LIMIT $4) \
             RETURNING ticket_id",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now.as_microsecond())
        .bind(limit)
        .fetch_all(tx.conn().await?)
        .await?;
        tx.commit().await?;
        let ids: BTreeSet<i64> = rows
            .iter()
            .map(|r| r.try_get("ticket_id"))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(SlaPass::default());
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        let rules = self.sla_rules().await?;
        Ok(self
            .recompute_in_chunks(&rules, &ids, now, None)
            .await?
            .unwrap_or_default())
    }

    /// Recomputes `ids` in one write transaction. With `cursor` = (owner,
    /// expected position, new position) it also advances the projection
    /// cursor, and does nothing (returns `None`) when another node holds it
    /// or moved it.
    async fn recompute_chunk(
        &self,
        rules: &SlaRules,
        ids: &[i64],
        now: Timestamp,
        cursor: Option<(&str, i64, i64)>,
    ) -> Result<Option<SlaPass>, StoreError> {
        let mut tx = self.write(None, now).await?;
        if let Some((owner, expected, until)) = cursor {
            let lease_until = now.checked_add(SLA_LEASE).unwrap_or(now).as_microsecond();
            let moved = sqlx::query(
                "UPDATE worker_cursors SET position = $1, lease_owner = $2, lease_until = $3 \
                 WHERE name = $4 AND position = $5 \
                 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $6)",
            )
            .bind(until)
            .bind(owner)
            .bind(lease_until)
            .bind(CURSOR)
            .bind(expected)
            .bind(now.as_microsecond())
            .execute(tx.conn().await?)
            .await?
            .rows_affected();
            if moved != 1 {
                return Ok(None);
            }
        }
        let pass = recompute_tickets(&mut tx, self.backend, rules, ids, now).await?;
        tx.commit().await?;
        Ok(Some(pass))
    }
}

/// The heart of the projection, inside a write transaction: evaluate each
/// ticket's clocks from its history, announce what is owed, and replace
/// its `sla_clocks` rows and queue columns.
async fn recompute_tickets(
    tx: &mut WriteTx,
    backend: Backend,
    rules: &SlaRules,
    ids: &[i64],
    now: Timestamp,
) -> Result<SlaPass, StoreError> {
    let mut pass = SlaPass::default();
    if ids.is_empty() {
        return Ok(pass);
    }
    let inputs = load_clock_inputs(tx.conn().await?, backend, ids).await?;
    let remembered = load_remembered(tx.conn().await?, backend, ids).await?;
    let mut rows: Vec<ClockRow> = Vec::with_capacity(ids.len() * 2);
    let mut summaries: Vec<(i64, Option<&'static str>, Option<i64>)> =
        Vec::with_capacity(ids.len());
    let mut announcements: Vec<(i64, &'static str, Timestamp, serde_json::Value)> = Vec::new();
    for &id in ids {
        let Some(input) = inputs.get(&id) else {
            continue;
        };
        pass.tickets += 1;
        let Some(evaluated) = rules.evaluate(input, now)? else {
            summaries.push((id, None, None));
            continue;
        };
        let policy = evaluated.policy;
        let at = evaluated.at;
        let statuses: Vec<ClockStatus> = evaluated.clocks.iter().map(|(_, s)| s.clone()).collect();
        let summary = summarize(&statuses);
        summaries.push((
            id,
            summary.map(|s| ClockState::as_str(s.status)),
            summary.and_then(|s| micros(s.due_at)),
        ));
        for (metric, status) in evaluated.clocks {
            // A different policy is a different clock: it announces anew.
            let before = remembered
                .get(&(id, metric.as_str()))
                .filter(|r| r.policy_id == policy.id.0);
            let mut warned = before.is_some_and(|r| r.warned);
            let mut breach_announced = before.is_some_and(|r| r.breach_announced);
            let due = due_announcements(&status, warned, breach_announced, at);
            let data = |instant_field: &str, at: Timestamp| {
                json!({
                    "metric": metric, "policy_id": policy.id.0, "policy": policy.name,
                    "target_seconds": status.target.as_secs(), instant_field: at,
                })
            };
            if let Some(at) = due.warning {
                announcements.push((id, "sla.warning", at, data("warning_at", at)));
                warned = true;
            }
            if let Some(at) = due.breach {
                announcements.push((id, "sla.breached", at, data("breached_at", at)));
                breach_announced = true;
            }
            rows.push(ClockRow {
                ticket_id: id,
                metric,
                policy_id: policy.id.0,
                state: status.state,
                target_seconds: status.target.as_secs(),
                due_at: micros(status.due_at),
                warning_at: micros(status.warning_at),
                breached_at: micros(status.breached_at),
                warned,
                breach_announced,
                next_fire_at: micros(next_announcement(&status, warned, breach_announced)),
            });
        }
    }
    // The events carry the instant the warning or breach really happened,
    // which is in the past when the server was down at the time.
    let stamped_now = tx.now;
    for (id, kind, at, data) in announcements {
        tx.now = at;
        tx.event("ticket", id, kind, data).await?;
        pass.announced += 1;
    }
    tx.now = stamped_now;
    write_clock_rows(tx, backend, ids, &rows, now).await?;
    write_summaries(tx, backend, &summaries).await?;
    Ok(pass)
}

async fn load_remembered(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
) -> Result<HashMap<(i64, &'static str), Remembered>, StoreError> {
    let sql = format!(
        "SELECT ticket_id, metric, policy_id, warned, breach_announced FROM sla_clocks \
         WHERE ticket_id IN ({})",
        bulk::ints(backend, "$1")
    );
    let q = dynamic_query(&sql).bind(json_param(&ids)?);
    let mut out = HashMap::new();
    for row in q.fetch_all(conn).await? {
        let metric: String = row.try_get("metric")?;
        let Some(metric) = SlaMetric::parse(&metric) else {
            continue;
        };
        out.insert(
            (row.try_get::<i64, _>("ticket_id")?, metric.as_str()),
            Remembered {
                policy_id: row.try_get("policy_id")?,
                warned: row.try_get::<i64, _>("warned")? != 0,
                breach_announced: row.try_get::<i64, _>("breach_announced")? != 0,
            },
        );
    }
    Ok(out)
}

/// Replaces the clocks of `ids` with `rows` (which also drops any lease:
/// the claimed work is done).
async fn write_clock_rows(
    tx: &mut WriteTx,
    backend: Backend,
    ids: &[i64],
    rows: &[ClockRow],
    now: Timestamp,
) -> Result<(), StoreError> {
    let sql = format!(
        "DELETE FROM sla_clocks WHERE ticket_id IN ({})",
        bulk::ints(backend, "$1")
    );
    dynamic_query(&sql)
        .bind(json_param(&ids)?)
        .execute(tx.conn().await?)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    use bulk::Column::{Int, Text};
    let columns = [Int, Text, Int, Text, Int, Int, Int, Int, Int, Int, Int, Int];
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!([
                r.ticket_id,
                r.metric.as_str(),
                r.policy_id,
                ClockState::as_str(r.state),
                r.target_seconds,
                r.due_at,
                r.warning_at,
                r.breached_at,
                i64::from(r.warned),
                i64::from(r.breach_announced),
                r.next_fire_at,
                now.as_microsecond(),
            ])
        })
        .collect();
    let sql = format!(
        "INSERT INTO sla_clocks ({CLOCK_COLUMNS}) {}",
        bulk::rows(backend, "$1", &columns)
    );
    dynamic_query(&sql)
        .bind(json_param(&values)?)
        .execute(tx.conn().await?)
        .await?;
    Ok(())
}

/// Sets each ticket's queue columns. Derived data: neither `updated_at`
/// nor `version` moves.
async fn write_summaries(
    tx: &mut WriteTx,
    backend: Backend,
    summaries: &[(i64, Option<&'static str>, Option<i64>)],
) -> Result<(), StoreError> {
    if summaries.is_empty() {
        return Ok(());
    }
    use bulk::Column::{Int, Text};
    let sql = format!(
        "UPDATE tickets SET sla_status = v.c1, sla_due_at = v.c2 FROM ({}) AS v \
         WHERE tickets.id = v.c0",
        bulk::rows(backend, "$1", &[Int, Text, Int])
    );
    dynamic_query(&sql)
        .bind(json_param(&summaries)?)
        .execute(tx.conn().await?)
        .await?;
    Ok(())
}
