//! The two shortcuts of alert intake (see `Store::ingest_alerts` and
//! docs/alerts.md, "Runtime"): plain repeats written by one conditional
//! update without a read, and batches of new alerts decided before the
//! writer lock and written by one checked insert. Each writes nothing when
//! its assumption does not hold, and the batch goes on to the pipeline.

use super::{
    Plan, Prepared, Stored, UPSERT_COLUMNS, batch_state_sql, parse_batch_state, queue_noise,
    queue_received_event, rows_json, to_json, upsert_rows_json,
};
use crate::alerts::{IntakeResult, Integration, keys};
use crate::tx::{Bound, CheckedWrite, Recorded, bind_all};
use crate::{Backend, Store, StoreError, bulk};
use jiff::Timestamp;
use opsdesk_domain::ServiceId;
use opsdesk_domain::alerts::{
    AlertSignal, AlertStatus, ContentDigest, Fingerprint, NoiseMetrics, OpenGroup, PipelineOutcome,
    RoutingDecision, Suppressor,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// Intake batches written by a shortcut instead of the pipeline under the
/// writer lock (see [`Store::ingest_alerts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeShortcuts {
    /// Plain repeats: one conditional update, no read.
    pub plain_repeats: u64,
    /// Alerts all new, decided before the lock: one checked insert.
    pub fresh_alerts: u64,
}

#[derive(Default)]
pub(crate) struct ShortcutCounters {
    plain_repeats: AtomicU64,
    fresh_alerts: AtomicU64,
}

/// A batch of new alerts decided before the lock, with what its insert
/// checks: the rows, and the open incidents of its groups as read.
struct FreshAlerts {
    plan: Plan,
    /// [`fresh_insert_sql`] or [`fresh_shared_insert_sql`], and its
    /// parameters.
    sql: &'static str,
    params: Vec<Bound>,
    rows: u64,
}

/// The write of a batch of plain repeats, without reading the alerts:
/// `$1` a JSON array of `[fingerprint, content digest]` (each alert once),
/// `$2` the new last seen, `$3` the integration. Only a row that still is
/// the alert the digest describes, and is not resolved, moves; the caller
/// compares the count of rows changed with the number it sent. Each
/// dialect in the form its planner turns into one index probe per alert
/// (SQLite would scan the integration's alerts for the join; PostgreSQL
/// could hash the row-value `IN`).
fn plain_repeats_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        use bulk::Column::{Int, Text};
        let rows = bulk::rows(backend, "$1", &[Text, Int]);
        match backend {
            // Row by row: each alert found by its key, then compared.
            Backend::Sqlite => format!(
                "UPDATE alerts SET count = count + 1, last_seen = $2 \
                 FROM (SELECT r.c1 AS digest, {} AS target FROM ({rows}) AS r) AS u \
                 WHERE alerts.id = u.target AND alerts.content_digest = u.digest \
                 AND alerts.status <> 'resolved'",
                keys::sqlite_alert_id("$3", "r.c0"),
            ),
            // The fingerprints as an array first: with a join alone, a
            // planner whose statistics lag the table (a fresh or fast
            // growing one) hashes the rows and scans every alert of the
            // integration.
            Backend::Postgres => format!(
                "UPDATE alerts SET count = alerts.count + 1, last_seen = $2 \
                 WHERE alerts.integration_id = $3 \
                 AND alerts.fingerprint = ANY(ARRAY(SELECT c0 FROM ({rows}) AS f)) \
                 AND (alerts.fingerprint, alerts.content_digest) IN (SELECT c0, c1 FROM ({rows}) AS v) \
                 AND alerts.status <> 'resolved'"
            ),
        }
    })
}

