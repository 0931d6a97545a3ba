//! The two shortcuts of alert intake (see `Store::ingest_alerts` and
//! docs/alerts.md, "Runtime"): plain repeats written by one conditional
//! update without a read, and batches of new alerts decided before the
//! writer lock and written by one checked insert. Each writes nothing when
//! its assumption does not hold, and the batch goes on to the pipeline.

use super::{
    Plan, Prepared, UPSERT_COLUMNS, batch_state_sql, parse_batch_state, queue_noise,
    queue_received_event, row_values, to_json,
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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

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
    /// The insert ([`fresh_insert_sql_sharing`], or [`fresh_insert_sql`]
    /// once no more forms are kept) and its parameters.
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

/// The insert of a batch of alerts decided before the writer lock, every
/// column read from the JSON rows of `$1` (as for [`upsert_sql`]); `$2`
/// the open incidents of the batch's groups as read
/// ([`open_group_list`]), `$3` the digests of those groups' keys. Rows go
/// in only while the open incidents are still those (else a new alert
/// could join a closed incident, or miss one opened since); an alert
/// stored since the read is left alone. The caller compares the count of
/// rows inserted with the number it sent. [`fresh_insert_sql_sharing`]
/// gives the same insert with some columns bound once.
fn fresh_insert_sql(backend: Backend) -> &'static str {
    static SQL: bulk::PerBackend = bulk::PerBackend::new();
    SQL.get(backend, |backend| {
        build_fresh_insert(backend, SharedColumns::NONE)
    })
}

/// Which columns of a batch's rows every alert of it has the same value
/// in: one bit per column of `UPSERT_COLUMNS`. Those are bound once as
/// `$4` on instead of being repeated in each JSON row: each column read
/// out of a row is a function call that walks the row to its place, and
/// those reads were the largest single part of the writer's work for a
/// new alert (docs/BENCHMARKS.md, "Alert intake, seventh pass"). Alerts
/// of one batch usually share most of them (where from, state, times,
/// counts, route), and a batch of one shares all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SharedColumns(u32);

impl SharedColumns {
    const NONE: SharedColumns = SharedColumns(0);

    /// The columns in which all of `rows` agree. Never the fingerprint:
    /// the insert's guard reads each row's identity from the row.
    fn of(rows: &[[Bound; UPSERT_COLUMNS.len()]]) -> SharedColumns {
        let Some((first, rest)) = rows.split_first() else {
            return SharedColumns::NONE;
        };
        let mut bits = 0;
        for (i, (name, _)) in UPSERT_COLUMNS.iter().enumerate() {
            if *name != "fingerprint" && rest.iter().all(|row| row[i] == first[i]) {
                bits |= 1 << i;
            }
        }
        SharedColumns(bits)
    }

    fn includes(self, column: usize) -> bool {
        self.0 & (1 << column) != 0
    }
}

/// Most distinct sets of shared columns whose insert is kept (built once
/// each, for the life of the process); a batch whose set is not among
/// them once the cache is full takes [`fresh_insert_sql`].
const MAX_SHARED_COLUMN_SETS: usize = 64;

/// [`fresh_insert_sql`] with the columns in `shared` bound once, as `$4`
/// on in `UPSERT_COLUMNS` order, and only the others in `$1`'s rows.
/// `None` when no more forms are kept.
fn fresh_insert_sql_sharing(backend: Backend, shared: SharedColumns) -> Option<&'static str> {
    type Forms = HashMap<(bool, SharedColumns), &'static str>;
    static FORMS: OnceLock<Mutex<Forms>> = OnceLock::new();
    if shared == SharedColumns::NONE {
        return Some(fresh_insert_sql(backend));
    }
    let key = (backend == Backend::Sqlite, shared);
    let mut forms = FORMS.get_or_init(Default::default).lock().ok()?;
    if let Some(sql) = forms.get(&key) {
        return Some(sql);
    }
    if forms.len() >= MAX_SHARED_COLUMN_SETS {
        return None;
    }
    // Kept for the process, as the statements of `bulk::PerBackend` are;
    // the cap above bounds them.
    let sql: &'static str = Box::leak(build_fresh_insert(backend, shared).into_boxed_str());
    forms.insert(key, sql);
    Some(sql)
}

/// The text of the checked insert for one set of shared columns.
fn build_fresh_insert(backend: Backend, shared: SharedColumns) -> String {
    let mut own_types = Vec::new();
    let mut own_names = Vec::new();
    let mut shared_names = Vec::new();
    let mut own_values = Vec::new();
    let mut shared_values = Vec::new();
    let mut integration = String::new();
    let mut fingerprint = String::new();
    for (i, (name, column_type)) in UPSERT_COLUMNS.iter().enumerate() {
        let value = if shared.includes(i) {
            let value = format!("${}", 4 + shared_names.len());
            shared_names.push(*name);
            shared_values.push(value.clone());
            value
        } else {
            let value = format!("v.c{}", own_names.len());
            own_names.push(*name);
            own_types.push(*column_type);
            own_values.push(value.clone());
            value
        };
        match *name {
            "integration_id" => integration = value,
            "fingerprint" => fingerprint = value,
            _ => {}
        }
    }
    own_names.extend(shared_names);
    own_values.extend(shared_values);
    format!(
        "INSERT INTO alerts ({}) SELECT {} FROM ({}) AS v {}",
        own_names.join(", "),
        own_values.join(", "),
        bulk::rows(backend, "$1", &own_types),
        fresh_insert_guard(backend, &integration, &fingerprint),
    )
}

