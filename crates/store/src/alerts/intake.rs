//! One intake batch, one write: every signal of a webhook or event goes
//! through the domain's pipeline (update, route, suppress, damp, group) and
//! everything it changes is written in the same transaction, so a batch is
//! stored whole or not at all and is acknowledged only once durable.
//!
//! The write is built for throughput: what the batch needs from the
//! database is read in a few multi-row queries (existing records by
//! fingerprint, open groups by key digest), the changed records go back as
//! multi-row upserts, and those, the noise counters and the events are
//! queued with `WriteTx::defer`, so on SQLite the whole batch reaches the
//! database in about three round trips however many alerts it holds.
//!
//! The event log gets what history needs, not one event per repeat: one
//! `alerts.received` event per batch (counts, and the fingerprints of every
//! alert that started firing, resolved, or was suppressed), and on each
//! incident an `incident.alerts_added` event listing the alerts that joined
//! it, besides the incident's own `ticket.created` / `ticket.transitioned`.

use super::{Integration, RepeatHint, keys, utc_day};
use crate::rows::{opt_ts, parse, ts};
use crate::tickets::{NewTicket, apply_transition, insert_ticket, load_ticket};
use crate::tx::{Bound, Queue, WriteTx};
use crate::{Backend, Store, StoreError, bulk};
use jiff::Timestamp;
use opsdesk_domain::alerts::{
    AlertRecord, AlertSignal, AlertStatus, AlertView, ContentDigest, Fingerprint, FlapState,
    GroupDecision, GroupKey, InhibitRule, Labels, NoiseMetrics, OpenGroup, PipelineOutcome,
    RouteAction, RoutingDecision, SuppressedBy, Suppressor, UpdateKind, apply_signal, decide_group,
    group_key, outcome_of, route, should_auto_resolve,
};
use opsdesk_domain::limits::{BODY_MAX_BYTES, TITLE_MAX_CHARS};
use opsdesk_domain::{Actor, Role, ServiceId, TeamId, TicketId, TicketKind, Transition, UserId};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use utoipa::ToSchema;

mod shortcuts;

pub use shortcuts::IntakeShortcuts;
pub(crate) use shortcuts::ShortcutCounters;

/// The signals of one request.
#[derive(Debug, Clone, Default)]
pub struct IntakeBatch {
    pub signals: Vec<AlertSignal>,
    /// Alerts the sender says it left out (Alertmanager's `truncatedAlerts`).
    pub truncated: u64,
}

/// What a batch did; the intake routes answer with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct IntakeResult {
    /// Signals in the batch.
    pub received: usize,
    /// Alerts seen for the first time.
    pub new: usize,
    /// Repeats of what we knew: only `count` and `last_seen` moved.
    pub deduplicated: usize,
    pub acknowledged: usize,
    pub resolved: usize,
    /// Resolved alerts that fire again (a new occurrence).
    pub reopened: usize,
    /// Stale or about alerts we never saw: nothing changed.
    pub ignored: usize,
    /// Stored, but silenced, in maintenance or inhibited.
    pub suppressed: usize,
    /// Stored, but flapping: no page.
    pub flapping: usize,
    /// Started firing and joined an open incident.
    pub grouped: usize,
    /// Numbers of the incidents this batch opened.
    pub incidents_opened: Vec<String>,
    /// Numbers of the incidents this batch resolved (all their alerts resolved).
    pub incidents_resolved: Vec<String>,
    /// Alerts the sender left out of the body (Alertmanager `truncatedAlerts`).
    pub truncated_alerts: u64,
}

/// A batch as the pipeline needs it, worked out before the writer lock.
struct Prepared<'a> {
    integration: &'a Integration,
    signals: &'a [AlertSignal],
    fingerprints: &'a [Fingerprint],
    decisions: &'a [RoutingDecision],
    /// The group key of each firing signal that could page.
    keys: Vec<Option<GroupKey>>,
    owners: HashMap<ServiceId, Option<TeamId>>,
    truncated: u64,
}

/// What the pipeline decided for a batch, to be written.
struct Plan {
    result: IntakeResult,
    noise: BTreeMap<ServiceId, NoiseMetrics>,
    /// Every alert of the batch as it is to be stored.
    known: HashMap<Fingerprint, Stored>,
    /// Alerts the batch changed, in order.
    changed: Vec<Fingerprint>,
    /// Alerts whose every change in this batch was a plain repeat (only
    /// `count` and `last_seen` moved), with how many: written as one
    /// narrow UPDATE instead of full rows.
    plain_repeats: HashMap<Fingerprint, u64>,
    full_rows: HashSet<Fingerprint>,
    /// Per incident, the alerts that joined it in this batch.
    added: BTreeMap<TicketId, Vec<serde_json::Value>>,
    opened: Vec<(TicketId, String)>,
    /// Incidents an alert of this batch resolved.
    check_resolve: Vec<TicketId>,
    started: Vec<String>,
    ended: Vec<String>,
    muted: Vec<String>,
    auto_resolve: HashMap<TicketId, bool>,
    truncated: u64,
}

impl Plan {
    /// Gives every row written whole the digest of what it now holds.
    fn set_digests(&mut self) {
        for fp in &self.full_rows {
            if let Some(st) = self.known.get_mut(fp) {
                st.digest = st.current_digest();
            }
        }
    }

    /// The rows written whole, in the order the batch changed them.
    fn full_row_records(&self) -> Vec<&Stored> {
        self.changed
            .iter()
            .filter(|fp| self.full_rows.contains(fp))
            .filter_map(|fp| self.known.get(fp))
            .collect()
    }

    /// One `incident.alerts_added` event per incident alerts joined.
    fn queue_incident_events(&self, q: &mut impl Queue, integration: &Integration) {
        for (incident, alerts) in &self.added {
            q.queue_event(
                "ticket",
                incident.to_string(),
                "incident.alerts_added",
                json!({"integration_id": integration.id, "alerts": alerts}),
            );
        }
    }

