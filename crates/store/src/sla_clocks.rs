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
//! after every other write on every node. It takes the ticket's history and
//! flags as they stand there (read inside the transaction, or read just
//! before and confirmed unchanged inside it: see `Store::recompute_chunk`),
//! appends `sla.warning` / `sla.breached` for what the domain says is owed
//! ([`due_announcements`]), stamped with the true instant, and records that
//! it did in the same transaction: each announcement happens once per clock,
//! however many nodes race and however often the server restarts.

use crate::rows::{dynamic_query, parse, ts};
use crate::tx::{Bound, Durable, WriteTx};
use crate::{Backend, Store, StoreError, bulk};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::BusinessCalendar;
use opsdesk_domain::sla::{
    ClockEvent, ClockEventKind, ClockState, ClockStatus, PolicyFacts, SlaMetric, SlaPolicy,
    due_announcements, evaluate, next_announcement, select_policy, summarize,
};
use opsdesk_domain::{Priority, ServiceId, TeamId, TicketKind, TicketState};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

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
    pub history: Vec<ClockFact>,
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

/// What the clocks need of one event in a ticket's history. The store reads
/// these few fields out of the event's data in SQL, so the rest of it (a
/// created ticket's whole text, a comment's body) is never decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockFact {
    pub seq: i64,
    pub at: Timestamp,
    pub kind: ClockFactKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClockFactKind {
    /// `ticket.created`.
    Created,
    /// `ticket.transitioned`; `to` is `None` when the event names no state
    /// this version knows (the transition then moves no clock).
    Transitioned {
        to: Option<TicketState>,
        reopens: bool,
    },
    /// `ticket.commented`; `first_response` when the store marked it as the
    /// first public agent reply.
    Commented { first_response: bool },
}

/// Translates a ticket's event log into one metric's clock history:
/// `ticket.created` starts every clock, each transition reports the new
/// state (for pauses); resolution stops on resolved/fulfilled/closed/
/// cancelled and restarts on a reopen; first response stops at the comment
/// the store marked as the first public agent reply.
pub(crate) fn clock_events(metric: SlaMetric, history: &[ClockFact]) -> Vec<ClockEvent> {
    let mut out = Vec::new();
    for fact in history {
        let at = fact.at;
        match fact.kind {
            ClockFactKind::Created => out.push(ClockEvent::new(at, ClockEventKind::Started)),
            ClockFactKind::Transitioned { to: None, .. } => {}
            ClockFactKind::Transitioned {
                to: Some(to),
                reopens,
            } => {
                out.push(ClockEvent::new(at, ClockEventKind::StateChanged(to)));
                if metric == SlaMetric::Resolution {
                    if reopens {
                        out.push(ClockEvent::new(at, ClockEventKind::Restarted));
                    } else if RESOLUTION_STOP_STATES.contains(&to) {
                        out.push(ClockEvent::new(at, ClockEventKind::Stopped));
                    }
                }
            }
            ClockFactKind::Commented {
                first_response: true,
            } if metric == SlaMetric::FirstResponse => {
                out.push(ClockEvent::new(at, ClockEventKind::Stopped));
            }
            ClockFactKind::Commented { .. } => {}
        }
    }
    out
}

/// The JSON array bound as the one parameter of a bulk statement.
fn json_param<T: serde::Serialize>(values: &T) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|e| StoreError::Corrupt(format!("bulk parameter: {e}")))
}

/// Decodes one JSON array a bulk read returned (NULL: no rows).
fn json_rows<T: serde::de::DeserializeOwned>(
    what: &str,
    text: Option<String>,
) -> Result<Vec<T>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("{what} read in bulk: {e}"))),
    }
}

/// A ticket row as the bulk read returns it: id, kind, priority rank,
/// service, team, requester organisation, sla_status, sla_due_at.
type TicketRow = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// An event as the bulk read returns it: ticket id, seq, at, kind, the
/// state a transition went to, reopens (0/1), first response (0/1).
type FactRow = (i64, i64, i64, String, Option<String>, i64, i64);

/// An `sla_clocks` row as the bulk read returns it: ticket id, metric,
/// policy id, state, target seconds, due_at, warning_at, breached_at,
/// warned, breach_announced, next_fire_at, leased (0/1).
type StoredRow = (
    i64,
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    i64,
);