/// The open incidents of a batch's groups as [`fresh_insert_sql`] lists
/// them: ids in ascending order, comma-separated.
fn open_group_list(groups: &[OpenGroup]) -> String {
    let mut ids: Vec<i64> = groups.iter().map(|g| g.incident.0).collect();
    ids.sort_unstable();
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The insert of a batch of alerts decided before the writer lock: `$1`
/// the rows (as for [`upsert_sql`]), `$2` the open incidents of the
/// batch's groups as read ([`open_group_list`]), `$3` the digests of those
/// groups' keys. Rows go in only while the open incidents are still those
/// (else a new alert could join a closed incident, or miss one opened
/// since); an alert stored since the read is left alone. The caller
/// compares the count of rows inserted with the number it sent.
fn fresh_insert_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        format!(
            "{} {}",
            bulk::insert_rows(backend, "alerts", &UPSERT_COLUMNS, "$1"),
            fresh_insert_guard(backend, "v.c0", "v.c1"),
        )
    })
}

/// The columns in which the alerts of a batch of new firing alerts
/// usually differ, in the order [`fresh_shared_insert_sql`] binds them as
/// JSON rows (their types are those of `UPSERT_COLUMNS`; with
/// [`FRESH_SHARED_COLUMNS`] they are exactly its columns, as a test holds).
const FRESH_OWN_COLUMNS: [&str; 13] = [
    "fingerprint",
    "labels",
    "annotations",
    "summary",
    "severity",
    "dedup_key",
    "url",
    "service_id",
    "action",
    "started_at",
    "suppressed_by",
    "incident_id",
    "content_digest",
];

/// The columns all new firing alerts of one batch usually share, bound
/// once as `$4` on (see [`SharedColumns`]).
const FRESH_SHARED_COLUMNS: [&str; 11] = [
    "integration_id",
    "source",
    "status",
    "first_seen",
    "last_seen",
    "acknowledged_at",
    "resolved_at",
    "count",
    "occurrences",
    "flapping",
    "flap",
];

/// [`fresh_insert_sql`] for a batch whose alerts share the values of
/// [`FRESH_SHARED_COLUMNS`]: `$1` holds only [`FRESH_OWN_COLUMNS`] per
/// alert, and the shared values are bound once. Each column read out of
/// the JSON rows is a function call that walks the row to its place, and
/// those reads were about a quarter of the writer's time; this form reads
/// 13 instead of 24, and the nearest ones.
fn fresh_shared_insert_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        let types: Vec<bulk::Column> = FRESH_OWN_COLUMNS
            .iter()
            .map(|own| {
                UPSERT_COLUMNS
                    .iter()
                    .find(|(name, _)| name == own)
                    .map_or(bulk::Column::Text, |(_, t)| *t)
            })
            .collect();
        let names: Vec<&str> = FRESH_OWN_COLUMNS
            .iter()
            .copied()
            .chain(FRESH_SHARED_COLUMNS)
            .collect();
        let values: Vec<String> = (0..FRESH_OWN_COLUMNS.len())
            .map(|i| format!("v.c{i}"))
            .chain((0..FRESH_SHARED_COLUMNS.len()).map(|j| format!("${}", 4 + j)))
            .collect();
        format!(
            "INSERT INTO alerts ({}) SELECT {} FROM ({}) AS v {}",
            names.join(", "),
            values.join(", "),
            bulk::rows(backend, "$1", &types),
            fresh_insert_guard(backend, "$4", "v.c0"),
        )
    })
}

/// The `WHERE` (and on PostgreSQL the `ON CONFLICT`) of both forms of
/// the insert: `$2` and `$3` as for [`fresh_insert_sql`]; `integration`
/// and `fingerprint` are where a row's identity is.
fn fresh_insert_guard(backend: Backend, integration: &str, fingerprint: &str) -> String {
    let open_now = match backend {
        Backend::Sqlite => "group_concat(g.incident_id, ',' ORDER BY g.incident_id)",
        Backend::Postgres => "string_agg(g.incident_id::text, ',' ORDER BY g.incident_id)",
    };
    // Alerts stored since the read are left out: SQLite asks its key
    // tables (see `keys`), PostgreSQL its unique index.
    let (not_stored, on_conflict) = match backend {
        Backend::Sqlite => (
            format!(
                "AND {}",
                keys::sqlite_no_alert_with(integration, fingerprint)
            ),
            "",
        ),
        Backend::Postgres => (
            String::new(),
            "ON CONFLICT (integration_id, fingerprint) DO NOTHING",
        ),
    };
    format!(
        "WHERE COALESCE((SELECT {open_now} FROM alert_groups g JOIN tickets t ON t.id = g.incident_id \
         WHERE t.is_open = 1 AND {digests}), '') = $2 {not_stored} {on_conflict}",
        digests = bulk::in_texts(backend, "g.key_digest", "$3"),
    )
}