    /// The noise counters and the batch's `alerts.received` event.
    fn queue_summary(&self, q: &mut impl Queue, integration: &Integration, now: Timestamp) {
        queue_noise(q, now, integration, &self.noise, self.truncated);
        queue_received_event(
            q,
            integration,
            &self.result,
            &self.started,
            &self.ended,
            &self.muted,
            &self.opened,
        );
    }

    /// Tells the hint which alerts are now stored firing with which digest
    /// (once the write is durable).
    fn remember(&self, hint: &RepeatHint, integration: i64) {
        for fp in &self.changed {
            hint.remember_stored(integration, *fp);
            if let Some(st) = self.known.get(fp)
                && st.record.status != AlertStatus::Resolved
                && let Some(digest) = st.digest
            {
                hint.remember(integration, *fp, digest);
            }
        }
    }
}

/// An alert's row: the domain's record plus what the pipeline decided.
#[derive(Debug, Clone)]
struct Stored {
    record: AlertRecord,
    service: Option<ServiceId>,
    action: RouteAction,
    suppressed_by: Option<SuppressedBy>,
    flapping: bool,
    flap: FlapState,
    incident: Option<TicketId>,
    /// The `content_digest` column as stored (`None` for alerts stored
    /// before it existed).
    digest: Option<ContentDigest>,
}

impl Stored {
    /// This row holding `record` instead of its own (without copying the
    /// record it replaces).
    fn with_record(&self, record: AlertRecord) -> Stored {
        Stored {
            record,
            service: self.service,
            action: self.action,
            suppressed_by: self.suppressed_by.clone(),
            flapping: self.flapping,
            flap: self.flap.clone(),
            incident: self.incident,
            digest: self.digest,
        }
    }

    /// The digest this row should carry: that of its record and route, when
    /// it has a service (always, but for rows from before routing stored one).
    fn current_digest(&self) -> Option<ContentDigest> {
        self.service
            .map(|service| ContentDigest::of_record(&self.record, service, self.action))
    }
}

const STORED_COLUMNS: &str = "fingerprint, source, status, labels, annotations, summary, severity, dedup_key, url, \
    service_id, action, first_seen, last_seen, started_at, acknowledged_at, resolved_at, count, occurrences, \
    suppressed_by, flapping, flap, incident_id, content_digest";

/// Most values in one `IN (...)` list.
const IN_CHUNK: usize = 250;

fn placeholders(from: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 6);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('$');
        s.push_str(&(from + i).to_string());
    }
    s
}

/// The columns an upsert writes, in order, with the type each is read
/// back as from the bound JSON array.
const UPSERT_COLUMNS: [(&str, bulk::Column); 24] = {
    use bulk::Column::{Int, Text};
    [
        ("integration_id", Int),
        ("fingerprint", Text),
        ("source", Text),
        ("status", Text),
        ("labels", Text),
        ("annotations", Text),
        ("summary", Text),
        ("severity", Text),
        ("dedup_key", Text),
        ("url", Text),
        ("service_id", Int),
        ("action", Text),
        ("first_seen", Int),
        ("last_seen", Int),
        ("started_at", Int),
        ("acknowledged_at", Int),
        ("resolved_at", Int),
        ("count", Int),
        ("occurrences", Int),
        ("suppressed_by", Text),
        ("flapping", Int),
        ("flap", Text),
        ("incident_id", Int),
        ("content_digest", Int),
    ]
};

/// Columns an upsert leaves as stored: the alert's identity and when it
/// was first seen.
const KEPT_ON_UPDATE: [&str; 3] = ["integration_id", "fingerprint", "first_seen"];

/// SQLite's half of an upsert that updates the stored alerts among the
/// rows of the JSON array `$1` (SQLite has no unique index on the identity
/// to upsert against; see `keys`). [`sqlite_insert_new_sql`] follows with
/// the rest.
fn sqlite_update_stored_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let types: Vec<bulk::Column> = UPSERT_COLUMNS.iter().map(|(_, t)| *t).collect();
        let set: Vec<String> = UPSERT_COLUMNS
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| !KEPT_ON_UPDATE.contains(name))
            .map(|(i, (name, _))| format!("{name} = u.c{i}"))
            .collect();
        format!(
            "UPDATE alerts SET {} FROM (SELECT v.*, {} AS target FROM ({}) AS v) AS u \
             WHERE alerts.id = u.target",
            set.join(", "),
            keys::sqlite_alert_id("v.c0", "v.c1"),
            bulk::rows(Backend::Sqlite, "$1", &types),
        )
    })
}

/// SQLite's other half of an upsert: inserts the rows of `$1` not stored.
fn sqlite_insert_new_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "{} WHERE {}",
            bulk::insert_rows(Backend::Sqlite, "alerts", &UPSERT_COLUMNS, "$1"),
            keys::sqlite_no_alert_with("v.c0", "v.c1"),
        )
    })
}