/// The SQL of [`load_chunk`] for a backend: one row of three JSON arrays
/// (tickets, clock-relevant events, stored clocks), so a chunk costs one
/// statement and one row however many tickets it has.
fn chunk_read_sql(backend: Backend, with_clocks: bool) -> String {
    let ticket = bulk::array(
        backend,
        &[
            "t.id",
            "t.kind",
            "t.priority",
            "t.service_id",
            "t.team_id",
            "u.organization",
            "t.sla_status",
            "t.sla_due_at",
        ],
    );
    // Only three fields of an event's data matter to a clock.
    let (entity_id, to, reopens, first_response) = match backend {
        Backend::Sqlite => (
            "CAST(e.entity_id AS INTEGER)",
            "CASE WHEN e.kind = 'ticket.transitioned' AND json_type(e.data, '$.to') = 'text' \
             THEN json_extract(e.data, '$.to') END",
            "CASE WHEN e.kind = 'ticket.transitioned' AND json_type(e.data, '$.reopens') = 'true' \
             THEN 1 ELSE 0 END",
            "CASE WHEN e.kind = 'ticket.commented' \
             AND json_type(e.data, '$.first_response') = 'true' THEN 1 ELSE 0 END",
        ),
        Backend::Postgres => (
            "e.entity_id::bigint",
            "CASE WHEN e.kind = 'ticket.transitioned' \
             AND jsonb_typeof(e.data::jsonb -> 'to') = 'string' THEN e.data::jsonb ->> 'to' END",
            "CASE WHEN e.kind = 'ticket.transitioned' \
             AND (e.data::jsonb -> 'reopens') = 'true'::jsonb THEN 1 ELSE 0 END",
            "CASE WHEN e.kind = 'ticket.commented' \
             AND (e.data::jsonb -> 'first_response') = 'true'::jsonb THEN 1 ELSE 0 END",
        ),
    };
    let fact = bulk::array(
        backend,
        &[
            entity_id,
            "e.seq",
            "e.at",
            "e.kind",
            to,
            reopens,
            first_response,
        ],
    );
    let clocks = if with_clocks {
        let leased = "CASE WHEN c.lease_owner IS NULL AND c.lease_until IS NULL THEN 0 ELSE 1 END";
        let clock = bulk::array(
            backend,
            &[
                "c.ticket_id",
                "c.metric",
                "c.policy_id",
                "c.state",
                "c.target_seconds",
                "c.due_at",
                "c.warning_at",
                "c.breached_at",
                "c.warned",
                "c.breach_announced",
                "c.next_fire_at",
                leased,
            ],
        );
        format!(
            "(SELECT {} FROM sla_clocks c WHERE {})",
            bulk::agg(backend, &clock),
            bulk::in_ints(backend, "c.ticket_id", "$1")
        )
    } else {
        "NULL".to_string()
    };
    format!(
        "SELECT \
         (SELECT {} FROM tickets t JOIN users u ON u.id = t.requester_id \
          WHERE {}) AS tickets, \
         (SELECT {} FROM events e WHERE e.entity = 'ticket' AND {} \
          AND e.kind IN ({CLOCK_EVENT_KINDS})) AS facts, \
         {clocks} AS clocks, \
         (SELECT seq FROM chain_head WHERE id = 1) AS head",
        bulk::agg(backend, &ticket),
        bulk::in_ints(backend, "t.id", "$1"),
        bulk::agg(backend, &fact),
        bulk::in_texts(backend, "e.entity_id", "$2"),
    )
}

/// What one read of a chunk returns.
struct ChunkRead {
    inputs: HashMap<i64, ClockInputs>,
    /// Each ticket's queue columns as stored.
    summaries: HashMap<i64, Summary>,
    /// The stored clocks, by ticket and metric name (a name this version
    /// does not know is kept, so that its row is removed).
    stored: HashMap<(i64, String), StoredClock>,
    /// The last event in the log as this read saw it.
    head: i64,
}

