//! Alert intake storage: integrations (one integration key each, stored as a
//! SHA-256 digest), alerts, the incidents alert groups open, silences,
//! maintenance windows, inhibition rules and noise counters.
//!
//! The rules are the domain's (`opsdesk_domain::alerts`); this module keeps
//! their configuration as JSON text, validates it with the domain before
//! every write, and runs an intake batch ([`Store::ingest_alerts`], in
//! `alerts/intake.rs`) as one write: all of a batch or none of it.

mod intake;
mod keys;
mod repeat_hint;

pub(crate) use intake::ShortcutCounters;
pub use intake::{IntakeBatch, IntakeResult, IntakeShortcuts};
pub use keys::KEY_FILE_SUFFIX;
pub(crate) use keys::{KeyFileUser, Settler, attach_key_file, give_copy_its_own_key_file};
pub(crate) use repeat_hint::RepeatHint;

use crate::rows::{opt_ts, parse, ts};
use crate::tokens::digest;
use crate::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::alerts::{
    AlertStatus, Fallback, FlapPolicy, GroupBy, InhibitRule, Labels, MaintenanceSchedule,
    MaintenanceWindow, MaintenanceWindowId, Matchers, NoiseMetrics, Route, RouteAction, Severity,
    SignalSource, Silence, SilenceId, SilenceState, SuppressedBy, UrgencyMap, acknowledge,
    validate_inhibit_rule, validate_maintenance_window, validate_routes, validate_silence,
};
use opsdesk_domain::limits::check_short_text;
use opsdesk_domain::{FieldError, Impact, ServiceId, TicketId, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Every integration key starts with this, so secret scanners and the
/// redactor can recognise one.
pub const INTEGRATION_KEY_PREFIX: &str = "odi_";

// ---------------------------------------------------------------------------
// Integrations
// ---------------------------------------------------------------------------

/// How long intake trusts a remembered key → integration answer. Bounds how
/// late a change made on another node (disable, new routes) reaches this
/// one; changes made through this store apply at once.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most keys remembered; beyond, the cache starts over (keys are few).
const KEY_CACHE_MAX: usize = 1024;

/// Integration-key lookups for intake, so a request does not cost a query
/// before its batch: key digest → the enabled integration (or none), with
/// when it was read.
#[derive(Default)]
pub(crate) struct KeyCache {
    inner: Mutex<KeyCacheInner>,
}

#[derive(Default)]
struct KeyCacheInner {
    /// Bumped by every change: a lookup that raced one is not remembered.
    generation: u64,
    entries: HashMap<String, (Instant, Option<Arc<Integration>>)>,
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCacheInner> {
        // The data is a cache: a panic while holding it leaves nothing to repair.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, hash: &str) -> Option<Option<Arc<Integration>>> {
        let inner = self.lock();
        let (at, found) = inner.entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| found.clone())
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    fn put(&self, hash: String, found: Option<Arc<Integration>>, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= KEY_CACHE_MAX {
            inner.entries.clear();
        }
        inner.entries.insert(hash, (Instant::now(), found));
    }

    /// Forgets everything: an integration changed.
    fn forget(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

/// What happens to alerts no route matches, and the integration's flap
/// thresholds: the `config` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct IntegrationConfig {
    fallback: Fallback,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    flap: FlapPolicy,
}

/// An alert integration as stored and served (never with its key).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    /// The default service: alerts no route matches go here.
    #[schema(value_type = i64)]
    pub service_id: ServiceId,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    /// `page`, `ticket_only` or `record_only` for unrouted alerts.
    #[schema(value_type = String, example = "ticket_only")]
    pub action: RouteAction,
    #[schema(value_type = Object)]
    pub urgency: UrgencyMap,
    /// `high`, `medium` (default) or `low`: the impact of incidents opened
    /// for unrouted alerts; with the urgency it sets their priority.
    #[schema(value_type = String, example = "medium")]
    pub impact: Impact,
    /// Labels whose values make a group; `["..."]` is every label.
    #[schema(value_type = Vec<String>)]
    pub group_by: GroupBy,
    /// ISO 8601 duration: how long an incident takes new alerts of its group.
    #[schema(value_type = Option<String>, example = "PT30M")]
    pub group_window: Option<SignedDuration>,
    /// Resolve the incident when all its alerts have resolved.
    pub auto_resolve: bool,
    /// `{"max_transitions": 6, "window": "PT1H"}`.
    #[schema(value_type = Object)]
    pub flap: FlapPolicy,
    /// In order; the first whose matchers match decides.
    #[schema(value_type = Vec<Object>)]
    pub routes: Vec<Route>,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub enabled: bool,
}

impl Integration {
    pub fn fallback(&self) -> Fallback {
        Fallback {
            service: self.service_id,
            action: self.action,
            urgency: self.urgency,
            impact: self.impact,
            group_by: self.group_by.clone(),
            group_window: self.group_window,
            auto_resolve: self.auto_resolve,
        }
    }
}

/// What a caller sends to create or change an integration (routes are set
/// on their own, [`Store::set_alert_routes`]).
#[derive(Debug, Clone)]
pub struct IntegrationInput {
    pub name: String,
    pub service_id: ServiceId,
    pub action: RouteAction,
    pub urgency: UrgencyMap,
    pub impact: Impact,
    pub group_by: GroupBy,
    pub group_window: Option<SignedDuration>,
    pub auto_resolve: bool,
    pub flap: FlapPolicy,
}

impl IntegrationInput {
    /// An integration for `service` with the defaults: ticket only, grouped
    /// by `alertname`, no window, no auto-resolve.
    pub fn new(name: &str, service: ServiceId) -> Self {
        let f = Fallback::new(service);
        IntegrationInput {
            name: name.to_string(),
            service_id: service,
            action: f.action,
            urgency: f.urgency,
            impact: f.impact,
            group_by: f.group_by,
            group_window: f.group_window,
            auto_resolve: f.auto_resolve,
            flap: FlapPolicy::default(),
        }
    }

    fn fallback(&self) -> Fallback {
        Fallback {
            service: self.service_id,
            action: self.action,
            urgency: self.urgency,
            impact: self.impact,
            group_by: self.group_by.clone(),
            group_window: self.group_window,
            auto_resolve: self.auto_resolve,
        }
    }
}

const INTEGRATION_COLUMNS: &str =
    "id, name, service_id, key_prefix, config, created_by, created_at, updated_at, disabled_at";

fn integration(row: &AnyRow) -> Result<Integration, StoreError> {
    let config: String = row.try_get("config")?;
    let config: IntegrationConfig = serde_json::from_str(&config)
        .map_err(|e| StoreError::Corrupt(format!("integration config: {e}")))?;
    Ok(Integration {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        service_id: ServiceId(row.try_get("service_id")?),
        key_prefix: row.try_get("key_prefix")?,
        action: config.fallback.action,
        urgency: config.fallback.urgency,
        impact: config.fallback.impact,
        group_by: config.fallback.group_by,
        group_window: config.fallback.group_window,
        auto_resolve: config.fallback.auto_resolve,
        flap: config.flap,
        routes: config.routes,
        created_by: UserId(row.try_get("created_by")?),
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
        enabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_none(),
    })
}

fn config_json(input: &IntegrationInput, routes: Vec<Route>) -> Result<String, StoreError> {
    serde_json::to_string(&IntegrationConfig {
        fallback: input.fallback(),
        routes,
        flap: input.flap,
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{INTEGRATION_KEY_PREFIX}{}", hex::encode(bytes))
}

fn check_integration(input: &IntegrationInput) -> Result<(), StoreError> {
    check_short_text("name", &input.name)?;
    let mut errors = validate_routes(&[], &input.fallback());
    errors.extend(
        input
            .flap
            .validate()
            .into_iter()
            .map(|e| FieldError::new(format!("flap.{}", e.field), e.message)),
    );
    first_error(errors.into_iter().map(|e| {
        // The fallback's settings are the integration's own fields.
        let field = e
            .field
            .strip_prefix("fallback.")
            .unwrap_or(&e.field)
            .to_string();
        FieldError::new(field, e.message)
    }))
}

fn first_error(errors: impl IntoIterator<Item = FieldError>) -> Result<(), StoreError> {
    match errors.into_iter().next() {
        Some(e) => Err(StoreError::Invalid(e)),
        None => Ok(()),
    }
}

async fn check_services(
    store: &Store,
    services: Vec<(String, ServiceId)>,
) -> Result<(), StoreError> {
    for (field, service) in services {
        let found = sqlx::query("SELECT 1 AS one FROM services WHERE id = $1")
            .bind(service.0)
            .fetch_optional(&store.pool)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid(
                field,
                format!("service {service} does not exist"),
            ));
        }
    }
    Ok(())
}

fn name_conflict(e: StoreError, what: &str, name: &str) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!("{what} '{name}' already exists; pick another name"))
    } else {
        e
    }
}