/// The upsert of a whole batch: its rows arrive as one JSON array (see
/// `crate::bulk` for why not one `$n` per value). PostgreSQL only; SQLite
/// runs [`sqlite_update_stored_sql`] and [`sqlite_insert_new_sql`].
fn upsert_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        // `WHERE true`: SQLite needs it to tell the upsert's ON CONFLICT
        // from a join constraint after INSERT ... SELECT.
        format!(
            "{} WHERE true \
             ON CONFLICT (integration_id, fingerprint) DO UPDATE SET source = excluded.source, \
             status = excluded.status, labels = excluded.labels, annotations = excluded.annotations, \
             summary = excluded.summary, severity = excluded.severity, dedup_key = excluded.dedup_key, \
             url = excluded.url, service_id = excluded.service_id, action = excluded.action, \
             last_seen = excluded.last_seen, started_at = excluded.started_at, \
             acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at, \
             count = excluded.count, occurrences = excluded.occurrences, suppressed_by = excluded.suppressed_by, \
             flapping = excluded.flapping, flap = excluded.flap, incident_id = excluded.incident_id, \
             content_digest = excluded.content_digest",
            bulk::insert_rows(backend, "alerts", &UPSERT_COLUMNS, "$1"),
        )
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// One alert's row: its value for each of `UPSERT_COLUMNS`, in order.
fn row_values(integration: i64, s: &Stored) -> Result<[Bound; UPSERT_COLUMNS.len()], StoreError> {
    let r = &s.record;
    let int = |v: i64| Bound::Int(Some(v));
    let text = |v: &str| Bound::Text(Some(v.to_string()));
    Ok([
        int(integration),
        Bound::Text(Some(r.fingerprint.to_string())),
        text(r.source.as_str()),
        text(r.status.as_str()),
        Bound::Text(Some(to_json(&r.labels)?)),
        Bound::Text(Some(to_json(&r.annotations)?)),
        text(&r.summary),
        text(r.severity.as_str()),
        Bound::Text(r.dedup_key.clone()),
        Bound::Text(r.url.clone()),
        Bound::Int(s.service.map(|x| x.0)),
        text(s.action.as_str()),
        int(r.first_seen.as_microsecond()),
        int(r.last_seen.as_microsecond()),
        int(r.started_at.as_microsecond()),
        Bound::Int(r.acknowledged_at.map(|t| t.as_microsecond())),
        Bound::Int(r.resolved_at.map(|t| t.as_microsecond())),
        int(i64::try_from(r.count).unwrap_or(i64::MAX)),
        int(i64::from(r.occurrences)),
        Bound::Text(s.suppressed_by.as_ref().map(to_json).transpose()?),
        int(i64::from(s.flapping)),
        Bound::Text(Some(to_json(&s.flap)?)),
        Bound::Int(s.incident.map(|i| i.0)),
        Bound::Int(s.digest.map(|d| d.0)),
    ])
}

/// One row of the upsert, in `UPSERT_COLUMNS` order.
fn push_row(a: &mut bulk::RowsParam, integration: i64, s: &Stored) -> Result<(), StoreError> {
    for value in &row_values(integration, s)? {
        a.bound(value)?;
    }
    Ok(())
}

/// `rows` as the parameter [`upsert_sql`] and [`fresh_insert_sql`] bind.
fn upsert_rows_param(
    backend: Backend,
    integration: i64,
    rows: &[&Stored],
) -> Result<Bound, StoreError> {
    bulk::RowsParam::of(backend, rows, |a, s| push_row(a, integration, s))
}

/// Queues one upsert of all `rows`.
fn queue_upserts(
    tx: &mut WriteTx,
    backend: Backend,
    integration: i64,
    rows: &[&Stored],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = upsert_rows_param(backend, integration, rows)?;
    match backend {
        Backend::Sqlite => {
            // Stored alerts first, so the insert's rows are only the new.
            tx.defer(sqlite_update_stored_sql(), vec![rows.clone()]);
            tx.defer(sqlite_insert_new_sql(), vec![rows]);
        }
        Backend::Postgres => tx.defer(upsert_sql(backend), vec![rows]),
    }
    Ok(())
}

/// `UPDATE ... count = count + $1, last_seen = $2 ... fingerprint IN (2^k
/// placeholders)`, `k` < 7, built once each per backend.
fn repeat_sql(backend: Backend, k: usize) -> &'static str {
    static CACHE: [[OnceLock<String>; 7]; 2] = [
        [const { OnceLock::new() }; 7],
        [const { OnceLock::new() }; 7],
    ];
    let slot = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 1,
    };
    CACHE[slot][k].get_or_init(|| {
        let fingerprints = placeholders(4, 1 << k);
        let which = match backend {
            Backend::Sqlite => keys::sqlite_alert_with_fingerprint_in("$3", &fingerprints),
            Backend::Postgres => format!("integration_id = $3 AND fingerprint IN ({fingerprints})"),
        };
        format!("UPDATE alerts SET count = count + $1, last_seen = $2 WHERE {which}")
    })
}

/// Queues the plain repeats: per number of repeats in the batch (almost
/// always one), `UPDATE`s of up to 64 fingerprints.
fn queue_repeats(
    tx: &mut WriteTx,
    backend: Backend,
    integration: i64,
    repeats: &HashMap<Fingerprint, u64>,
) {
    let mut by_times: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (fp, times) in repeats {
        by_times.entry(*times).or_default().push(fp.to_string());
    }
    let last_seen = tx.now_micros();
    for (times, fps) in by_times {
        let mut rest = fps.as_slice();
        while !rest.is_empty() {
            let k = ((usize::BITS - 1 - rest.len().leading_zeros()) as usize).min(6);
            let (chunk, tail) = rest.split_at(1 << k);
            let mut params = vec![
                Bound::Int(Some(i64::try_from(times).unwrap_or(i64::MAX))),
                Bound::Int(Some(last_seen)),
                Bound::Int(Some(integration)),
            ];
            params.extend(chunk.iter().map(|fp| Bound::Text(Some(fp.clone()))));
            tx.defer(repeat_sql(backend, k), params);
            rest = tail;
        }
    }
}

/// One stored record as the element of the JSON array [`stored_json_sql`]
/// returns, in `STORED_COLUMNS` order.
#[derive(serde::Deserialize)]
struct StoredJson(
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<String>,
    i64,
    String,
    Option<i64>,
    Option<i64>,
);