/// Reads the clock inputs of `ids` (missing tickets are left out) and,
/// `with_clocks`, their stored `sla_clocks` rows, in one statement.
async fn load_chunk(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
    with_clocks: bool,
) -> Result<ChunkRead, StoreError> {
    let mut read = ChunkRead {
        inputs: HashMap::with_capacity(ids.len()),
        summaries: HashMap::with_capacity(ids.len()),
        stored: HashMap::new(),
        head: 0,
    };
    if ids.is_empty() {
        return Ok(read);
    }
    let names: Vec<String> = ids.iter().map(i64::to_string).collect();
    let row = dynamic_query(&chunk_read_sql(backend, with_clocks))
        .bind(json_param(&ids)?)
        .bind(json_param(&names)?)
        .fetch_one(&mut *conn)
        .await?;
    let tickets: Vec<TicketRow> = json_rows("tickets", row.try_get("tickets")?)?;
    let facts: Vec<FactRow> = json_rows("events", row.try_get("facts")?)?;
    let clocks: Vec<StoredRow> = json_rows("sla_clocks", row.try_get("clocks")?)?;
    read.head = row.try_get("head")?;
    for (id, kind, rank, service_id, team_id, organization, status, due_at) in tickets {
        read.inputs.insert(
            id,
            ClockInputs {
                kind: parse("kind", &kind)?,
                priority: Priority::from_rank(rank)
                    .ok_or_else(|| StoreError::Corrupt(format!("priority rank {rank}")))?,
                service_id: service_id.map(ServiceId),
                team_id: team_id.map(TeamId),
                organization,
                history: Vec::new(),
            },
        );
        read.summaries.insert(id, (status, due_at));
    }
    for (id, seq, at, kind, to, reopens, first_response) in facts {
        let kind = match kind.as_str() {
            "ticket.created" => ClockFactKind::Created,
            "ticket.transitioned" => ClockFactKind::Transitioned {
                to: to.and_then(|to| serde_json::from_value(serde_json::Value::String(to)).ok()),
                reopens: reopens != 0,
            },
            "ticket.commented" => ClockFactKind::Commented {
                first_response: first_response != 0,
            },
            _ => continue,
        };
        if let Some(input) = read.inputs.get_mut(&id) {
            input.history.push(ClockFact {
                seq,
                at: ts(at)?,
                kind,
            });
        }
    }
    for input in read.inputs.values_mut() {
        input.history.sort_unstable_by_key(|f| f.seq);
    }
    for (ticket_id, metric, policy_id, state, target, due, warning, breached, w, b, next, leased) in
        clocks
    {
        read.stored.insert(
            (ticket_id, metric),
            StoredClock {
                policy_id,
                state,
                target_seconds: target,
                due_at: due,
                warning_at: warning,
                breached_at: breached,
                warned: w != 0,
                breach_announced: b != 0,
                next_fire_at: next,
                leased: leased != 0,
            },
        );
    }
    Ok(read)
}

/// Loads the clock inputs of `ids` (missing tickets are left out).
pub(crate) async fn load_clock_inputs(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
) -> Result<HashMap<i64, ClockInputs>, StoreError> {
    Ok(load_chunk(conn, backend, ids, false).await?.inputs)
}

/// A ticket's queue columns: `sla_status`, `sla_due_at`.
type Summary = (Option<String>, Option<i64>);

/// An `sla_clocks` row as stored: what is remembered between
/// recomputations (the flags), and what tells whether it changed.
#[derive(Debug, Clone)]
struct StoredClock {
    policy_id: i64,
    state: String,
    target_seconds: i64,
    due_at: Option<i64>,
    warning_at: Option<i64>,
    breached_at: Option<i64>,
    warned: bool,
    breach_announced: bool,
    next_fire_at: Option<i64>,
    /// A node claimed it; writing the row releases the claim.
    leased: bool,
}