/// The values of [`FRESH_SHARED_COLUMNS`] in one alert's row.
#[derive(Debug, PartialEq)]
struct SharedColumns {
    integration: i64,
    source: &'static str,
    status: &'static str,
    first_seen: i64,
    last_seen: i64,
    acknowledged_at: Option<i64>,
    resolved_at: Option<i64>,
    count: i64,
    occurrences: i64,
    flapping: bool,
    flap: String,
}

impl SharedColumns {
    fn of(integration: i64, s: &Stored) -> Result<SharedColumns, StoreError> {
        let r = &s.record;
        Ok(SharedColumns {
            integration,
            source: r.source.as_str(),
            status: r.status.as_str(),
            first_seen: r.first_seen.as_microsecond(),
            last_seen: r.last_seen.as_microsecond(),
            acknowledged_at: r.acknowledged_at.map(|t| t.as_microsecond()),
            resolved_at: r.resolved_at.map(|t| t.as_microsecond()),
            count: i64::try_from(r.count).unwrap_or(i64::MAX),
            occurrences: i64::from(r.occurrences),
            flapping: s.flapping,
            flap: to_json(&s.flap)?,
        })
    }

    /// As parameters `$4` on, in [`FRESH_SHARED_COLUMNS`] order.
    fn into_params(self) -> [Bound; 11] {
        [
            Bound::Int(Some(self.integration)),
            Bound::Text(Some(self.source.to_string())),
            Bound::Text(Some(self.status.to_string())),
            Bound::Int(Some(self.first_seen)),
            Bound::Int(Some(self.last_seen)),
            Bound::Int(self.acknowledged_at),
            Bound::Int(self.resolved_at),
            Bound::Int(Some(self.count)),
            Bound::Int(Some(self.occurrences)),
            Bound::Int(Some(i64::from(self.flapping))),
            Bound::Text(Some(self.flap)),
        ]
    }
}

/// The rows of `rows` in [`FRESH_OWN_COLUMNS`] order, as the JSON array
/// [`fresh_shared_insert_sql`] binds.
fn own_rows_json(rows: &[&Stored]) -> Result<String, StoreError> {
    rows_json(rows, |a, s| {
        let r = &s.record;
        a.push(&r.fingerprint.to_string())?;
        a.push(&to_json(&r.labels)?)?;
        a.push(&to_json(&r.annotations)?)?;
        a.push(&r.summary)?;
        a.push(r.severity.as_str())?;
        a.push(&r.dedup_key)?;
        a.push(&r.url)?;
        a.push(&s.service.map(|x| x.0))?;
        a.push(s.action.as_str())?;
        a.push(&r.started_at.as_microsecond())?;
        a.push(&s.suppressed_by.as_ref().map(to_json).transpose()?)?;
        a.push(&s.incident.map(|i| i.0))?;
        a.push(&s.digest.map(|d| d.0))
    })
}

impl Store {
    /// How many intake batches this node wrote by each shortcut since it
    /// started.
    pub fn intake_shortcuts(&self) -> IntakeShortcuts {
        IntakeShortcuts {
            plain_repeats: self.intake_shortcuts.plain_repeats.load(Ordering::Relaxed),
            fresh_alerts: self.intake_shortcuts.fresh_alerts.load(Ordering::Relaxed),
        }
    }