impl StoredJson {
    fn into_stored(self) -> Result<Stored, StoreError> {
        let json = |c: &str, t: &str| -> Result<Labels, StoreError> {
            serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("{c}: {e}")))
        };
        Ok(Stored {
            record: AlertRecord {
                fingerprint: parse("fingerprint", &self.0)?,
                source: parse("source", &self.1)?,
                status: parse("status", &self.2)?,
                labels: opsdesk_domain::alerts::SharedLabels::new(json("labels", &self.3)?),
                annotations: opsdesk_domain::alerts::SharedLabels::new(json(
                    "annotations",
                    &self.4,
                )?),
                summary: self.5,
                severity: parse("severity", &self.6)?,
                dedup_key: self.7,
                url: self.8,
                first_seen: ts(self.11)?,
                last_seen: ts(self.12)?,
                started_at: ts(self.13)?,
                acknowledged_at: opt_ts(self.14)?,
                resolved_at: opt_ts(self.15)?,
                count: u64::try_from(self.16).unwrap_or(0),
                occurrences: u32::try_from(self.17).unwrap_or(1),
            },
            service: self.9.map(ServiceId),
            action: parse("action", &self.10)?,
            suppressed_by: self
                .18
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("suppressed_by: {e}")))?,
            flapping: self.19 != 0,
            flap: serde_json::from_str(&self.20)
                .map_err(|e| StoreError::Corrupt(format!("flap: {e}")))?,
            incident: self.21.map(TicketId),
            digest: self.22.map(ContentDigest),
        })
    }
}

/// One open group as the element of the JSON array [`batch_state_sql`]
/// returns: incident id, group key, opened at, auto-resolve.
#[derive(serde::Deserialize)]
struct GroupJson(i64, String, i64, i64);

/// What a batch needs from the database, as ONE row of two JSON values:
/// `records`, the stored records of integration `$1` whose fingerprints
/// are in the JSON array `$2` (each a `StoredJson` array), and `groups`,
/// the open incidents of the groups whose key digests are in the JSON
/// array `$3` (each a `GroupJson` array). On SQLite every result row is a
/// message from the connection's thread that wakes the reader; two values
/// for the whole batch are one message.
fn batch_state_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        // Aggregate, array, and what wraps the aggregate's subquery
        // (PostgreSQL's json_agg of no rows is NULL, not `[]`).
        let (agg, array, pre, post) = match backend {
            Backend::Sqlite => ("json_group_array", "json_array", "", ""),
            Backend::Postgres => ("json_agg", "json_build_array", "COALESCE(", "::text, '[]')"),
        };
        format!(
            "SELECT {pre}(SELECT {agg}({array}({STORED_COLUMNS})) FROM {alerts}){post} AS records, \
             {pre}(SELECT {agg}({array}(g.incident_id, g.group_key, g.opened_at, g.auto_resolve)) \
             FROM alert_groups g JOIN tickets t ON t.id = g.incident_id \
             WHERE t.is_open = 1 AND {digests}){post} AS groups",
            alerts = match backend {
                Backend::Sqlite => format!(
                    "({}) AS k JOIN alerts ON alerts.id = k.target",
                    keys::sqlite_alert_ids("$1", &bulk::texts(backend, "$2"))
                ),
                Backend::Postgres => format!(
                    "alerts WHERE integration_id = $1 AND {}",
                    bulk::in_texts(backend, "fingerprint", "$2")
                ),
            },
            digests = bulk::in_texts(backend, "g.key_digest", "$3"),
        )
    })
}

/// The parameters of [`batch_state_sql`]: the integration, the batch's
/// distinct fingerprints and the digests of its group keys.
fn batch_state_params(
    integration: i64,
    fingerprints: &[Fingerprint],
    digests: &[String],
) -> Result<Vec<Bound>, StoreError> {
    let fingerprints: Vec<String> = fingerprints.iter().map(Fingerprint::to_string).collect();
    Ok(vec![
        Bound::Int(Some(integration)),
        Bound::Text(Some(to_json(&fingerprints)?)),
        Bound::Text(Some(to_json(&digests)?)),
    ])
}

/// What [`batch_state_sql`] returned: the stored records by fingerprint,
/// and the open incidents of the batch's groups (with each one's
/// auto-resolve setting).
type BatchState = (
    HashMap<Fingerprint, Stored>,
    (Vec<OpenGroup>, HashMap<TicketId, bool>),
);

fn parse_batch_state(row: &AnyRow) -> Result<BatchState, StoreError> {
    let records: String = row.try_get("records")?;
    let records: Vec<StoredJson> = serde_json::from_str(&records)
        .map_err(|e| StoreError::Corrupt(format!("alert records: {e}")))?;
    let mut known = HashMap::with_capacity(records.len());
    for r in records {
        let s = r.into_stored()?;
        known.insert(s.record.fingerprint, s);
    }
    let found: String = row.try_get("groups")?;
    let found: Vec<GroupJson> = serde_json::from_str(&found)
        .map_err(|e| StoreError::Corrupt(format!("alert groups: {e}")))?;
    let mut groups = Vec::with_capacity(found.len());
    let mut auto = HashMap::with_capacity(found.len());
    for GroupJson(incident, key, opened_at, auto_resolve) in found {
        let incident = TicketId(incident);
        auto.insert(incident, auto_resolve != 0);
        groups.push(OpenGroup {
            key: GroupKey(key),
            incident,
            opened_at: ts(opened_at)?,
            resolved: false,
        });
    }
    Ok((known, (groups, auto)))
}

/// A one-line incident title from an alert: control characters become
/// spaces, at most the title limit, never empty.
fn incident_title(summary: &str, key: &GroupKey) -> String {
    let clean: String = summary
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    let base = if clean.is_empty() {
        key.0.as_str()
    } else {
        clean
    };
    let mut title: String = base
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(TITLE_MAX_CHARS)
        .collect();
    if title.trim().is_empty() {
        title = "Alert".to_string();
    }
    title
}