/// One `sla_clocks` row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl ClockRow {
    /// Whether `stored` already says all this row says (and holds no
    /// claim), so writing it would change nothing.
    fn same_as(&self, stored: &StoredClock) -> bool {
        !stored.leased
            && stored.policy_id == self.policy_id
            && stored.state == ClockState::as_str(self.state)
            && stored.target_seconds == self.target_seconds
            && stored.due_at == self.due_at
            && stored.warning_at == self.warning_at
            && stored.breached_at == self.breached_at
            && stored.warned == self.warned
            && stored.breach_announced == self.breach_announced
            && stored.next_fire_at == self.next_fire_at
    }
}

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
        // read up front, as one JSON value: ids are small, and a scan per
        // chunk would cost a pass over every open ticket each time.
        let sql = format!(
            "SELECT {} AS ids FROM (SELECT id FROM tickets WHERE is_open = 1 \
             UNION ALL SELECT ticket_id AS id FROM sla_clocks WHERE next_fire_at IS NOT NULL) s",
            bulk::agg(self.backend, "id")
        );
        let row = dynamic_query(&sql).fetch_one(&self.pool).await?;
        let mut ids: Vec<i64> = json_rows("ticket ids", row.try_get("ids")?)?;
        ids.sort_unstable();
        ids.dedup();
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
        // The next chunk is read (and evaluated) on another connection
        // while this one is written; its write transaction then checks that
        // nothing happened to those tickets in between (see
        // [`Store::recompute_chunk`]). Nor does a chunk wait for the commit
        // of the one before: its write goes on while that is committed, or
        // joins the same commit.
        let mut ahead: Option<ReadAhead> = None;
        let mut queued: Vec<Durable> = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let chunk_cursor = if i + 1 == count { cursor } else { None };
            if chunk_cursor.is_some() {
                // The cursor moves past the events this pass covers only
                // once every chunk before it is saved.
                for durable in queued.drain(..) {
                    durable.wait().await?;
                }
            }
            let write = self.recompute_chunk(rules, chunk, now, chunk_cursor, ahead.take());
            let read_next = async {
                match chunks.get(i + 1) {
                    Some(next) => self.read_ahead(rules, next, now).await,
                    None => Ok(None),
                }
            };
            let (done, next) = tokio::join!(write, read_next);
            match done? {
                Some((done, durable)) => {
                    pass += done;
                    queued.push(durable);
                }
                None => return Ok(None),
            }
            ahead = next?;
        }
        for durable in queued {
            durable.wait().await?;
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

    /// Reads and evaluates `ids` outside any write transaction, for
    /// [`Store::recompute_chunk`] to use if nothing touched those tickets
    /// in between. `None` where that cannot help: an in-memory SQLite
    /// database has one connection, which the writer holds.
    async fn read_ahead(
        &self,
        rules: &SlaRules,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<Option<ReadAhead>, StoreError> {
        if self.pool.options().get_max_connections() < 2 {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        let read = load_chunk(&mut conn, self.backend, ids, true).await?;
        drop(conn);
        Ok(Some(ReadAhead {
            head: read.head,
            plan: plan_chunk(rules, ids, &read, now)?,
        }))
    }

    /// Recomputes `ids` in one write transaction. With `cursor` = (owner,
    /// expected position, new position) it also advances the projection
    /// cursor, and does nothing (returns `None`) when another node holds it
    /// or moved it. The write ends without waiting for its commit, which
    /// the returned [`Durable`] awaits.
    ///
    /// `ahead` is the same work done from a read outside the transaction.
    /// It is used only if no event about any of these tickets was written
    /// after that read (checked inside the transaction, so it covers every
    /// write ordered before this one, on every node): a ticket's history,
    /// the fields its policy is chosen on and its announcement flags all
    /// change only together with an event about it, so the read is then
    /// what the transaction itself would have read. Otherwise the chunk is
    /// read again inside the transaction.
    async fn recompute_chunk(
        &self,
        rules: &SlaRules,
        ids: &[i64],
        now: Timestamp,
        cursor: Option<(&str, i64, i64)>,
        ahead: Option<ReadAhead>,
    ) -> Result<Option<(SlaPass, Durable)>, StoreError> {
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
        if ids.is_empty() {
            return Ok(Some((SlaPass::default(), tx.commit_queued().await?)));
        }
        let plan = match ahead {
            Some(ahead)
                if !touched_since(tx.conn().await?, self.backend, ahead.head, ids).await? =>
            {
                ahead.plan
            }
            _ => {
                let read = load_chunk(tx.conn().await?, self.backend, ids, true).await?;
                plan_chunk(rules, ids, &read, now)?
            }
        };
        let pass = apply_plan(&mut tx, self.backend, plan, now).await?;
        Ok(Some((pass, tx.commit_queued().await?)))
    }
}

/// A chunk evaluated from a read made before its write transaction (see
/// [`Store::recompute_chunk`]).
struct ReadAhead {
    /// The last event the read saw.
    head: i64,
    plan: ChunkPlan,
}

/// What recomputing a chunk comes to: the announcements owed and the rows
/// whose values change.
struct ChunkPlan {
    tickets: u64,
    announcements: Vec<(i64, &'static str, Timestamp, serde_json::Value)>,
    rows: Vec<ClockRow>,
    /// Clocks no policy keeps any more, as (ticket, metric).
    stale: Vec<(i64, String)>,
    summaries: Vec<(i64, Option<&'static str>, Option<i64>)>,
}

/// Whether an event about one of `ids` was written after event `head`
/// (as this connection sees the log).
async fn touched_since(
    conn: &mut AnyConnection,
    backend: Backend,
    head: i64,
    ids: &[i64],
) -> Result<bool, StoreError> {
    // Usually a handful of events, all about other tickets; past the limit
    // the chunk is simply read again.
    const LIMIT: usize = 5_000;
    let sql = format!(
        "SELECT {} AS events FROM (SELECT entity, entity_id FROM events WHERE seq > $1 \
         ORDER BY seq LIMIT {}) s",
        bulk::agg(backend, &bulk::array(backend, &["entity", "entity_id"])),
        LIMIT + 1
    );
    let row = dynamic_query(&sql).bind(head).fetch_one(conn).await?;
    let events: Vec<(String, String)> = json_rows("events", row.try_get("events")?)?;
    if events.len() > LIMIT {
        return Ok(true);
    }
    let ids: HashSet<i64> = ids.iter().copied().collect();
    Ok(events.iter().any(|(entity, id)| {
        entity == "ticket" && id.parse::<i64>().map_or(true, |id| ids.contains(&id))
    }))
}

/// The heart of the projection: evaluates each ticket's clocks from its
/// history and works out what is owed and what changed. Pure, given the
/// read.
fn plan_chunk(
    rules: &SlaRules,
    ids: &[i64],
    read: &ChunkRead,
    now: Timestamp,
) -> Result<ChunkPlan, StoreError> {
    let mut plan = ChunkPlan {
        tickets: 0,
        announcements: Vec::new(),
        rows: Vec::with_capacity(ids.len() * 2),
        stale: Vec::new(),
        summaries: Vec::new(),
    };
    let mut kept: HashSet<(i64, &'static str)> = HashSet::with_capacity(ids.len() * 2);
    for &id in ids {
        let Some(input) = read.inputs.get(&id) else {
            continue;
        };
        plan.tickets += 1;
        let stored_summary = read.summaries.get(&id);
        let Some(evaluated) = rules.evaluate(input, now)? else {
            if stored_summary.is_none_or(|s| s.0.is_some() || s.1.is_some()) {
                plan.summaries.push((id, None, None));
            }
            continue;
        };
        let policy = evaluated.policy;
        let at = evaluated.at;
        let statuses: Vec<ClockStatus> = evaluated.clocks.iter().map(|(_, s)| s.clone()).collect();
        let summary = summarize(&statuses);
        let status = summary.map(|s| ClockState::as_str(s.status));
        let due_at = summary.and_then(|s| micros(s.due_at));
        if stored_summary.is_none_or(|s| s.0.as_deref() != status || s.1 != due_at) {
            plan.summaries.push((id, status, due_at));
        }
        for (metric, status) in evaluated.clocks {
            // A different policy is a different clock: it announces anew.
            let stored = read.stored.get(&(id, metric.as_str().to_string()));
            let before = stored.filter(|r| r.policy_id == policy.id.0);
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
                plan.announcements
                    .push((id, "sla.warning", at, data("warning_at", at)));
                warned = true;
            }
            if let Some(at) = due.breach {
                plan.announcements
                    .push((id, "sla.breached", at, data("breached_at", at)));
                breach_announced = true;
            }
            let row = ClockRow {
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
            };
            kept.insert((id, metric.as_str()));
            if !stored.is_some_and(|s| row.same_as(s)) {
                plan.rows.push(row);
            }
        }
    }
    // Clocks no policy keeps any more (or of a metric this version does
    // not know) go.
    plan.stale = read
        .stored
        .keys()
        .filter(|(id, metric)| {
            SlaMetric::parse(metric).is_none_or(|m| !kept.contains(&(*id, m.as_str())))
        })
        .cloned()
        .collect();
    Ok(plan)
}

/// Carries out `plan` inside the write transaction: appends the
/// announcements and queues the writes, which go to the database with the
/// transaction's release and touch only rows whose values change.
async fn apply_plan(
    tx: &mut WriteTx,
    backend: Backend,
    plan: ChunkPlan,
    now: Timestamp,
) -> Result<SlaPass, StoreError> {
    let mut pass = SlaPass {
        tickets: plan.tickets,
        announced: 0,
    };
    // The events carry the instant the warning or breach really happened,
    // which is in the past when the server was down at the time.
    let stamped_now = tx.now;
    for (id, kind, at, data) in plan.announcements {
        tx.now = at;
        tx.event("ticket", id, kind, data).await?;
        pass.announced += 1;
    }
    tx.now = stamped_now;
    let sql = write_sql(backend);
    if !plan.stale.is_empty() {
        tx.defer(
            &sql.delete_clocks,
            vec![Bound::Text(Some(json_param(&plan.stale)?))],
        );
    }
    if !plan.rows.is_empty() {
        tx.defer(
            &sql.upsert_clocks,
            vec![Bound::Text(Some(clock_rows_param(&plan.rows, now)?))],
        );
    }
    if !plan.summaries.is_empty() {
        tx.defer(
            &sql.summaries,
            vec![Bound::Text(Some(json_param(&plan.summaries)?))],
        );
    }
    Ok(pass)
}

/// The statements that write a chunk's results, built once per backend.
struct WriteSql {
    /// Removes the clocks in a JSON array of `[ticket_id, metric]`.
    delete_clocks: String,
    /// Inserts or overwrites the clocks in a JSON array of rows (see
    /// [`clock_rows_param`]); overwriting also drops any claim on the
    /// clock: the claimed work is done.
    upsert_clocks: String,
    /// Sets the queue columns from a JSON array of `[id, status, due_at]`.
    /// Derived data: neither `updated_at` nor `version` moves.
    summaries: String,
}

impl WriteSql {
    fn new(backend: Backend) -> WriteSql {
        use bulk::Column::{Int, Text};
        let columns = [Int, Text, Int, Text, Int, Int, Int, Int, Int, Int, Int, Int];
        let selected: Vec<String> = (0..columns.len()).map(|i| format!("v.c{i}")).collect();
        let updated = "policy_id = excluded.policy_id, state = excluded.state, \
            target_seconds = excluded.target_seconds, due_at = excluded.due_at, \
            warning_at = excluded.warning_at, breached_at = excluded.breached_at, \
            warned = excluded.warned, breach_announced = excluded.breach_announced, \
            next_fire_at = excluded.next_fire_at, computed_at = excluded.computed_at, \
            lease_owner = NULL, lease_until = NULL";
        WriteSql {
            delete_clocks: format!(
                "DELETE FROM sla_clocks WHERE (ticket_id, metric) IN (SELECT v.c0, v.c1 FROM ({}) AS v)",
                bulk::rows(backend, "$1", &[Int, Text])
            ),
            // `WHERE true`: SQLite needs it to tell the upsert clause from
            // a join constraint.
            upsert_clocks: format!(
                "INSERT INTO sla_clocks ({CLOCK_COLUMNS}) SELECT {} FROM ({}) AS v WHERE true \
                 ON CONFLICT (ticket_id, metric) DO UPDATE SET {updated}",
                selected.join(", "),
                bulk::rows(backend, "$1", &columns)
            ),
            summaries: format!(
                "UPDATE tickets SET sla_status = v.c1, sla_due_at = v.c2 FROM ({}) AS v \
                 WHERE tickets.id = v.c0",
                bulk::rows(backend, "$1", &[Int, Text, Int])
            ),
        }
    }
}

fn write_sql(backend: Backend) -> &'static WriteSql {
    static SQLITE: LazyLock<WriteSql> = LazyLock::new(|| WriteSql::new(Backend::Sqlite));
    static POSTGRES: LazyLock<WriteSql> = LazyLock::new(|| WriteSql::new(Backend::Postgres));
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

const CLOCK_COLUMNS: &str = "ticket_id, metric, policy_id, state, target_seconds, due_at, \
    warning_at, breached_at, warned, breach_announced, next_fire_at, computed_at";

/// `rows` as the JSON array [`WriteSql::upsert_clocks`] takes, in the order
/// of [`CLOCK_COLUMNS`].
fn clock_rows_param(rows: &[ClockRow], now: Timestamp) -> Result<String, StoreError> {
    let computed_at = now.as_microsecond();
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
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
                computed_at,
            )
        })
        .collect();
    json_param(&values)
}