    /// Writes the batch as plain repeats if it is one: every signal firing,
    /// no alert twice, each (as this node remembers it) stored with the
    /// digest its signal carries, and the conditional update finding every
    /// one of them so. `None` when it is not (nothing is then written): the
    /// batch takes the full pipeline.
    pub(super) async fn try_plain_repeats(
        &self,
        integration: &Integration,
        signals: &[AlertSignal],
        fingerprints: &[Fingerprint],
        decisions: &[RoutingDecision],
        truncated: u64,
        now: Timestamp,
    ) -> Result<Option<IntakeResult>, StoreError> {
        if signals.is_empty() {
            return Ok(None);
        }
        // Each alert once (a sender repeating an alert within one batch is
        // rare enough for the full pipeline), all firing, all remembered.
        let mut seen = HashSet::with_capacity(signals.len());
        let mut rows: Vec<(String, i64)> = Vec::with_capacity(signals.len());
        for (i, signal) in signals.iter().enumerate() {
            let fp = fingerprints[i];
            if signal.status != AlertStatus::Firing || !seen.insert(fp) {
                return Ok(None);
            }
            let digest = ContentDigest::of_signal(signal, &decisions[i]);
            if !self.repeat_hint.may_be_stored(integration.id, fp, digest) {
                return Ok(None);
            }
            rows.push((fp.to_string(), digest.0));
        }

        let mut noise: BTreeMap<ServiceId, NoiseMetrics> = BTreeMap::new();
        for d in decisions {
            noise
                .entry(d.service)
                .or_default()
                .record(PipelineOutcome::Deduplicated);
        }
        let result = IntakeResult {
            received: signals.len(),
            deduplicated: signals.len(),
            truncated_alerts: truncated,
            ..Default::default()
        };
        let mut then = Recorded::default();
        queue_noise(&mut then, now, integration, &noise, truncated);
        queue_received_event(&mut then, integration, &result, &[], &[], &[], &[]);
        let stood = self
            .checked_write(CheckedWrite {
                sql: plain_repeats_sql(self.backend()),
                expect: rows.len() as u64,
                params: vec![
                    Bound::Text(Some(to_json(&rows)?)),
                    Bound::Int(Some(now.as_microsecond())),
                    Bound::Int(Some(integration.id)),
                ],
                then,
                now,
            })
            .await?;
        if !stood {
            // Not all of them are plain repeats any more (another node
            // changed one, or the hint was wrong): nothing was written.
            return Ok(None);
        }
        self.intake_shortcuts
            .plain_repeats
            .fetch_add(1, Ordering::Relaxed);
        Ok(Some(result))
    }

    /// Writes a batch of alerts all new to us that opens no incident: each
    /// is stored suppressed, flapping, record-only, or joining an incident
    /// already open. The batch's state is read and the pipeline run before
    /// the writer lock; under it, one insert stores the alerts only if none
    /// of them exists yet and the open incidents of their groups are still
    /// the ones read, and otherwise stores nothing. `None` when the batch is
    /// not such a batch (nothing is then written).
    pub(super) async fn try_fresh_alerts(
        &self,
        prepared: &Prepared<'_>,
        suppressor: &Suppressor<'_>,
        state_params: Vec<Bound>,
        digests: &[String],
        now: Timestamp,
    ) -> Result<Option<IntakeResult>, StoreError> {
        match self
            .decide_fresh_alerts(prepared, suppressor, state_params, digests, now)
            .await?
        {
            Some(decided) => {
                self.write_fresh_alerts(prepared.integration, decided, now)
                    .await
            }
            None => Ok(None),
        }
    }