fn incident_description(integration: &Integration, signal: &AlertSignal, key: &GroupKey) -> String {
    let mut d = format!(
        "Opened by alert intake (integration \"{}\").\n\nFirst alert: {}\nLabels: {}\nGroup: {}\n",
        integration.name,
        signal.summary,
        labels_text(&signal.labels),
        key
    );
    if let Some(url) = &signal.url {
        d.push_str(&format!("Source: {url}\n"));
    }
    for (name, value) in signal.annotations.iter() {
        d.push_str(&format!("\n{name}: {value}"));
    }
    if d.len() > BODY_MAX_BYTES {
        let mut cut = BODY_MAX_BYTES;
        while !d.is_char_boundary(cut) {
            cut -= 1;
        }
        d.truncate(cut);
    }
    d.replace('\0', " ")
}

fn labels_text(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Adds this batch's noise counters to each service's row of the day
/// (`truncated` goes to the integration's own service).
fn queue_noise(
    q: &mut impl Queue,
    now: Timestamp,
    integration: &Integration,
    noise: &BTreeMap<ServiceId, NoiseMetrics>,
    truncated: u64,
) {
    let day = utc_day(now);
    let none = NoiseMetrics::default();
    let own_row_missing = truncated > 0 && !noise.contains_key(&integration.service_id);
    let rows = noise
        .iter()
        .chain(own_row_missing.then_some((&integration.service_id, &none)));
    for (service, m) in rows {
        let truncated = if *service == integration.service_id {
            i64::try_from(truncated).unwrap_or(i64::MAX)
        } else {
            0
        };
        let n = |v: u64| Bound::Int(Some(i64::try_from(v).unwrap_or(i64::MAX)));
        q.queue(
            "INSERT INTO alert_noise (service_id, day, received, deduplicated, ignored, suppressed, flapping, \
             recorded_only, grouped, incidents_created, state_changed, truncated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (service_id, day) DO UPDATE SET received = alert_noise.received + excluded.received, \
             deduplicated = alert_noise.deduplicated + excluded.deduplicated, \
             ignored = alert_noise.ignored + excluded.ignored, suppressed = alert_noise.suppressed + excluded.suppressed, \
             flapping = alert_noise.flapping + excluded.flapping, \
             recorded_only = alert_noise.recorded_only + excluded.recorded_only, \
             grouped = alert_noise.grouped + excluded.grouped, \
             incidents_created = alert_noise.incidents_created + excluded.incidents_created, \
             state_changed = alert_noise.state_changed + excluded.state_changed, \
             truncated = alert_noise.truncated + excluded.truncated",
            vec![
                Bound::Int(Some(service.0)),
                Bound::Int(Some(day)),
                n(m.received),
                n(m.deduplicated),
                n(m.ignored),
                n(m.suppressed),
                n(m.flapping),
                n(m.recorded_only),
                n(m.grouped),
                n(m.incidents_created),
                n(m.state_changed),
                Bound::Int(Some(truncated)),
            ],
        );
    }
}

/// The batch's one `alerts.received` event: its counts, and the alerts
/// that started firing, resolved or were suppressed.
fn queue_received_event(
    q: &mut impl Queue,
    integration: &Integration,
    result: &IntakeResult,
    started: &[String],
    ended: &[String],
    muted: &[String],
    opened: &[(TicketId, String)],
) {
    q.queue_event(
        "alert_integration",
        integration.id.to_string(),
        "alerts.received",
        json!({
            "received": result.received, "new": result.new, "deduplicated": result.deduplicated,
            "acknowledged": result.acknowledged, "resolved": result.resolved, "reopened": result.reopened,
            "ignored": result.ignored, "suppressed": result.suppressed, "flapping": result.flapping,
            "grouped": result.grouped, "truncated_alerts": result.truncated_alerts,
            "started_firing": started, "resolved_alerts": ended, "suppressed_alerts": muted,
            "incidents_opened": opened.iter().map(|(id, n)| json!({"id": id, "number": n})).collect::<Vec<_>>(),
            "incidents_resolved": result.incidents_resolved,
        }),
    );
}

/// Each signal's route through the integration's rules and its
/// fingerprint: the first step of intake, before anything is read.
fn route_and_fingerprint(
    integration: &Integration,
    signals: &[AlertSignal],
) -> (Vec<RoutingDecision>, Vec<Fingerprint>) {
    let fallback = integration.fallback();
    let decisions = signals
        .iter()
        .map(|s| route(&integration.routes, &fallback, s))
        .collect();
    let fingerprints = signals.iter().map(|s| s.fingerprint()).collect();
    (decisions, fingerprints)
}

/// The system actor automatic transitions are made by.
const SYSTEM: Actor = Actor {
    user_id: UserId(0),
    role: Role::Admin,
};

impl Store {
    /// Runs a batch of signals from `integration` through the pipeline and
    /// stores the outcome in one write. Returns once the write is durable.
    ///
    /// Three ways, cheapest first, each falling back to the next: plain
    /// repeats (one conditional update, no read); a batch of alerts all new
    /// to us that open no incident (read and decided before the writer
    /// lock, written by one insert that checks what was read still holds);
    /// and the pipeline run under the lock.
    pub async fn ingest_alerts(
        &self,
        integration: &Integration,
        batch: IntakeBatch,
        now: Timestamp,
    ) -> Result<IntakeResult, StoreError> {
        // Stored times have microsecond precision (as `WriteTx::now`).
        let now = Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now);
        let signals = batch.signals;
        let (decisions, fingerprints) = route_and_fingerprint(integration, &signals);
        if let Some(result) = self
            .try_plain_repeats(
                integration,
                &signals,
                &fingerprints,
                &decisions,
                batch.truncated,
                now,
            )
            .await?
        {
            return Ok(result);
        }

        // What suppresses, read before the write lock (configuration; a
        // change racing a batch applies from the next batch on).
        let silences = self.active_silences(now).await?;
        let windows = self.all_maintenance_windows().await?;
        let rules: Vec<InhibitRule> = self
            .list_inhibition_rules()
            .await?
            .into_iter()
            .map(|r| InhibitRule {
                source: r.source,
                target: r.target,
                equal: r.equal,
            })
            .collect();
        let owners = self.owner_teams(&decisions).await?;

        // Pure work, done before the write lock so that the lock is held
        // for the database and the pipeline only: the distinct
        // fingerprints, and the group key of every firing alert that could
        // page (those that turn out to start firing look their group up).
        let mut distinct: Vec<Fingerprint> = Vec::with_capacity(fingerprints.len());
        let mut seen = HashSet::with_capacity(fingerprints.len());
        for fp in &fingerprints {
            if seen.insert(*fp) {
                distinct.push(*fp);
            }
        }
        let mut keys: Vec<Option<GroupKey>> = vec![None; signals.len()];
        let mut digests = Vec::new();
        let mut seen_digests = HashSet::new();
        for (i, s) in signals.iter().enumerate() {
            if s.status == AlertStatus::Firing && decisions[i].action != RouteAction::RecordOnly {
                let key = group_key(decisions[i].service, &decisions[i].group_by, &s.labels);
                let digest = key.digest().to_string();
                if seen_digests.insert(digest.clone()) {
                    digests.push(digest);
                }
                keys[i] = Some(key);
            }
        }
        let prepared = Prepared {
            integration,
            signals: &signals,
            fingerprints: &fingerprints,
            decisions: &decisions,
            keys,
            owners,
            truncated: batch.truncated,
        };

        // Alerts all new to us: decided before the lock when no inhibition
        // rule needs the firing alerts (a read under the lock).
        let all_firing_once = distinct.len() == signals.len()
            && signals.iter().all(|s| s.status == AlertStatus::Firing);
        if all_firing_once && rules.is_empty() {
            let suppressor = Suppressor::new(&silences, &windows, &rules, &[], now);
            // Only the alerts this node may have stored are looked up; the
            // checked insert refuses the batch if any other one is stored.
            let maybe_stored: Vec<Fingerprint> = fingerprints
                .iter()
                .copied()
                .filter(|fp| self.repeat_hint.may_exist(integration.id, *fp))
                .collect();
            let fresh_params = batch_state_params(integration.id, &maybe_stored, &digests)?;
            if let Some(result) = self
                .try_fresh_alerts(&prepared, &suppressor, fresh_params, &digests, now)
                .await?
            {
                return Ok(result);
            }
        }

        let state_params = batch_state_params(integration.id, &distinct, &digests)?;
        let mut tx = self.write(None, now).await?;
        // The stored records of the batch's alerts and the open incidents
        // of the groups they could join, in one query.
        let row = tx
            .fetch_one_now(batch_state_sql(self.backend()), state_params)
            .await?;
        let (known, (groups, auto_resolve)) = parse_batch_state(&row)?;

        // Firing alerts, for inhibition: those stored, and this batch's.
        let firing_stored: Vec<(Fingerprint, Labels, Option<ServiceId>)> = if rules.is_empty() {
            Vec::new()
        } else {
            let rows = sqlx::query(
                "SELECT fingerprint, labels, service_id FROM alerts WHERE status <> 'resolved'",
            )
            .fetch_all(tx.conn().await?)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let fp: String = row.try_get("fingerprint")?;
                let labels: String = row.try_get("labels")?;
                out.push((
                    parse("fingerprint", &fp)?,
                    serde_json::from_str(&labels)
                        .map_err(|e| StoreError::Corrupt(format!("labels: {e}")))?,
                    row.try_get::<Option<i64>, _>("service_id")?.map(ServiceId),
                ));
            }
            out
        };
        let mut views: Vec<AlertView<'_>> = firing_stored
            .iter()
            .map(|(fp, labels, service)| AlertView {
                fingerprint: *fp,
                labels,
                service: *service,
            })
            .collect();
        if !rules.is_empty() {
            for (i, s) in signals.iter().enumerate() {
                if s.status == AlertStatus::Firing {
                    views.push(AlertView {
                        fingerprint: fingerprints[i],
                        labels: &s.labels,
                        service: Some(decisions[i].service),
                    });
                }
            }
        }
        let suppressor = Suppressor::new(&silences, &windows, &rules, &views, now);
        let Some(mut plan) = self
            .plan(
                Some(&mut tx),
                &prepared,
                &suppressor,
                known,
                groups,
                auto_resolve,
                now,
            )
            .await?
        else {
            return Err(StoreError::Corrupt(
                "the alert pipeline asked for the lock it holds".into(),
            ));
        };

        plan.set_digests();
        queue_upserts(
            &mut tx,
            self.backend(),
            integration.id,
            &plan.full_row_records(),
        )?;
        queue_repeats(&mut tx, self.backend(), integration.id, &plan.plain_repeats);
        plan.queue_incident_events(&mut tx, integration);

        // Auto-resolve: incidents an alert of this batch resolved, whose
        // alerts are now all resolved.
        let mut resolved_numbers = Vec::new();
        if !plan.check_resolve.is_empty() {
            let candidates = self
                .auto_resolve_candidates(&mut tx, &plan.check_resolve, &mut plan.auto_resolve)
                .await?;
            for (incident, statuses) in candidates {
                let enabled = plan.auto_resolve.get(&incident).copied().unwrap_or(false);
                let count = statuses.len();
                if !should_auto_resolve(enabled, statuses) {
                    continue;
                }
                let ticket = load_ticket(&mut tx, incident).await?;
                if !ticket.state.is_open() {
                    continue;
                }
                let step = Transition::Resolve {
                    resolution_code: "auto_resolved".into(),
                    resolution_note: format!(
                        "All {count} alerts of this incident resolved; resolved automatically."
                    ),
                };
                match apply_transition(
                    &mut tx,
                    &ticket,
                    &step,
                    opsdesk_domain::transition::ReopenPolicy::default(),
                    SYSTEM,
                    json!({"automatic": true, "reason": "all alerts resolved"}),
                )
                .await
                {
                    Ok(()) => resolved_numbers.push(ticket.number.clone()),
                    // A state the incident cannot resolve from: leave it to people.
                    Err(StoreError::Transition(e)) => {
                        tracing::info!(incident = %ticket.number, error = %e, "alerts resolved but the incident cannot auto-resolve");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        plan.result.incidents_resolved = resolved_numbers;
        plan.queue_summary(&mut tx, integration, now);
        tx.commit().await?;
        plan.remember(&self.repeat_hint, integration.id);
        self.alert_keys_written(plan.result.new as u64);
        Ok(plan.result)
    }

    /// Runs every signal through the pipeline against the stored state
    /// read for it. With the write (`tx`), a signal that starts a new group
    /// opens its incident there; without, such a batch is not decided here
    /// (`None`).
    #[allow(clippy::too_many_arguments)]
    async fn plan(
        &self,
        mut tx: Option<&mut WriteTx>,
        prepared: &Prepared<'_>,
        suppressor: &Suppressor<'_>,
        mut known: HashMap<Fingerprint, Stored>,
        mut groups: Vec<OpenGroup>,
        mut auto_resolve: HashMap<TicketId, bool>,
        now: Timestamp,
    ) -> Result<Option<Plan>, StoreError> {
        let integration = prepared.integration;
        let mut result = IntakeResult {
            received: prepared.signals.len(),
            truncated_alerts: prepared.truncated,
            ..Default::default()
        };
        let mut noise: BTreeMap<ServiceId, NoiseMetrics> = BTreeMap::new();
        let mut changed: Vec<Fingerprint> = Vec::new();
        let mut changed_set = HashSet::new();
        // Alerts whose every change in this batch was a plain repeat (only
        // `count` and `last_seen` moved), with how many: written as one
        // narrow UPDATE instead of full rows.
        let mut plain_repeats: HashMap<Fingerprint, u64> = HashMap::new();
        let mut full_rows: HashSet<Fingerprint> = HashSet::new();
        // Per incident, the alerts that joined it in this batch.
        let mut added: BTreeMap<TicketId, Vec<serde_json::Value>> = BTreeMap::new();
        let mut opened: Vec<(TicketId, String)> = Vec::new();
        let mut check_resolve: Vec<TicketId> = Vec::new();
        let mut started = Vec::new();
        let mut ended = Vec::new();
        let mut muted = Vec::new();

        for (i, signal) in prepared.signals.iter().enumerate() {
            let fp = prepared.fingerprints[i];
            let d = &prepared.decisions[i];
            let previous = known.get(&fp);
            let update = apply_signal(previous.map(|p| &p.record), signal, now);
            let kind = update.kind();
            let Some(record) = update.into_record() else {
                result.ignored += 1;
                noise
                    .entry(d.service)
                    .or_default()
                    .record(PipelineOutcome::Ignored);
                continue;
            };
            let plain = kind == UpdateKind::Repeat
                && previous.is_some_and(|p| {
                    let mut expect = p.record.clone();
                    expect.count = expect.count.saturating_add(1);
                    expect.last_seen = now;
                    expect == record
                        && (signal.status != AlertStatus::Firing
                            || (p.service == Some(d.service) && p.action == d.action))
                        // A row without its digest is rewritten whole, once.
                        && p.digest.is_some()
                        && p.digest == p.current_digest()
                });
            if plain && !full_rows.contains(&fp) {
                *plain_repeats.entry(fp).or_default() += 1;
            } else {
                full_rows.insert(fp);
                plain_repeats.remove(&fp);
            }
            let mut st = match previous {
                Some(p) => p.with_record(record),
                None => Stored {
                    record,
                    service: Some(d.service),
                    action: d.action,
                    suppressed_by: None,
                    flapping: false,
                    flap: FlapState::default(),
                    incident: None,
                    digest: None,
                },
            };
            if signal.status == AlertStatus::Firing {
                st.service = Some(d.service);
                st.action = d.action;
            }
            let transition = match kind {
                UpdateKind::New | UpdateKind::Reopened => Some(AlertStatus::Firing),
                UpdateKind::Resolved => Some(AlertStatus::Resolved),
                _ => None,
            };
            let mut may_page = true;
            if let Some(to) = transition {
                let o = st.flap.record_transition(&integration.flap, to, now);
                st.flapping = o.flapping;
                may_page = o.page;
            }
            let mut joined = false;
            match kind {
                UpdateKind::New | UpdateKind::Reopened => {
                    if kind == UpdateKind::New {
                        result.new += 1;
                    } else {
                        result.reopened += 1;
                    }
                    started.push(fp.to_string());
                    st.suppressed_by = suppressor.check(&AlertView {
                        fingerprint: fp,
                        labels: &st.record.labels,
                        service: Some(d.service),
                    });
                    if st.suppressed_by.is_some() {
                        result.suppressed += 1;
                        muted.push(fp.to_string());
                    } else if !may_page {
                        result.flapping += 1;
                    } else if d.action != RouteAction::RecordOnly {
                        let key = match &prepared.keys[i] {
                            Some(k) => k.clone(),
                            None => group_key(d.service, &d.group_by, &signal.labels),
                        };
                        let incident = match decide_group(&key, d.group_window, &groups, now) {
                            GroupDecision::Join(incident) => {
                                joined = true;
                                result.grouped += 1;
                                incident
                            }
                            GroupDecision::OpenNew => {
                                // Opening an incident takes the lock.
                                let Some(tx) = tx.as_deref_mut() else {
                                    return Ok(None);
                                };
                                let (id, number) = self
                                    .open_incident(
                                        tx,
                                        integration,
                                        signal,
                                        d,
                                        &key,
                                        prepared.owners.get(&d.service).copied().flatten(),
                                    )
                                    .await?;
                                groups.push(OpenGroup {
                                    key: key.clone(),
                                    incident: id,
                                    opened_at: now,
                                    resolved: false,
                                });
                                auto_resolve.insert(id, d.auto_resolve);
                                opened.push((id, number.clone()));
                                result.incidents_opened.push(number);
                                id
                            }
                        };
                        st.incident = Some(incident);
                        added.entry(incident).or_default().push(json!({
                            "fingerprint": fp.to_string(),
                            "summary": st.record.summary,
                            "severity": st.record.severity,
                        }));
                    }
                }
                UpdateKind::Resolved => {
                    result.resolved += 1;
                    ended.push(fp.to_string());
                    if let Some(incident) = st.incident
                        && !check_resolve.contains(&incident)
                    {
                        check_resolve.push(incident);
                    }
                }
                UpdateKind::Acknowledged => result.acknowledged += 1,
                UpdateKind::Repeat => result.deduplicated += 1,
                UpdateKind::Ignored => {}
            }
            let outcome = outcome_of(
                kind,
                st.suppressed_by.is_some() && kind.starts_firing(),
                may_page,
                d.action,
                joined,
            );
            noise.entry(d.service).or_default().record(outcome);
            if changed_set.insert(fp) {
                changed.push(fp);
            }
            known.insert(fp, st);
        }

        Ok(Some(Plan {
            result,
            noise,
            known,
            changed,
            plain_repeats,
            full_rows,
            added,
            opened,
            check_resolve,
            started,
            ended,
            muted,
            auto_resolve,
            truncated: prepared.truncated,
        }))
    }

    /// Owner teams of the services alerts were routed to.
    async fn owner_teams(
        &self,
        decisions: &[RoutingDecision],
    ) -> Result<HashMap<ServiceId, Option<TeamId>>, StoreError> {
        let mut services: Vec<ServiceId> = decisions
            .iter()
            .filter(|d| d.action != RouteAction::RecordOnly)
            .map(|d| d.service)
            .collect();
        services.sort_unstable();
        services.dedup();
        let mut out = HashMap::new();
        for chunk in services.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, owner_team_id FROM services WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = crate::rows::dynamic_query(&sql);
            for s in chunk {
                q = q.bind(s.0);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.insert(
                    ServiceId(row.try_get("id")?),
                    row.try_get::<Option<i64>, _>("owner_team_id")?.map(TeamId),
                );
            }
        }
        Ok(out)
    }

    /// Opens the incident of a new alert group, through the one ticket
    /// creation path (number, assignment, events), in this write.
    async fn open_incident(
        &self,
        tx: &mut WriteTx,
        integration: &Integration,
        signal: &AlertSignal,
        d: &RoutingDecision,
        key: &GroupKey,
        team: Option<TeamId>,
    ) -> Result<(TicketId, String), StoreError> {
        let new = NewTicket {
            kind: TicketKind::Incident,
            title: incident_title(&signal.summary, key),
            description: incident_description(integration, signal, key),
            requester_id: integration.created_by,
            team_id: None,
            assignee_id: None,
            service_id: Some(d.service),
            category: Some("alert".into()),
            tags: vec!["alert".into()],
            impact: d.impact,
            urgency: d.urgency,
            priority_override: None,
        };
        let ticket = insert_ticket(tx, &new, team).await?;
        tx.defer(
            "INSERT INTO alert_groups (incident_id, integration_id, service_id, group_key, key_digest, opened_at, auto_resolve) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Bound::Int(Some(ticket.id.0)),
                Bound::Int(Some(integration.id)),
                Bound::Int(Some(d.service.0)),
                Bound::Text(Some(key.0.clone())),
                Bound::Text(Some(key.digest().to_string())),
                Bound::Int(Some(tx.now_micros())),
                Bound::Int(Some(i64::from(d.auto_resolve))),
            ],
        );
        tx.event(
            "ticket",
            ticket.id,
            "incident.alert_group_opened",
            json!({"integration_id": integration.id, "group_key": key, "action": d.action,
                   "auto_resolve": d.auto_resolve, "route": d.route}),
        )
        .await?;
        Ok((ticket.id, ticket.number))
    }

    /// The statuses of every alert of these incidents (after this batch's
    /// changes), with each incident's auto-resolve setting filled in.
    async fn auto_resolve_candidates(
        &self,
        tx: &mut WriteTx,
        incidents: &[TicketId],
        auto_resolve: &mut HashMap<TicketId, bool>,
    ) -> Result<BTreeMap<TicketId, Vec<AlertStatus>>, StoreError> {
        let mut out: BTreeMap<TicketId, Vec<AlertStatus>> = BTreeMap::new();
        for chunk in incidents.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT a.incident_id, a.status, g.auto_resolve FROM alerts a JOIN alert_groups g ON g.incident_id = a.incident_id \
                 WHERE a.incident_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = crate::rows::dynamic_query(&sql);
            for i in chunk {
                q = q.bind(i.0);
            }
            for row in q.fetch_all(tx.conn().await?).await? {
                let incident = TicketId(row.try_get("incident_id")?);
                let status: String = row.try_get("status")?;
                auto_resolve.insert(incident, row.try_get::<i64, _>("auto_resolve")? != 0);
                out.entry(incident)
                    .or_default()
                    .push(parse("status", &status)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_upsert_binds_one_json_array() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let sql = upsert_sql(backend);
            assert!(sql.contains("$1"), "{sql}");
            assert!(!sql.contains("$2"), "{sql}");
            assert!(sql.contains("c22"), "{sql}");
        }
    }

    #[test]
    fn titles_are_one_clean_line() {
        let key = GroupKey("service=1 {}".into());
        assert_eq!(incident_title("Disk\nfull", &key), "Disk full");
        assert_eq!(incident_title("  ", &key), "service=1 {}");
        assert_eq!(incident_title(&"x".repeat(500), &key).chars().count(), 200);
    }
}