impl Store {
    /// Creates an integration and returns it with its key, which is shown
    /// this once: only its SHA-256 digest is kept.
    pub async fn create_integration(
        &self,
        input: IntegrationInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(Integration, String), StoreError> {
        check_integration(&input)?;
        check_services(self, vec![("service_id".to_string(), input.service_id)]).await?;
        let key = random_key();
        let prefix: String = key.chars().take(INTEGRATION_KEY_PREFIX.len() + 6).collect();
        let config = config_json(&input, vec![])?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        let row = sqlx::query(
            "INSERT INTO alert_integrations (name, service_id, key_hash, key_prefix, config, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(&input.name)
        .bind(input.service_id.0)
        .bind(digest(&key))
        .bind(&prefix)
        .bind(&config)
        .bind(actor.0)
        .bind(at)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| name_conflict(e.into(), "an integration named", &input.name))?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "alert_integration",
            id,
            "integration.created",
            json!({"name": input.name, "service_id": input.service_id, "key_prefix": prefix,
                   "config": serde_json::from_str::<serde_json::Value>(&config).unwrap_or_default()}),
        )
        .await?;
        tx.commit().await?;
        Ok((self.get_integration(id).await?, key))
    }

    pub async fn get_integration(&self, id: i64) -> Result<Integration, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM alert_integrations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("integration", id))?;
        integration(&row)
    }

    pub async fn list_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM alert_integrations ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(integration).collect()
    }

    /// The enabled integration a key belongs to; `None` for an unknown,
    /// disabled or malformed key.
    pub async fn integration_by_key(&self, key: &str) -> Result<Option<Integration>, StoreError> {
        if key.is_empty() || key.len() > 255 {
            return Ok(None);
        }
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM alert_integrations WHERE key_hash = $1 AND disabled_at IS NULL"
        ))
        .bind(digest(key))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(integration).transpose()
    }

    /// [`Store::integration_by_key`] for intake: answered from memory for
    /// up to [`KEY_CACHE_TTL`]. A change made through this store forgets
    /// the cache at once; one made on another node applies here within the
    /// TTL.
    pub async fn intake_integration(
        &self,
        key: &str,
    ) -> Result<Option<Arc<Integration>>, StoreError> {
        if key.is_empty() || key.len() > 255 {
            return Ok(None);
        }
        let hash = digest(key);
        if let Some(hit) = self.integration_keys.get(&hash) {
            return Ok(hit);
        }
        let generation = self.integration_keys.generation();
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM alert_integrations WHERE key_hash = $1 AND disabled_at IS NULL"
        ))
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let found = row.as_ref().map(integration).transpose()?.map(Arc::new);
        self.integration_keys.put(hash, found.clone(), generation);
        Ok(found)
    }

    /// Replaces an integration's settings, keeping its key and routes.
    pub async fn update_integration(
        &self,
        id: i64,
        input: IntegrationInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Integration, StoreError> {
        check_integration(&input)?;
        check_services(self, vec![("service_id".to_string(), input.service_id)]).await?;
        let before = self.get_integration(id).await?;
        let config = config_json(&input, before.routes.clone())?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        sqlx::query(
            "UPDATE alert_integrations SET name = $1, service_id = $2, config = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&input.name)
        .bind(input.service_id.0)
        .bind(&config)
        .bind(at)
        .bind(id)
        .execute(tx.conn().await?)
        .await
        .map_err(|e| name_conflict(e.into(), "an integration named", &input.name))?;
        tx.event(
            "alert_integration",
            id,
            "integration.updated",
            json!({"name": input.name, "service_id": input.service_id,
                   "config": serde_json::from_str::<serde_json::Value>(&config).unwrap_or_default()}),
        )
        .await?;
        tx.commit().await?;
        self.integration_keys.forget();
        self.get_integration(id).await
    }

    /// Replaces an integration's ordered routes, validated as a whole.
    pub async fn set_alert_routes(
        &self,
        id: i64,
        routes: Vec<Route>,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Integration, StoreError> {
        let before = self.get_integration(id).await?;
        first_error(validate_routes(&routes, &before.fallback()))?;
        let services: Vec<(String, ServiceId)> = routes
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("routes[{i}].service"), r.service))
            .collect();
        check_services(self, services).await?;
        let config = serde_json::to_string(&IntegrationConfig {
            fallback: before.fallback(),
            routes: routes.clone(),
            flap: before.flap,
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        sqlx::query("UPDATE alert_integrations SET config = $1, updated_at = $2 WHERE id = $3")
            .bind(&config)
            .bind(at)
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
        tx.event(
            "alert_integration",
            id,
            "integration.routes_set",
            json!({"routes": routes}),
        )
        .await?;
        tx.commit().await?;
        self.integration_keys.forget();
        self.get_integration(id).await
    }

    /// Disables an integration: its key stops working at once; its alerts
    /// and incidents stay.
    pub async fn disable_integration(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Integration, StoreError> {
        let before = self.get_integration(id).await?;
        if before.enabled {
            let mut tx = self.write(Some(actor), now).await?;
            let at = tx.now_micros();
            sqlx::query(
                "UPDATE alert_integrations SET disabled_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
            tx.event("alert_integration", id, "integration.disabled", json!({}))
                .await?;
            tx.commit().await?;
            self.integration_keys.forget();
        }
        self.get_integration(id).await
    }
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

/// One alert (one fingerprint of one integration) as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub integration_id: i64,
    /// 16 hex digits: the label set's (or the dedup key's) identity.
    pub fingerprint: String,
    #[schema(value_type = String, example = "alertmanager")]
    pub source: SignalSource,
    /// `firing`, `acknowledged` or `resolved`.
    #[schema(value_type = String, example = "firing")]
    pub status: AlertStatus,
    #[schema(value_type = Object)]
    pub labels: Labels,
    #[schema(value_type = Object)]
    pub annotations: Labels,
    pub summary: String,
    #[schema(value_type = String, example = "critical")]
    pub severity: Severity,
    pub dedup_key: Option<String>,
    pub url: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<ServiceId>,
    /// What its route said: `page`, `ticket_only` or `record_only`.
    #[schema(value_type = String, example = "page")]
    pub action: RouteAction,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    /// Signals applied (new, repeats, state changes).
    pub count: i64,
    /// 1 plus the number of times it fired again after resolving.
    pub occurrences: i64,
    /// Why it paged nobody: `{"kind": "silence", "silence": 3, "until": ...}`,
    /// `maintenance` or `inhibition`; `null` when not suppressed.
    #[schema(value_type = Option<Object>)]
    pub suppressed_by: Option<SuppressedBy>,
    pub flapping: bool,
    #[schema(value_type = Option<i64>)]
    pub incident_id: Option<TicketId>,
    /// The incident's number, e.g. `INC-000042`.
    pub incident_number: Option<String>,
}

pub(crate) const ALERT_COLUMNS: &str = "a.id, a.integration_id, a.fingerprint, a.source, a.status, a.labels, a.annotations, \
    a.summary, a.severity, a.dedup_key, a.url, a.service_id, a.action, a.first_seen, a.last_seen, a.started_at, \
    a.acknowledged_at, a.resolved_at, a.count, a.occurrences, a.suppressed_by, a.flapping, a.incident_id, t.number AS incident_number";

fn json_col<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn alert(row: &AnyRow) -> Result<Alert, StoreError> {
    let source: String = row.try_get("source")?;
    let status: String = row.try_get("status")?;
    let severity: String = row.try_get("severity")?;
    let action: String = row.try_get("action")?;
    let labels: String = row.try_get("labels")?;
    let annotations: String = row.try_get("annotations")?;
    let suppressed: Option<String> = row.try_get("suppressed_by")?;
    Ok(Alert {
        id: row.try_get("id")?,
        integration_id: row.try_get("integration_id")?,
        fingerprint: row.try_get("fingerprint")?,
        source: parse("source", &source)?,
        status: parse("status", &status)?,
        labels: json_col("labels", &labels)?,
        annotations: json_col("annotations", &annotations)?,
        summary: row.try_get("summary")?,
        severity: parse("severity", &severity)?,
        dedup_key: row.try_get("dedup_key")?,
        url: row.try_get("url")?,
        service_id: row.try_get::<Option<i64>, _>("service_id")?.map(ServiceId),
        action: parse("action", &action)?,
        first_seen: ts(row.try_get("first_seen")?)?,
        last_seen: ts(row.try_get("last_seen")?)?,
        started_at: ts(row.try_get("started_at")?)?,
        acknowledged_at: opt_ts(row.try_get("acknowledged_at")?)?,
        resolved_at: opt_ts(row.try_get("resolved_at")?)?,
        count: row.try_get("count")?,
        occurrences: row.try_get("occurrences")?,
        suppressed_by: suppressed
            .map(|s| json_col("suppressed_by", &s))
            .transpose()?,
        flapping: row.try_get::<i64, _>("flapping")? != 0,
        incident_id: row.try_get::<Option<i64>, _>("incident_id")?.map(TicketId),
        incident_number: row.try_get("incident_number")?,
    })
}

/// Which alerts to list; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub service_id: Option<ServiceId>,
    pub integration_id: Option<i64>,
    pub incident_id: Option<TicketId>,
    /// `true`: only suppressed alerts; `false`: only unsuppressed ones.
    pub suppressed: Option<bool>,
    /// Alerts with an id below this (the previous page's last id).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// Alerts newest first (by id), filtered.
    pub async fn list_alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let mut sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN tickets t ON t.id = a.incident_id WHERE 1 = 1"
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if q.status.is_some() {
            sql.push_str(&format!(" AND a.status = ${}", next()));
        }
        if q.service_id.is_some() {
            sql.push_str(&format!(" AND a.service_id = ${}", next()));
        }
        if q.integration_id.is_some() {
            sql.push_str(&format!(" AND a.integration_id = ${}", next()));
        }
        if q.incident_id.is_some() {
            sql.push_str(&format!(" AND a.incident_id = ${}", next()));
        }
        match q.suppressed {
            Some(true) => sql.push_str(" AND a.suppressed_by IS NOT NULL"),
            Some(false) => sql.push_str(" AND a.suppressed_by IS NULL"),
            None => {}
        }
        if q.before_id.is_some() {
            sql.push_str(&format!(" AND a.id < ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY a.id DESC LIMIT ${}", next()));
        let mut query = crate::rows::dynamic_query(&sql);
        if let Some(s) = q.status {
            query = query.bind(s.as_str());
        }
        if let Some(s) = q.service_id {
            query = query.bind(s.0);
        }
        if let Some(i) = q.integration_id {
            query = query.bind(i);
        }
        if let Some(i) = q.incident_id {
            query = query.bind(i.0);
        }
        if let Some(b) = q.before_id {
            query = query.bind(b);
        }
        query = query.bind(q.limit.clamp(1, 1000));
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(alert).collect()
    }

    pub async fn get_alert(&self, id: i64) -> Result<Alert, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN tickets t ON t.id = a.incident_id WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("alert", id))?;
        alert(&row)
    }

    /// A person acknowledges an alert (`opsdesk_domain::alerts::acknowledge`):
    /// a firing alert becomes acknowledged, with an `alert.acknowledged`
    /// event naming who; an acknowledged one stays as it is (a retry is
    /// harmless); a resolved one is a conflict and nothing is written.
    /// Later firing signals are repeats that leave it acknowledged.
    pub async fn acknowledge_alert(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Alert, StoreError> {
        let mut tx = self.write(Some(actor), now).await?;
        let row = sqlx::query("SELECT status, fingerprint FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn().await?)
            .await?
            .ok_or_else(|| StoreError::not_found("alert", id))?;
        let status: String = row.try_get("status")?;
        let fingerprint: String = row.try_get("fingerprint")?;
        let changes = acknowledge(parse("status", &status)?)
            .map_err(|refused| StoreError::Conflict(refused.to_string()))?;
        if changes {
            let at = tx.now_micros();
            sqlx::query(
                "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
            tx.event(
                "alert",
                id,
                "alert.acknowledged",
                json!({"fingerprint": fingerprint}),
            )
            .await?;
            tx.commit().await?;
        }
        self.get_alert(id).await
    }

    /// An incident's alerts, oldest first.
    pub async fn incident_alerts(&self, incident: TicketId) -> Result<Vec<Alert>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN tickets t ON t.id = a.incident_id \
             WHERE a.incident_id = $1 ORDER BY a.id"
        ))
        .bind(incident.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert).collect()
    }
}

// ---------------------------------------------------------------------------
// Silences
// ---------------------------------------------------------------------------

/// A silence as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SilenceRecord {
    pub id: i64,
    /// Alertmanager syntax: `{alertname="DiskFull", env=~"prod|stage"}`.
    #[schema(value_type = String)]
    pub matchers: Matchers,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    pub comment: String,
    /// `pending`, `active` or `expired`, now.
    #[schema(value_type = String, example = "active")]
    pub state: SilenceState,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl SilenceRecord {
    pub fn to_domain(&self) -> Silence {
        Silence {
            id: SilenceId(self.id),
            matchers: self.matchers.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            created_by: self.created_by,
            comment: self.comment.clone(),
        }
    }
}

/// What a caller sends to create or change a silence.
#[derive(Debug, Clone)]
pub struct SilenceInput {
    pub matchers: Matchers,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub comment: String,
}

const SILENCE_COLUMNS: &str =
    "id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at";

fn silence(row: &AnyRow, now: Timestamp) -> Result<SilenceRecord, StoreError> {
    let matchers: String = row.try_get("matchers")?;
    let mut s = SilenceRecord {
        id: row.try_get("id")?,
        matchers: matchers
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("silence matchers: {e}")))?,
        starts_at: ts(row.try_get("starts_at")?)?,
        ends_at: ts(row.try_get("ends_at")?)?,
        created_by: UserId(row.try_get("created_by")?),
        comment: row.try_get("comment")?,
        state: SilenceState::Active,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    };
    s.state = s.to_domain().state(now);
    Ok(s)
}