    /// The half of [`Store::try_fresh_alerts`] before the lock: the read
    /// and the pipeline. `None` when the batch is not such a batch.
    async fn decide_fresh_alerts(
        &self,
        prepared: &Prepared<'_>,
        suppressor: &Suppressor<'_>,
        state_params: Vec<Bound>,
        digests: &[String],
        now: Timestamp,
    ) -> Result<Option<FreshAlerts>, StoreError> {
        let row = bind_all(sqlx::query(batch_state_sql(self.backend())), state_params)
            .fetch_one(&self.pool)
            .await?;
        let (known, (groups, auto_resolve)) = parse_batch_state(&row)?;
        if !known.is_empty() {
            return Ok(None);
        }
        let open_groups = open_group_list(&groups);
        let Some(mut plan) = self
            .plan(None, prepared, suppressor, known, groups, auto_resolve, now)
            .await?
        else {
            return Ok(None);
        };
        plan.set_digests();
        let rows = plan.full_row_records();
        if rows.len() != prepared.signals.len() {
            return Ok(None);
        }
        let integration = prepared.integration.id;
        let shared = match rows.first() {
            Some(first) => Some(SharedColumns::of(integration, first)?),
            None => None,
        };
        let mut all_share = true;
        for s in rows.iter().skip(1) {
            if Some(SharedColumns::of(integration, s)?) != shared {
                all_share = false;
                break;
            }
        }
        let guard = [
            Bound::Text(Some(open_groups)),
            Bound::Text(Some(to_json(&digests)?)),
        ];
        let (sql, params) = match shared {
            Some(shared) if all_share => {
                let mut params = vec![Bound::Text(Some(own_rows_json(&rows)?))];
                params.extend(guard);
                params.extend(shared.into_params());
                (fresh_shared_insert_sql(self.backend()), params)
            }
            _ => {
                let mut params = vec![Bound::Text(Some(upsert_rows_json(integration, &rows)?))];
                params.extend(guard);
                (fresh_insert_sql(self.backend()), params)
            }
        };
        let rows = rows.len() as u64;
        Ok(Some(FreshAlerts {
            plan,
            sql,
            params,
            rows,
        }))
    }

    /// The half of [`Store::try_fresh_alerts`] under the lock: the checked
    /// insert, then the events, or nothing.
    async fn write_fresh_alerts(
        &self,
        integration: &Integration,
        decided: FreshAlerts,
        now: Timestamp,
    ) -> Result<Option<IntakeResult>, StoreError> {
        let FreshAlerts {
            plan,
            sql,
            params,
            rows,
        } = decided;
        let mut then = Recorded::default();
        plan.queue_incident_events(&mut then, integration);
        plan.queue_summary(&mut then, integration, now);
        let stood = self
            .checked_write(CheckedWrite {
                sql,
                expect: rows,
                params,
                then,
                now,
            })
            .await?;
        if !stood {
            // An alert of the batch was stored, or an incident of its groups
            // opened or closed, since the read: nothing was written.
            return Ok(None);
        }
        plan.remember(&self.repeat_hint, integration.id);
        self.alert_keys_written(rows);
        self.intake_shortcuts
            .fresh_alerts
            .fetch_add(1, Ordering::Relaxed);
        Ok(Some(plan.result))
    }
}