/// The `WHERE` (and on PostgreSQL the `ON CONFLICT`) of every form of
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

/// The rows of `values` as the parameter [`fresh_insert_sql_sharing`]
/// binds as `$1`: each row's columns not in `shared`.
fn own_rows_param(
    backend: Backend,
    values: &[[Bound; UPSERT_COLUMNS.len()]],
    shared: SharedColumns,
) -> Result<Bound, StoreError> {
    bulk::RowsParam::of(backend, values, |one, row| {
        for (i, value) in row.iter().enumerate() {
            if !shared.includes(i) {
                one.bound(value)?;
            }
        }
        Ok(())
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
                    bulk::RowsParam::of(self.backend(), &rows, |one, (fp, digest)| {
                        one.text(Some(fp))?;
                        one.int(Some(*digest));
                        Ok(())
                    })?,
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
        let values = rows
            .iter()
            .map(|s| row_values(integration, s))
            .collect::<Result<Vec<_>, _>>()?;
        let guard = [
            Bound::Text(Some(open_groups)),
            Bound::Text(Some(to_json(&digests)?)),
        ];
        let shared = SharedColumns::of(&values);
        let (sql, shared) = match fresh_insert_sql_sharing(self.backend(), shared) {
            Some(sql) => (sql, shared),
            None => (fresh_insert_sql(self.backend()), SharedColumns::NONE),
        };
        let mut params = vec![own_rows_param(self.backend(), &values, shared)?];
        params.extend(guard);
        if let Some(first) = values.first() {
            params.extend(
                first
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| shared.includes(*i))
                    .map(|(_, value)| value.clone()),
            );
        }
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

    /// A batch of new alerts that agree in some columns is written with
    /// those bound once; the form reading every column from the rows,
    /// given the same decision for another integration, stores the same
    /// rows.
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
        assert_ne!(
            shorter.sql,
            fresh_insert_sql(store.backend()),
            "the alerts share columns (integration, source, status, times, counts, route)"
        );
        let rows = longer.plan.full_row_records();
        let mut params = vec![
            super::super::upsert_rows_param(store.backend(), integrations[1].id, &rows)
                .expect("rows"),
        ];
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

    /// The columns an insert names, in order.
    fn inserted_columns(sql: &str) -> Vec<String> {
        let start = sql.find('(').expect("a column list") + 1;
        let end = start + sql[start..].find(')').expect("a column list");
        sql[start..end].split(", ").map(str::to_string).collect()
    }

    #[test]
    fn every_form_of_the_insert_writes_every_column_once() {
        let fingerprint = UPSERT_COLUMNS
            .iter()
            .position(|(name, _)| *name == "fingerprint")
            .expect("a fingerprint column");
        let all = (1u32 << UPSERT_COLUMNS.len()) - 1;
        let mut expected: Vec<&str> = UPSERT_COLUMNS.iter().map(|(name, _)| *name).collect();
        expected.sort_unstable();
        for bits in [0, all, 0x0055_5555, 0x00aa_aaaa, 1, 1 << 23] {
            let shared = SharedColumns(bits & !(1 << fingerprint));
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let sql = build_fresh_insert(backend, shared);
                let mut columns = inserted_columns(&sql);
                let bound_once = (0..UPSERT_COLUMNS.len())
                    .filter(|i| shared.includes(*i))
                    .count();
                assert_eq!(
                    sql.matches(&format!("${}", 4 + bound_once)).count(),
                    0,
                    "parameters $4 on are exactly the shared columns: {sql}"
                );
                if bound_once > 0 {
                    assert!(sql.contains(&format!("${}", 3 + bound_once)), "{sql}");
                }
                columns.sort_unstable();
                assert_eq!(columns, expected, "{sql}");
            }
        }
    }

    #[test]
    fn columns_are_shared_only_when_every_alert_agrees() {
        let row = |instance: &str, severity: &str| {
            let mut values: [Bound; UPSERT_COLUMNS.len()] =
                std::array::from_fn(|_| Bound::Int(None));
            for (i, (name, _)) in UPSERT_COLUMNS.iter().enumerate() {
                values[i] = match *name {
                    "fingerprint" => Bound::Text(Some(format!("fp-{instance}"))),
                    "severity" => Bound::Text(Some(severity.to_string())),
                    "labels" => Bound::Text(Some(format!("{{\"instance\":\"{instance}\"}}"))),
                    _ => Bound::Int(Some(1)),
                };
            }
            values
        };
        let column = |name: &str| {
            UPSERT_COLUMNS
                .iter()
                .position(|(n, _)| *n == name)
                .expect("a column")
        };
        let two = SharedColumns::of(&[row("a", "critical"), row("b", "critical")]);
        assert!(two.includes(column("severity")));
        assert!(two.includes(column("integration_id")));
        assert!(!two.includes(column("labels")));
        assert!(!two.includes(column("fingerprint")));
        let differing = SharedColumns::of(&[row("a", "critical"), row("b", "warning")]);
        assert!(!differing.includes(column("severity")));
        let one = SharedColumns::of(&[row("a", "critical")]);
        assert!(one.includes(column("labels")), "a batch of one shares all");
        assert!(!one.includes(column("fingerprint")), "but its identity");
        assert_eq!(SharedColumns::of(&[]), SharedColumns::NONE);
    }

    crate::testing::on_both_backends!(
        both_forms_of_the_checked_insert_store_the_same_rows,
        inserts_only_while_the_open_incidents_are_those_read,
    );
}