fn check_silence(input: &SilenceInput, actor: UserId, now: Timestamp) -> Result<(), StoreError> {
    let s = Silence {
        id: SilenceId(0),
        matchers: input.matchers.clone(),
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        created_by: actor,
        comment: input.comment.clone(),
    };
    first_error(validate_silence(&s, now))
}

impl Store {
    pub async fn create_silence(
        &self,
        input: SilenceInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<SilenceRecord, StoreError> {
        check_silence(&input, actor, now)?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        let row = sqlx::query(
            "INSERT INTO alert_silences (matchers, starts_at, ends_at, created_by, comment, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(input.matchers.to_string())
        .bind(input.starts_at.as_microsecond())
        .bind(input.ends_at.as_microsecond())
        .bind(actor.0)
        .bind(&input.comment)
        .bind(at)
        .fetch_one(tx.conn().await?)
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "alert_silence",
            id,
            "silence.created",
            json!({"matchers": input.matchers, "starts_at": input.starts_at,
                   "ends_at": input.ends_at, "comment": input.comment}),
        )
        .await?;
        tx.commit().await?;
        self.get_silence(id, now).await
    }

    pub async fn get_silence(&self, id: i64, now: Timestamp) -> Result<SilenceRecord, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {SILENCE_COLUMNS} FROM alert_silences WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("silence", id))?;
        silence(&row, now)
    }

    /// Silences newest first; `active_only` keeps those active at `now`.
    pub async fn list_silences(
        &self,
        now: Timestamp,
        include_expired: bool,
    ) -> Result<Vec<SilenceRecord>, StoreError> {
        let rows = if include_expired {
            crate::rows::dynamic_query(&format!(
                "SELECT {SILENCE_COLUMNS} FROM alert_silences ORDER BY id DESC"
            ))
            .fetch_all(&self.pool)
            .await?
        } else {
            crate::rows::dynamic_query(&format!(
                "SELECT {SILENCE_COLUMNS} FROM alert_silences WHERE ends_at > $1 ORDER BY id DESC"
            ))
            .bind(now.as_microsecond())
            .fetch_all(&self.pool)
            .await?
        };
        rows.iter().map(|r| silence(r, now)).collect()
    }

    /// Changes a silence that has not expired.
    pub async fn update_silence(
        &self,
        id: i64,
        input: SilenceInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<SilenceRecord, StoreError> {
        let before = self.get_silence(id, now).await?;
        if before.state == SilenceState::Expired {
            return Err(StoreError::Conflict(format!(
                "silence {id} has expired; create a new one"
            )));
        }
        check_silence(&input, actor, now)?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        sqlx::query(
            "UPDATE alert_silences SET matchers = $1, starts_at = $2, ends_at = $3, comment = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(input.matchers.to_string())
        .bind(input.starts_at.as_microsecond())
        .bind(input.ends_at.as_microsecond())
        .bind(&input.comment)
        .bind(at)
        .bind(id)
        .execute(tx.conn().await?)
        .await?;
        tx.event(
            "alert_silence",
            id,
            "silence.updated",
            json!({"matchers": input.matchers, "starts_at": input.starts_at,
                   "ends_at": input.ends_at, "comment": input.comment}),
        )
        .await?;
        tx.commit().await?;
        self.get_silence(id, now).await
    }

    /// Ends a silence now (it stays listed as expired, for the record).
    /// Expiring an expired silence changes nothing.
    pub async fn expire_silence(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<SilenceRecord, StoreError> {
        let before = self.get_silence(id, now).await?;
        if before.state != SilenceState::Expired {
            let mut tx = self.write(Some(actor), now).await?;
            let at = tx.now_micros();
            // A pending silence ends before it began: starts_at moves too.
            sqlx::query(
                "UPDATE alert_silences SET ends_at = $1, starts_at = CASE WHEN starts_at > $1 THEN $1 ELSE starts_at END, \
                 updated_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
            tx.event("alert_silence", id, "silence.expired", json!({}))
                .await?;
            tx.commit().await?;
        }
        self.get_silence(id, now).await
    }

    /// Silences active at `now`, for an intake batch.
    pub(crate) async fn active_silences(&self, now: Timestamp) -> Result<Vec<Silence>, StoreError> {
        let at = now.as_microsecond();
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {SILENCE_COLUMNS} FROM alert_silences WHERE starts_at <= $1 AND ends_at > $1"
        ))
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| silence(r, now).map(|s| s.to_domain()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Maintenance windows
// ---------------------------------------------------------------------------

/// A maintenance window as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MaintenanceWindowRecord {
    pub id: i64,
    #[schema(value_type = i64)]
    pub service_id: ServiceId,
    /// `{"kind": "one_off", "starts_at": ..., "ends_at": ...}` or
    /// `{"kind": "weekly", "time_zone": "Europe/Berlin", "days": ["sunday"], "start": "01:00", "duration": "PT3H"}`.
    #[schema(value_type = Object)]
    pub schedule: MaintenanceSchedule,
    pub comment: String,
    /// Whether it is open now.
    pub active: bool,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct MaintenanceWindowInput {
    pub service_id: ServiceId,
    pub schedule: MaintenanceSchedule,
    pub comment: String,
}

const WINDOW_COLUMNS: &str =
    "id, service_id, schedule, comment, created_by, created_at, updated_at";

fn window(row: &AnyRow, now: Timestamp) -> Result<MaintenanceWindowRecord, StoreError> {
    let schedule: String = row.try_get("schedule")?;
    let schedule: MaintenanceSchedule = json_col("schedule", &schedule)?;
    Ok(MaintenanceWindowRecord {
        id: row.try_get("id")?,
        service_id: ServiceId(row.try_get("service_id")?),
        active: schedule.is_active(now),
        schedule,
        comment: row.try_get("comment")?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

impl MaintenanceWindowRecord {
    pub fn to_domain(&self) -> MaintenanceWindow {
        MaintenanceWindow {
            id: MaintenanceWindowId(self.id),
            service: self.service_id,
            schedule: self.schedule.clone(),
            comment: self.comment.clone(),
        }
    }
}

fn check_window(input: &MaintenanceWindowInput) -> Result<(), StoreError> {
    first_error(validate_maintenance_window(&MaintenanceWindow {
        id: MaintenanceWindowId(0),
        service: input.service_id,
        schedule: input.schedule.clone(),
        comment: input.comment.clone(),
    }))
}

impl Store {
    pub async fn create_maintenance_window(
        &self,
        input: MaintenanceWindowInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<MaintenanceWindowRecord, StoreError> {
        check_window(&input)?;
        check_services(self, vec![("service_id".to_string(), input.service_id)]).await?;
        let schedule = serde_json::to_string(&input.schedule)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        let row = sqlx::query(
            "INSERT INTO maintenance_windows (service_id, schedule, comment, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(input.service_id.0)
        .bind(&schedule)
        .bind(&input.comment)
        .bind(actor.0)
        .bind(at)
        .fetch_one(tx.conn().await?)
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "maintenance_window",
            id,
            "maintenance_window.created",
            json!({"service_id": input.service_id, "schedule": input.schedule, "comment": input.comment}),
        )
        .await?;
        tx.commit().await?;
        self.get_maintenance_window(id, now).await
    }

    pub async fn get_maintenance_window(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<MaintenanceWindowRecord, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("maintenance window", id))?;
        window(&row, now)
    }

    pub async fn list_maintenance_windows(
        &self,
        now: Timestamp,
    ) -> Result<Vec<MaintenanceWindowRecord>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| window(r, now)).collect()
    }

    pub async fn update_maintenance_window(
        &self,
        id: i64,
        input: MaintenanceWindowInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<MaintenanceWindowRecord, StoreError> {
        self.get_maintenance_window(id, now).await?;
        check_window(&input)?;
        check_services(self, vec![("service_id".to_string(), input.service_id)]).await?;
        let schedule = serde_json::to_string(&input.schedule)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        sqlx::query(
            "UPDATE maintenance_windows SET service_id = $1, schedule = $2, comment = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(input.service_id.0)
        .bind(&schedule)
        .bind(&input.comment)
        .bind(at)
        .bind(id)
        .execute(tx.conn().await?)
        .await?;
        tx.event(
            "maintenance_window",
            id,
            "maintenance_window.updated",
            json!({"service_id": input.service_id, "schedule": input.schedule, "comment": input.comment}),
        )
        .await?;
        tx.commit().await?;
        self.get_maintenance_window(id, now).await
    }

    pub async fn delete_maintenance_window(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.get_maintenance_window(id, now).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("DELETE FROM maintenance_windows WHERE id = $1")
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
        tx.event(
            "maintenance_window",
            id,
            "maintenance_window.deleted",
            json!({}),
        )
        .await?;
        tx.commit().await
    }

    pub(crate) async fn all_maintenance_windows(
        &self,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let now = Timestamp::UNIX_EPOCH;
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| window(r, now).map(|w| w.to_domain()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Inhibition rules
// ---------------------------------------------------------------------------

/// An inhibition rule as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InhibitionRuleRecord {
    pub id: i64,
    /// Rules are tried by this, lowest first (ties by id).
    pub order: i64,
    /// The alert that inhibits: `{alertname="NodeDown"}`.
    #[schema(value_type = String)]
    pub source: Matchers,
    /// The alerts it inhibits: `{alertname="ServiceDown"}`.
    #[schema(value_type = String)]
    pub target: Matchers,
    /// Labels that must be equal on both.
    pub equal: Vec<String>,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct InhibitionRuleInput {
    pub order: i64,
    pub rule: InhibitRule,
}

const RULE_COLUMNS: &str = "id, ord, rule, created_by, created_at, updated_at";

fn rule(row: &AnyRow) -> Result<InhibitionRuleRecord, StoreError> {
    let text: String = row.try_get("rule")?;
    let r: InhibitRule = json_col("rule", &text)?;
    Ok(InhibitionRuleRecord {
        id: row.try_get("id")?,
        order: row.try_get("ord")?,
        source: r.source,
        target: r.target,
        equal: r.equal,
        created_by: UserId(row.try_get("created_by")?),
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

impl Store {
    pub async fn create_inhibition_rule(
        &self,
        input: InhibitionRuleInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<InhibitionRuleRecord, StoreError> {
        first_error(validate_inhibit_rule(&input.rule))?;
        let text =
            serde_json::to_string(&input.rule).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        let row = sqlx::query(
            "INSERT INTO inhibition_rules (ord, rule, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(input.order)
        .bind(&text)
        .bind(actor.0)
        .bind(at)
        .fetch_one(tx.conn().await?)
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "inhibition_rule",
            id,
            "inhibition_rule.created",
            json!({"order": input.order, "rule": input.rule}),
        )
        .await?;
        tx.commit().await?;
        self.get_inhibition_rule(id).await
    }

    pub async fn get_inhibition_rule(&self, id: i64) -> Result<InhibitionRuleRecord, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {RULE_COLUMNS} FROM inhibition_rules WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("inhibition rule", id))?;
        rule(&row)
    }

    /// In the order they are tried.
    pub async fn list_inhibition_rules(&self) -> Result<Vec<InhibitionRuleRecord>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {RULE_COLUMNS} FROM inhibition_rules ORDER BY ord, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule).collect()
    }

    pub async fn update_inhibition_rule(
        &self,
        id: i64,
        input: InhibitionRuleInput,
        actor: UserId,
        now: Timestamp,
    ) -> Result<InhibitionRuleRecord, StoreError> {
        self.get_inhibition_rule(id).await?;
        first_error(validate_inhibit_rule(&input.rule))?;
        let text =
            serde_json::to_string(&input.rule).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        sqlx::query(
            "UPDATE inhibition_rules SET ord = $1, rule = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(input.order)
        .bind(&text)
        .bind(at)
        .bind(id)
        .execute(tx.conn().await?)
        .await?;
        tx.event(
            "inhibition_rule",
            id,
            "inhibition_rule.updated",
            json!({"order": input.order, "rule": input.rule}),
        )
        .await?;
        tx.commit().await?;
        self.get_inhibition_rule(id).await
    }

    pub async fn delete_inhibition_rule(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.get_inhibition_rule(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("DELETE FROM inhibition_rules WHERE id = $1")
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
        tx.event("inhibition_rule", id, "inhibition_rule.deleted", json!({}))
            .await?;
        tx.commit().await
    }
}

// ---------------------------------------------------------------------------
// Noise metrics
// ---------------------------------------------------------------------------

/// A service's noise counters over a period of whole UTC days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceNoise {
    #[schema(value_type = i64)]
    pub service_id: ServiceId,
    /// `received`, `deduplicated`, `ignored`, `suppressed`, `flapping`,
    /// `recorded_only`, `grouped`, `incidents_created`, `state_changed`.
    #[schema(value_type = Object)]
    pub counters: NoiseMetrics,
    /// Alerts Alertmanager left out of its webhooks (`truncatedAlerts`).
    pub truncated: i64,
    /// 1 − incidents created / received; `null` before anything arrived.
    pub noise_reduction: Option<f64>,
    pub signals_per_incident: Option<f64>,
}

/// Days since 1970-01-01 (UTC) of an instant.
pub(crate) fn utc_day(t: Timestamp) -> i64 {
    t.as_second().div_euclid(86_400)
}

impl Store {
    /// Noise counters per service over `[from, to)` (whole UTC days that
    /// contain them), every service that received something.
    pub async fn noise_metrics(
        &self,
        service: Option<ServiceId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ServiceNoise>, StoreError> {
        let rows = sqlx::query(
            "SELECT service_id, CAST(SUM(received) AS BIGINT) AS received, CAST(SUM(deduplicated) AS BIGINT) AS deduplicated, \
             CAST(SUM(ignored) AS BIGINT) AS ignored, CAST(SUM(suppressed) AS BIGINT) AS suppressed, \
             CAST(SUM(flapping) AS BIGINT) AS flapping, CAST(SUM(recorded_only) AS BIGINT) AS recorded_only, \
             CAST(SUM(grouped) AS BIGINT) AS grouped, CAST(SUM(incidents_created) AS BIGINT) AS incidents_created, \
             CAST(SUM(state_changed) AS BIGINT) AS state_changed, CAST(SUM(truncated) AS BIGINT) AS truncated FROM alert_noise \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR service_id = $3) GROUP BY service_id ORDER BY service_id",
        )
        .bind(utc_day(from))
        .bind(utc_day(to))
        .bind(service.map(|s| s.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                // SUM is NUMERIC on PostgreSQL: the casts above make it BIGINT.
                let n = |c: &str| -> Result<u64, StoreError> {
                    let v: i64 = r.try_get(c)?;
                    Ok(u64::try_from(v).unwrap_or(0))
                };
                let counters = NoiseMetrics {
                    received: n("received")?,
                    deduplicated: n("deduplicated")?,
                    ignored: n("ignored")?,
                    suppressed: n("suppressed")?,
                    flapping: n("flapping")?,
                    recorded_only: n("recorded_only")?,
                    grouped: n("grouped")?,
                    incidents_created: n("incidents_created")?,
                    state_changed: n("state_changed")?,
                };
                Ok(ServiceNoise {
                    service_id: ServiceId(r.try_get("service_id")?),
                    noise_reduction: counters.noise_reduction(),
                    signals_per_incident: counters.signals_per_incident(),
                    counters,
                    truncated: r.try_get("truncated")?,
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Heartbeat monitors
// ---------------------------------------------------------------------------

/// Shortest and longest heartbeat interval, in seconds.
pub const HEARTBEAT_INTERVAL_SECONDS: std::ops::RangeInclusive<i64> = 10..=7 * 24 * 3600;

/// A heartbeat monitor as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Heartbeat {
    pub id: i64,
    pub integration_id: i64,
    /// Unique per integration; the ping path and the alert's `heartbeat` label.
    pub name: String,
    pub interval_seconds: i64,
    #[schema(value_type = String, format = DateTime)]
    pub last_ping_at: Timestamp,
    /// When the next ping is due at the latest.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// Set while a missed ping's alert is firing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub missed_at: Option<Timestamp>,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

const HEARTBEAT_COLUMNS: &str = "id, integration_id, name, interval_seconds, last_ping_at, due_at, missed_at, created_by, created_at";

fn heartbeat(row: &AnyRow) -> Result<Heartbeat, StoreError> {
    Ok(Heartbeat {
        id: row.try_get("id")?,
        integration_id: row.try_get("integration_id")?,
        name: row.try_get("name")?,
        interval_seconds: row.try_get("interval_seconds")?,
        last_ping_at: ts(row.try_get("last_ping_at")?)?,
        due_at: ts(row.try_get("due_at")?)?,
        missed_at: opt_ts(row.try_get("missed_at")?)?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// The alert a heartbeat raises: identified by its integration's
/// fingerprint scope and these labels.
fn heartbeat_signal(
    name: &str,
    interval: i64,
    status: AlertStatus,
    at: Timestamp,
) -> opsdesk_domain::alerts::AlertSignal {
    let labels: Labels = [
        ("alertname".to_string(), "HeartbeatMissed".to_string()),
        ("heartbeat".to_string(), name.to_string()),
    ]
    .into();
    opsdesk_domain::alerts::AlertSignal {
        source: SignalSource::Generic,
        status,
        labels: labels.into(),
        annotations: Default::default(),
        starts_at: (status == AlertStatus::Firing).then_some(at),
        ends_at: (status == AlertStatus::Resolved).then_some(at),
        dedup_key: None,
        summary: format!("No heartbeat from {name} for {interval} s"),
        severity: Severity::Error,
        url: None,
    }
}

impl Store {
    /// Creates a heartbeat monitor; its first ping is due one interval from now.
    pub async fn create_heartbeat(
        &self,
        integration_id: i64,
        name: &str,
        interval_seconds: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<Heartbeat, StoreError> {
        check_short_text("name", name)?;
        if !opsdesk_domain::alerts::limits::is_label_name(name) {
            // Also a URL path segment and a label value: keep it plain.
            return Err(StoreError::invalid(
                "name",
                "use letters, digits and _ only, starting with a letter or _",
            ));
        }
        if !HEARTBEAT_INTERVAL_SECONDS.contains(&interval_seconds) {
            return Err(StoreError::invalid(
                "interval_seconds",
                format!(
                    "must be between {} and {}",
                    HEARTBEAT_INTERVAL_SECONDS.start(),
                    HEARTBEAT_INTERVAL_SECONDS.end()
                ),
            ));
        }
        self.get_integration(integration_id).await.map_err(|_| {
            StoreError::invalid(
                "integration_id",
                format!("integration {integration_id} does not exist"),
            )
        })?;
        let mut tx = self.write(Some(actor), now).await?;
        let at = tx.now_micros();
        let row = sqlx::query(
            "INSERT INTO alert_heartbeats (integration_id, name, interval_seconds, last_ping_at, due_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $4) RETURNING id",
        )
        .bind(integration_id)
        .bind(name)
        .bind(interval_seconds)
        .bind(at)
        .bind(at + interval_seconds * 1_000_000)
        .bind(actor.0)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| name_conflict(e.into(), "a heartbeat of this integration named", name))?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            "alert_heartbeat",
            id,
            "heartbeat.created",
            json!({"integration_id": integration_id, "name": name, "interval_seconds": interval_seconds}),
        )
        .await?;
        tx.commit().await?;
        self.get_heartbeat(id).await
    }

    pub async fn get_heartbeat(&self, id: i64) -> Result<Heartbeat, StoreError> {
        let row = crate::rows::dynamic_query(&format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM alert_heartbeats WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("heartbeat", id))?;
        heartbeat(&row)
    }

    pub async fn list_heartbeats(&self) -> Result<Vec<Heartbeat>, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM alert_heartbeats ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(heartbeat).collect()
    }

    pub async fn delete_heartbeat(
        &self,
        id: i64,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.get_heartbeat(id).await?;
        let mut tx = self.write(Some(actor), now).await?;
        sqlx::query("DELETE FROM alert_heartbeats WHERE id = $1")
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
        tx.event("alert_heartbeat", id, "heartbeat.deleted", json!({}))
            .await?;
        tx.commit().await
    }

    /// A ping of heartbeat `name` of `integration`: the next one is due an
    /// interval from now, and a missed-heartbeat alert resolves.
    ///
    /// The resolve is stored before the miss is cleared, so a crash in
    /// between leaves the miss standing and the next ping resolves again (a
    /// repeat). The clear only applies if the miss state is still what this
    /// ping saw; if a check claimed a miss meanwhile, the ping starts over
    /// and resolves that one too.
    pub async fn ping_heartbeat(
        &self,
        integration: &Integration,
        name: &str,
        now: Timestamp,
    ) -> Result<Heartbeat, StoreError> {
        loop {
            let row = crate::rows::dynamic_query(&format!(
                "SELECT {HEARTBEAT_COLUMNS} FROM alert_heartbeats WHERE integration_id = $1 AND name = $2"
            ))
            .bind(integration.id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("heartbeat", name))?;
            let hb = heartbeat(&row)?;
            if hb.missed_at.is_some() {
                let signal =
                    heartbeat_signal(name, hb.interval_seconds, AlertStatus::Resolved, now);
                self.ingest_alerts(
                    integration,
                    IntakeBatch {
                        signals: vec![signal],
                        truncated: 0,
                    },
                    now,
                )
                .await?;
            }
            let mut tx = self.write(None, now).await?;
            let at = tx.now_micros();
            let cleared = sqlx::query(
                "UPDATE alert_heartbeats SET last_ping_at = $1, due_at = $2, missed_at = NULL \
                 WHERE id = $3 AND COALESCE(missed_at, -1) = $4",
            )
            .bind(at)
            .bind(at + hb.interval_seconds * 1_000_000)
            .bind(hb.id)
            .bind(hb.missed_at.map_or(-1, |m| m.as_microsecond()))
            .execute(tx.conn().await?)
            .await?
            .rows_affected();
            tx.commit().await?;
            if cleared == 1 {
                return self.get_heartbeat(hb.id).await;
            }
        }
    }

    /// Raises an alert for every heartbeat whose ping is overdue at `now`
    /// (once per miss; the alert starts at the instant the ping fell due).
    ///
    /// The alert is stored before the miss is claimed, so a crash in between
    /// leaves the miss unclaimed and the next pass raises it again: a repeat
    /// of the same alert (same fingerprint), never a lost one. Several nodes
    /// may raise one miss; the second raise is a repeat, and only one claim
    /// succeeds. A ping landing between the raise and the claim makes the
    /// claim fail; the raise is then resolved here.
    /// Returns how many misses this call claimed.
    pub async fn check_heartbeats(&self, now: Timestamp) -> Result<usize, StoreError> {
        let rows = crate::rows::dynamic_query(&format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM alert_heartbeats WHERE missed_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 500"
        ))
        .bind(now.as_microsecond())
        .fetch_all(&self.pool)
        .await?;
        let mut raised = 0;
        for row in rows {
            let hb = heartbeat(&row)?;
            let integration = match self.get_integration(hb.integration_id).await {
                Ok(i) if i.enabled => Some(i),
                // A disabled integration raises nothing; its misses are
                // still claimed so they are not looked at every pass.
                _ => None,
            };
            let raise = |status, at| IntakeBatch {
                signals: vec![heartbeat_signal(&hb.name, hb.interval_seconds, status, at)],
                truncated: 0,
            };
            if let Some(integration) = &integration {
                self.ingest_alerts(integration, raise(AlertStatus::Firing, hb.due_at), now)
                    .await?;
            }
            let mut tx = self.write(None, now).await?;
            let claimed = sqlx::query(
                "UPDATE alert_heartbeats SET missed_at = $1 WHERE id = $2 AND missed_at IS NULL AND due_at = $3",
            )
            .bind(hb.due_at.as_microsecond())
            .bind(hb.id)
            .bind(hb.due_at.as_microsecond())
            .execute(tx.conn().await?)
            .await?
            .rows_affected();
            tx.commit().await?;
            let Some(integration) = integration else {
                continue;
            };
            if claimed == 1 {
                raised += 1;
                continue;
            }
            // Not ours to claim: another node claimed this miss (our raise
            // was a repeat of its alert), or a ping came after our raise.
            let pinged = match self.get_heartbeat(hb.id).await {
                Ok(current) => current.missed_at.is_none(),
                // Deleted meanwhile: its alert resolves with it.
                Err(StoreError::NotFound { .. }) => true,
                Err(e) => return Err(e),
            };
            if pinged {
                self.ingest_alerts(&integration, raise(AlertStatus::Resolved, now), now)
                    .await?;
            }
        }
        Ok(raised)
    }
}