#[cfg(test)]
mod tests {
    //! The checked insert's guard, on both backends. The race it guards
    //! against (an incident of the batch's groups closing between the read
    //! and the insert) cannot be timed from outside, so the decision and
    //! the insert are taken apart here.
    use super::*;
    use crate::NewUser;
    use crate::alerts::{IntakeBatch, IntegrationInput};
    use crate::directory::ServiceInput;
    use crate::testing::TestDb;
    use opsdesk_domain::alerts::{GroupKey, group_key, parse_generic};
    use opsdesk_domain::transition::ReopenPolicy;
    use opsdesk_domain::{Actor, Role, Transition};

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).expect("a valid time")
    }

    fn one_alert(instance: &str) -> Vec<AlertSignal> {
        let body = serde_json::json!({"alerts": [{"labels": {"alertname": "DiskFull", "instance": instance}}]});
        parse_generic(body.to_string().as_bytes()).expect("a valid generic body")
    }

    /// Sends one alert of `instance` through the whole of intake.
    async fn ingest_one(
        store: &Store,
        integration: &Integration,
        instance: &str,
        now: Timestamp,
    ) -> IntakeResult {
        store
            .ingest_alerts(
                integration,
                IntakeBatch {
                    signals: one_alert(instance),
                    truncated: 0,
                },
                now,
            )
            .await
            .expect("ingested")
    }

    /// An admin and the service "Checkout".
    async fn admin_and_service(store: &Store) -> (crate::User, crate::Service) {
        let admin = store
            .create_user(
                NewUser {
                    username: "admin".into(),
                    display_name: "Admin".into(),
                    email: None,
                    role: Role::Admin,
                    organization: None,
                    password_hash: None,
                },
                None,
                at(0),
            )
            .await
            .expect("admin");
        let service = store
            .create_service(
                ServiceInput {
                    name: "Checkout".into(),
                    description: String::new(),
                    owner_team_id: None,
                    tier: 2,
                },
                admin.id,
                at(0),
            )
            .await
            .expect("service");
        (admin, service)
    }

    async fn rows_of(store: &Store) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM alerts")
            .fetch_one(store.pool())
            .await
            .and_then(|r| sqlx::Row::try_get(&r, "n"))
            .expect("a count")
    }

    async fn inserts_only_while_the_open_incidents_are_those_read(db: &TestDb) {
        let store = &db.store;
        let (admin, service) = admin_and_service(store).await;
        let (integration, _) = store
            .create_integration(
                IntegrationInput::new("prometheus", service.id),
                admin.id,
                at(0),
            )
            .await
            .expect("integration");
        let first = ingest_one(store, &integration, "db-1", at(1)).await;
        assert_eq!(first.incidents_opened.len(), 1);

        // Decide a new alert of the same group: it joins the open incident.
        let signals = one_alert("db-2");
        let (decisions, fingerprints) = super::super::route_and_fingerprint(&integration, &signals);
        let key: GroupKey = group_key(
            decisions[0].service,
            &decisions[0].group_by,
            &signals[0].labels,
        );
        let digests = vec![key.digest().to_string()];
        let prepared = Prepared {
            integration: &integration,
            signals: &signals,
            fingerprints: &fingerprints,
            decisions: &decisions,
            keys: vec![Some(key)],
            owners: Default::default(),
            truncated: 0,
        };
        let suppressor = Suppressor::new(&[], &[], &[], &[], at(2));
        let params = super::super::batch_state_params(integration.id, &[fingerprints[0]], &digests)
            .expect("params");
        let decided = store
            .decide_fresh_alerts(&prepared, &suppressor, params, &digests, at(2))
            .await
            .expect("decided")
            .expect("a new alert joining an open incident is decided before the lock");

        // The incident closes before the insert: nothing may be stored.
        let incident = store
            .get_ticket_by_number(&first.incidents_opened[0])
            .await
            .expect("incident");
        store
            .transition_ticket(
                incident.id,
                &Transition::Resolve {
                    resolution_code: "fixed".into(),
                    resolution_note: "done".into(),
                },
                ReopenPolicy::default(),
                at(2),
                Actor {
                    user_id: admin.id,
                    role: Role::Admin,
                },
                None,
            )
            .await
            .expect("resolved");
        let before = rows_of(store).await;
        let written = store
            .write_fresh_alerts(&integration, decided, at(2))
            .await
            .expect("no error");
        assert!(written.is_none(), "the guard refuses a stale decision");
        assert_eq!(rows_of(store).await, before, "and stores nothing");

        // Decided again, the alert opens a new incident under the lock.
        let again = ingest_one(store, &integration, "db-2", at(3)).await;
        assert_eq!(again.incidents_opened.len(), 1);
        assert_ne!(again.incidents_opened, first.incidents_opened);
    }

    /// A batch of new alerts whose shared columns agree is written by
    /// the shorter form of the checked insert; the longer one, given the
    /// same decision for another integration, stores the same rows.
    async fn both_forms_of_the_checked_insert_store_the_same_rows(db: &TestDb) {
        use opsdesk_domain::alerts::RouteAction;
        let store = &db.store;
        let (admin, service) = admin_and_service(store).await;
        let mut integrations = Vec::new();
        for name in ["shorter", "longer"] {
            let mut input = IntegrationInput::new(name, service.id);
            input.action = RouteAction::RecordOnly;
            let (integration, _) = store
                .create_integration(input, admin.id, at(0))
                .await
                .expect("integration");
            integrations.push(integration);
        }
        let body = serde_json::json!({"alerts": [
            {"labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
             "annotations": {"summary": "Disk \"full\" on db-1", "runbook": "https://runbooks/disk"}},
            {"labels": {"alertname": "DiskFull", "instance": "db-2", "severity": "warning"},
             "annotations": {"summary": "Disk almost full on db-2"}},
            {"labels": {"alertname": "HighLatency", "instance": "api-1"}},
        ]});
        let signals = parse_generic(body.to_string().as_bytes()).expect("a valid generic body");
        let mut decided = Vec::new();
        for integration in &integrations {
            let (decisions, fingerprints) =
                super::super::route_and_fingerprint(integration, &signals);
            let prepared = Prepared {
                integration,
                signals: &signals,
                fingerprints: &fingerprints,
                decisions: &decisions,
                keys: vec![None; signals.len()],
                owners: Default::default(),
                truncated: 0,
            };
            let suppressor = Suppressor::new(&[], &[], &[], &[], at(1));
            let params =
                super::super::batch_state_params(integration.id, &[], &[]).expect("params");
            decided.push(
                store
                    .decide_fresh_alerts(&prepared, &suppressor, params, &[], at(1))
                    .await
                    .expect("decided")
                    .expect("new record-only alerts are decided before the lock"),
            );
        }
        let mut longer = decided.pop().expect("two decisions");
        let shorter = decided.pop().expect("two decisions");
        assert_eq!(shorter.sql, fresh_shared_insert_sql(store.backend()));
        let rows = longer.plan.full_row_records();
        let mut params = vec![Bound::Text(Some(
            upsert_rows_json(integrations[1].id, &rows).expect("rows"),
        ))];
        params.extend(longer.params.drain(1..3));
        longer.sql = fresh_insert_sql(store.backend());
        longer.params = params;
        for (integration, decided) in integrations.iter().zip([shorter, longer]) {
            let written = store
                .write_fresh_alerts(integration, decided, at(1))
                .await
                .expect("no error");
            assert_eq!(written.map(|r| r.new), Some(3));
        }

        let columns: Vec<String> = UPSERT_COLUMNS
            .iter()
            .filter(|(name, _)| *name != "integration_id")
            .map(|(name, _)| format!("COALESCE(CAST({name} AS TEXT), 'NULL')"))
            .collect();
        let sql = format!(
            "SELECT {} AS r FROM alerts WHERE integration_id = $1 ORDER BY fingerprint",
            columns.join(" || '|' || ")
        );
        let mut stored = Vec::new();
        for integration in &integrations {
            let rows: Vec<String> = crate::rows::dynamic_query(&sql)
                .bind(integration.id)
                .fetch_all(store.pool())
                .await
                .expect("rows")
                .iter()
                .map(|r| sqlx::Row::try_get(r, "r").expect("a row"))
                .collect();
            assert_eq!(rows.len(), 3);
            stored.push(rows);
        }
        assert_eq!(stored[0], stored[1]);
    }

    #[test]
    fn the_shorter_insert_writes_every_column_of_the_longer_once() {
        let mut shorter: Vec<&str> = FRESH_OWN_COLUMNS
            .iter()
            .copied()
            .chain(FRESH_SHARED_COLUMNS)
            .collect();
        let mut longer: Vec<&str> = UPSERT_COLUMNS.iter().map(|(name, _)| *name).collect();
        shorter.sort_unstable();
        longer.sort_unstable();
        assert_eq!(shorter, longer);
    }

    #[tokio::test]
    async fn sqlite_checked_insert_forms() {
        let db = TestDb::sqlite().await;
        both_forms_of_the_checked_insert_store_the_same_rows(&db).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn postgres_checked_insert_forms() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        both_forms_of_the_checked_insert_store_the_same_rows(&db).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn sqlite_insert_guard() {
        let db = TestDb::sqlite().await;
        inserts_only_while_the_open_incidents_are_those_read(&db).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn postgres_insert_guard() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        inserts_only_while_the_open_incidents_are_those_read(&db).await;
        db.cleanup().await;
    }
}
