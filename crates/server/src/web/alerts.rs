//! The agent-facing alerts section: the alert list with a noise panel per
//! service, silences, maintenance windows and inhibition rules.
//!
//! Every list and every change is the REST handler of the same thing
//! ([`crate::routes::alerts`]), called as a function: agents read, managers
//! change, and validation (matchers, times, schedules) is the API's. Forms
//! only turn what a browser sends into the API's JSON (a duration picked
//! from a list into an end time, a `datetime-local` value read as UTC).

use super::view::{Nav, Opt, iso, label, when};
use super::{FormPairs, Web, WebError, WebForm, api_body, html, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::alerts as api;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::alerts::{MaintenanceSchedule, SuppressedBy};
use opsdesk_domain::{Permission, ServiceId, UserId};
use opsdesk_store::alerts::Alert;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Alerts per page of the list.
const PAGE_SIZE: i64 = 50;

/// The filters of the alert list, passed on to the API's list parser.
const FILTERS: [&str; 5] = [
    "status",
    "service_id",
    "suppressed",
    "integration_id",
    "incident_id",
];

/// How long a silence made from the form lasts: (seconds, label).
const SILENCE_DURATIONS: [(i64, &str); 8] = [
    (1800, "30 minutes"),
    (3600, "1 hour"),
    (7200, "2 hours"),
    (14_400, "4 hours"),
    (28_800, "8 hours"),
    (86_400, "1 day"),
    (259_200, "3 days"),
    (604_800, "7 days"),
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[derive(Debug)]
pub struct AlertRow {
    pub id: i64,
    pub status: &'static str,
    pub severity: &'static str,
    pub service: String,
    pub summary: String,
    pub labels: String,
    pub count: i64,
    pub last_seen: String,
    pub last_seen_iso: String,
    pub suppressed: String,
    pub suppressed_href: Option<String>,
    pub flapping: bool,
    /// (number, link) of the incident the alert belongs to.
    pub incident: Option<(String, String)>,
    pub url: Option<String>,
}

#[derive(Debug)]
pub struct NoiseRow {
    pub service: String,
    pub received: u64,
    pub deduplicated: u64,
    pub suppressed: u64,
    pub flapping: u64,
    pub grouped: u64,
    pub incidents: u64,
    pub reduction: String,
}

#[derive(Debug)]
pub struct SilenceRow {
    pub id: i64,
    pub matchers: String,
    pub state: &'static str,
    pub starts: String,
    pub ends: String,
    pub comment: String,
    pub creator: String,
    pub expired: bool,
}

#[derive(Debug)]
pub struct WindowRow {
    pub id: i64,
    pub service: String,
    pub schedule: String,
    pub active: bool,
    pub comment: String,
}

#[derive(Debug)]
pub struct RuleRow {
    pub id: i64,
    pub order: i64,
    pub source: String,
    pub target: String,
    pub equal: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    title: &'static str,
    nav: Nav,
    /// `alerts`, `silences`, `maintenance` or `inhibitions`.
    page: &'static str,
    can_manage: bool,
    alerts: Vec<AlertRow>,
    statuses: Vec<Opt>,
    service_filter: Vec<Opt>,
    suppression: Vec<Opt>,
    older_href: Option<String>,
    newest_href: Option<String>,
    /// The incident (ticket id) the list is narrowed to, if any.
    incident_filter: String,
    noise: Vec<NoiseRow>,
    silences: Vec<SilenceRow>,
    show_expired: bool,
    durations: Vec<Opt>,
    windows: Vec<WindowRow>,
    service_options: Vec<Opt>,
    weekdays: Vec<Opt>,
    rules: Vec<RuleRow>,
    error: Option<String>,
    /// Which form the error belongs to.
    error_form: String,
    values: FormPairs,
}

impl AlertsPage {
    /// The value the user typed into `name` of the refused form `form`.
    fn again(&self, form: &str, name: &str) -> String {
        if self.error_form == form {
            self.values.value(name).to_string()
        } else {
            String::new()
        }
    }

    fn again_or(&self, form: &str, name: &str, default: &str) -> String {
        if self.error_form == form {
            self.values.value(name).to_string()
        } else {
            default.to_string()
        }
    }

    fn day_checked(&self, day: &str) -> bool {
        self.error_form == "window" && self.values.values("days").any(|d| d == day)
    }
}

/// `alertname=X host=nas-1 …`, sorted by name, cut to a readable length.
fn labels_summary(a: &Alert) -> String {
    let mut s = String::new();
    for (k, v) in a.labels.iter() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&format!("{k}={v}"));
        if s.chars().count() > 120 {
            let cut: String = s.chars().take(119).collect();
            return format!("{cut}…");
        }
    }
    s
}

/// What suppressed an alert, and where to see it.
fn suppressed_text(s: &Option<SuppressedBy>) -> (String, Option<String>) {
    match s {
        None => (String::new(), None),
        Some(SuppressedBy::Silence { silence, until }) => (
            format!("Silence #{} until {}", silence.0, when(*until)),
            // Expired silences are listed only with expired=true.
            Some(format!(
                "/alerts/silences?expired=true#silence-{}",
                silence.0
            )),
        ),
        Some(SuppressedBy::Maintenance { window, until }) => (
            format!("Maintenance #{} until {}", window.0, when(*until)),
            Some(format!("/alerts/maintenance#window-{}", window.0)),
        ),
        Some(SuppressedBy::Inhibition { source, .. }) => {
            (format!("Inhibited by alert {source}"), None)
        }
    }
}

fn weekday_name(d: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match d {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

fn schedule_text(s: &MaintenanceSchedule) -> String {
    match s {
        MaintenanceSchedule::OneOff { starts_at, ends_at } => {
            format!("{} to {}", when(*starts_at), when(*ends_at))
        }
        MaintenanceSchedule::Weekly {
            time_zone,
            days,
            start,
            duration,
        } => {
            let days: Vec<&str> = days.iter().map(|d| weekday_name(*d)).collect();
            format!(
                "Every {} at {} ({time_zone}) for {}",
                days.join(", "),
                start.strftime("%H:%M"),
                duration_words(*duration)
            )
        }
    }
}

/// "3 h", "1 h 30 min", "45 min".
fn duration_words(d: SignedDuration) -> String {
    let mins = d.as_secs() / 60;
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A time from a form: RFC 3339 as is; a `datetime-local` value
/// (`2026-12-01T22:00`) read as UTC; anything else passed on for the API to
/// refuse by name.
fn form_time(v: &str) -> String {
    let v = v.trim();
    if v.parse::<Timestamp>().is_ok() {
        return v.to_string();
    }
    match v.parse::<jiff::civil::DateTime>() {
        Ok(dt) => jiff::tz::Offset::UTC
            .to_timestamp(dt)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| v.to_string()),
        Err(_) => v.to_string(),
    }
}

async fn service_names(state: &AppState) -> Result<HashMap<ServiceId, String>, WebError> {
    Ok(state
        .store
        .list_services()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

fn service_name(names: &HashMap<ServiceId, String>, id: Option<ServiceId>) -> String {
    match id {
        None => String::new(),
        Some(id) => names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("service {}", id.0)),
    }
}

/// The first value of a query parameter, or "".
fn first<'a>(q: &'a HashMap<String, String>, name: &str) -> &'a str {
    q.get(name).map(String::as_str).unwrap_or("")
}

/// The page without its lists (each page fills its own).
fn empty(web: &Web, page: &'static str, notice: Option<&str>) -> AlertsPage {
    let title = match page {
        "silences" => "Silences",
        "maintenance" => "Maintenance windows",
        "inhibitions" => "Inhibition rules",
        _ => "Alerts",
    };
    AlertsPage {
        title,
        nav: web.nav("alerts").with_notice(notice),
        page,
        can_manage: web.auth.actor.can(Permission::ManageTeamsAndServices),
        alerts: vec![],
        statuses: vec![],
        service_filter: vec![],
        suppression: vec![],
        older_href: None,
        newest_href: None,
        incident_filter: String::new(),
        noise: vec![],
        silences: vec![],
        show_expired: false,
        durations: vec![],
        windows: vec![],
        service_options: vec![],
        weekdays: vec![],
        rules: vec![],
        error: None,
        error_form: String::new(),
        values: FormPairs::default(),
    }
}

/// One alert as a row of a list (the alert list, an incident's page).
fn alert_row(a: &Alert, services: &HashMap<ServiceId, String>) -> AlertRow {
    let (suppressed, suppressed_href) = suppressed_text(&a.suppressed_by);
    AlertRow {
        id: a.id,
        status: a.status.as_str(),
        severity: a.severity.as_str(),
        service: service_name(services, a.service_id),
        summary: a.summary.clone(),
        labels: labels_summary(a),
        count: a.count,
        last_seen: when(a.last_seen),
        last_seen_iso: iso(a.last_seen),
        suppressed,
        suppressed_href,
        flapping: a.flapping,
        incident: a
            .incident_number
            .as_ref()
            .map(|n| (n.clone(), format!("/tickets/{n}"))),
        url: a
            .url
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
    }
}

/// Alerts shown on an incident's page; the rest are a link away.
const INCIDENT_PAGE_ALERTS: i64 = 50;

/// The newest alerts of an incident, for its page (desk roles only: the
/// API refuses anyone else), and whether it has more.
pub(super) async fn incident_alerts(
    state: &AppState,
    web: &Web,
    incident: opsdesk_domain::TicketId,
) -> Result<(Vec<AlertRow>, bool), WebError> {
    let params = HashMap::from([
        ("incident_id".to_string(), incident.0.to_string()),
        ("limit".to_string(), (INCIDENT_PAGE_ALERTS + 1).to_string()),
    ]);
    let Json(list) =
        api::list_alerts(State(state.clone()), web.auth.clone(), Query(params)).await?;
    let more = list.alerts.len() as i64 > INCIDENT_PAGE_ALERTS;
    let services = service_names(state).await?;
    let rows = list
        .alerts
        .iter()
        .take(INCIDENT_PAGE_ALERTS as usize)
        .map(|a| alert_row(a, &services))
        .collect();
    Ok((rows, more))
}

/// Builds one page of the section from the API's lists; `q` is the query
/// string of a GET (filters, `expired`).
async fn build(
    state: &AppState,
    web: &Web,
    page: &'static str,
    q: &HashMap<String, String>,
) -> Result<AlertsPage, WebError> {
    let mut out = empty(web, page, q.get("notice").map(String::as_str));
    let services = service_names(state).await?;
    let mut sorted: Vec<(&ServiceId, &String)> = services.iter().collect();
    sorted.sort_by_key(|a| a.1.to_lowercase());
    match page {
        "alerts" => {
            let mut params: HashMap<String, String> = FILTERS
                .iter()
                .map(|f| (f.to_string(), first(q, f).to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let before = first(q, "before_id");
            if !before.is_empty() {
                params.insert("before_id".into(), before.to_string());
            }
            params.insert("limit".into(), PAGE_SIZE.to_string());
            let Json(list) =
                api::list_alerts(State(state.clone()), web.auth.clone(), Query(params)).await?;
            let mut noise_params = HashMap::new();
            if !first(q, "service_id").is_empty() {
                noise_params.insert("service_id".to_string(), first(q, "service_id").to_string());
            }
            let Json(noise) =
                api::noise(State(state.clone()), web.auth.clone(), Query(noise_params)).await?;
            out.alerts = list
                .alerts
                .iter()
                .map(|a| alert_row(a, &services))
                .collect();
            out.incident_filter = first(q, "incident_id").to_string();
            out.noise = noise
                .iter()
                .map(|n| NoiseRow {
                    service: service_name(&services, Some(n.service_id)),
                    received: n.counters.received,
                    deduplicated: n.counters.deduplicated,
                    suppressed: n.counters.suppressed,
                    flapping: n.counters.flapping,
                    grouped: n.counters.grouped,
                    incidents: n.counters.incidents_created,
                    reduction: n
                        .noise_reduction
                        .map(|r| format!("{:.0}%", r * 100.0))
                        .unwrap_or_default(),
                })
                .collect();
            let chosen = |name: &str, v: &str| first(q, name) == v;
            out.statuses = std::iter::once(Opt::new("", "Any status", chosen("status", "")))
                .chain(
                    ["firing", "acknowledged", "resolved"]
                        .into_iter()
                        .map(|s| Opt::new(s, label(s), chosen("status", s))),
                )
                .collect();
            out.service_filter =
                std::iter::once(Opt::new("", "Any service", chosen("service_id", "")))
                    .chain(sorted.iter().map(|(id, name)| {
                        let v = id.0.to_string();
                        let sel = chosen("service_id", &v);
                        Opt::new(v, (*name).clone(), sel)
                    }))
                    .collect();
            out.suppression = vec![
                Opt::new("", "Suppressed or not", chosen("suppressed", "")),
                Opt::new("true", "Suppressed only", chosen("suppressed", "true")),
                Opt::new("false", "Not suppressed", chosen("suppressed", "false")),
            ];
            let keep: Vec<(&str, &str)> = FILTERS
                .iter()
                .map(|f| (*f, first(q, f)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let with = |extra: Option<(&str, String)>| {
                let mut pairs: Vec<(&str, String)> =
                    keep.iter().map(|(k, v)| (*k, v.to_string())).collect();
                pairs.extend(extra);
                let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                if qs.is_empty() {
                    "/alerts".to_string()
                } else {
                    format!("/alerts?{qs}")
                }
            };
            out.older_href = list
                .next_before_id
                .map(|b| with(Some(("before_id", b.to_string()))));
            out.newest_href = (!before.is_empty()).then(|| with(None));
        }
        "silences" => {
            out.show_expired = first(q, "expired") == "true";
            let mut params = HashMap::new();
            if out.show_expired {
                params.insert("expired".to_string(), "true".to_string());
            }
            let Json(list) =
                api::list_silences(State(state.clone()), web.auth.clone(), Query(params)).await?;
            let users = state.store.list_users().await?;
            let name_of = |id: UserId| {
                users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| u.display_name.clone())
                    .unwrap_or_else(|| format!("user {}", id.0))
            };
            out.silences = list
                .iter()
                .map(|s| SilenceRow {
                    id: s.id,
                    matchers: s.matchers.to_string(),
                    state: s.state.as_str(),
                    starts: when(s.starts_at),
                    ends: when(s.ends_at),
                    comment: s.comment.clone(),
                    creator: name_of(s.created_by),
                    expired: s.state.as_str() == "expired",
                })
                .collect();
        }
        "maintenance" => {
            let Json(list) = api::list_windows(State(state.clone()), web.auth.clone()).await?;
            out.windows = list
                .iter()
                .map(|w| WindowRow {
                    id: w.id,
                    service: service_name(&services, Some(w.service_id)),
                    schedule: schedule_text(&w.schedule),
                    active: w.active,
                    comment: w.comment.clone(),
                })
                .collect();
        }
        "inhibitions" => {
            let Json(list) = api::list_rules(State(state.clone()), web.auth.clone()).await?;
            out.rules = list
                .iter()
                .map(|r| RuleRow {
                    id: r.id,
                    order: r.order,
                    source: r.source.to_string(),
                    target: r.target.to_string(),
                    equal: r.equal.join(", "),
                })
                .collect();
        }
        _ => {}
    }
    out.durations = SILENCE_DURATIONS
        .iter()
        .map(|(secs, name)| Opt::new(secs.to_string(), *name, *secs == 7200))
        .collect();
    out.service_options = sorted
        .iter()
        .map(|(id, name)| Opt::new(id.0.to_string(), (*name).clone(), false))
        .collect();
    out.weekdays = WEEKDAYS
        .iter()
        .map(|d| Opt::new(*d, label(d), false))
        .collect();
    Ok(out)
}

async fn show(
    state: &AppState,
    web: Web,
    page: &'static str,
    q: HashMap<String, String>,
) -> Result<Response, WebError> {
    let p = build(state, &web, page, &q)
        .await
        .map_err(|e| e.with_nav(&web))?;
    Ok(html(StatusCode::OK, &p))
}

pub async fn alerts(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "alerts", q).await
}

pub async fn silences(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "silences", q).await
}

pub async fn windows(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "maintenance", q).await
}

pub async fn rules(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "inhibitions", q).await
}

/// Runs a change; redirects back with a notice on success, re-renders the
/// page with the reason next to the form and the input kept on refusal.
async fn change(
    state: &AppState,
    web: Web,
    f: FormPairs,
    page: &'static str,
    form: &str,
    notice: &str,
    result: Result<(), ApiError>,
) -> Result<Response, WebError> {
    let path = match page {
        "alerts" => "/alerts",
        "silences" => "/alerts/silences",
        "maintenance" => "/alerts/maintenance",
        _ => "/alerts/inhibitions",
    };
    match result {
        Ok(()) => Ok(see_other(&format!("{path}?notice={notice}"))),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
            Err(WebError::from(e).with_nav(&web))
        }
        Err(e) => {
            let mut p = build(state, &web, page, &HashMap::new())
                .await
                .map_err(|e| e.with_nav(&web))?;
            p.error = Some(super::message(&e));
            p.error_form = form.to_string();
            p.values = f;
            Ok(html(e.status, &p))
        }
    }
}

/// The silence form as the API's body: the end is the chosen end time or
/// the start (or now) plus the chosen duration.
fn silence_body(f: &FormPairs, now: Timestamp) -> Value {
    let starts = f.value("starts_at").trim();
    let mut body = json!({
        "matchers": f.value("matchers"),
        "comment": f.value("comment").trim(),
    });
    // Sent even when it is now, so the silence lasts exactly what was picked.
    let start = if starts.is_empty() {
        body["starts_at"] = Value::from(now.to_string());
        now
    } else {
        body["starts_at"] = Value::from(form_time(starts));
        form_time(starts).parse().unwrap_or(now)
    };
    let ends = f.value("ends_at").trim();
    body["ends_at"] = if ends.is_empty() {
        let secs = f.value("duration").parse::<i64>().unwrap_or(7200);
        Value::from(
            start
                .checked_add(SignedDuration::from_secs(secs))
                .unwrap_or(start)
                .to_string(),
        )
    } else {
        Value::from(form_time(ends))
    };
    body
}

pub async fn create_silence(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(silence_body(&f, Timestamp::now()))?;
        let _ = api::create_silence(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "silences", "silence", "silenced", r).await
}

/// The Acknowledge button of a firing alert in the list.
pub async fn acknowledge_alert(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = api::acknowledge_alert(State(state.clone()), web.auth.clone(), Path(id))
        .await
        .map(|_| ());
    change(&state, web, f, "alerts", "alert-row", "acknowledged", r).await
}

pub async fn expire_silence(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = api::expire_silence(State(state.clone()), web.auth.clone(), Path(id))
        .await
        .map(|_| ());
    change(&state, web, f, "silences", "silence-row", "unsilenced", r).await
}

/// The window form as the API's body: one-off times read as UTC, or a
/// weekly schedule with its days and a duration in hours.
fn window_body(f: &FormPairs, now: Timestamp) -> Value {
    let service: Value = f
        .value("service_id")
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(f.value("service_id")));
    let schedule = if f.value("kind") == "weekly" {
        let hours = f.value("duration_hours").trim();
        let duration = match hours.parse::<f64>() {
            Ok(h) if h.is_finite() => format!("PT{}M", (h * 60.0).round() as i64),
            _ => hours.to_string(),
        };
        json!({
            "kind": "weekly",
            "time_zone": f.value("time_zone").trim(),
            "days": f.values("days").collect::<Vec<_>>(),
            "start": f.value("start").trim(),
            "duration": duration,
        })
    } else {
        let starts = f.value("starts_at").trim();
        json!({
            "kind": "one_off",
            "starts_at": if starts.is_empty() { now.to_string() } else { form_time(starts) },
            "ends_at": form_time(f.value("ends_at")),
        })
    };
    json!({"service_id": service, "schedule": schedule, "comment": f.value("comment").trim()})
}

pub async fn create_window(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(window_body(&f, Timestamp::now()))?;
        let _ = api::create_window(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "maintenance", "window", "window_created", r).await
}

pub async fn delete_window(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = api::delete_window(State(state.clone()), web.auth.clone(), Path(id))
        .await
        .map(|_| ());
    change(&state, web, f, "maintenance", "window-row", "deleted", r).await
}

fn rule_body(f: &FormPairs) -> Value {
    let order = f.value("order").trim();
    let order = if order.is_empty() {
        Value::from(0)
    } else {
        order
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(order))
    };
    let equal: Vec<&str> = f
        .value("equal")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    json!({"order": order, "source": f.value("source"), "target": f.value("target"), "equal": equal})
}

pub async fn create_rule(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(rule_body(&f))?;
        let _ = api::create_rule(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "inhibitions", "rule", "rule_created", r).await
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = api::delete_rule(State(state.clone()), web.auth.clone(), Path(id))
        .await
        .map(|_| ());
    change(&state, web, f, "inhibitions", "rule-row", "deleted", r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_utc() {
        assert_eq!(form_time("2026-12-01T22:00"), "2026-12-01T22:00:00Z");
        assert_eq!(
            form_time("2026-12-01T22:00:00+01:00"),
            "2026-12-01T22:00:00+01:00"
        );
        assert_eq!(form_time("tomorrow"), "tomorrow");
    }

    #[test]
    fn silences_end_after_the_chosen_duration() {
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().expect("time");
        let b = silence_body(
            &FormPairs::of(&[
                ("matchers", "a=\"b\""),
                ("duration", "3600"),
                ("comment", " c "),
            ]),
            now,
        );
        assert_eq!(
            b,
            json!({"matchers": "a=\"b\"", "comment": "c",
                   "starts_at": "2026-11-30T10:00:00Z", "ends_at": "2026-11-30T11:00:00Z"})
        );
        let b = silence_body(
            &FormPairs::of(&[
                ("matchers", "a=\"b\""),
                ("starts_at", "2026-12-01T08:00"),
                ("duration", "1800"),
            ]),
            now,
        );
        assert_eq!(b["starts_at"], "2026-12-01T08:00:00Z");
        assert_eq!(b["ends_at"], "2026-12-01T08:30:00Z");
    }

    #[test]
    fn weekly_windows_take_hours() {
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().expect("time");
        let b = window_body(
            &FormPairs::of(&[
                ("service_id", "3"),
                ("kind", "weekly"),
                ("time_zone", "Europe/Berlin"),
                ("days", "sunday"),
                ("days", "saturday"),
                ("start", "01:00"),
                ("duration_hours", "1.5"),
            ]),
            now,
        );
        assert_eq!(b["service_id"], 3);
        assert_eq!(b["schedule"]["days"], json!(["sunday", "saturday"]));
        assert_eq!(b["schedule"]["duration"], "PT90M");
        let r = rule_body(&FormPairs::of(&[
            ("source", "a=\"b\""),
            ("target", "c=\"d\""),
            ("equal", "x, y,"),
        ]));
        assert_eq!(r["equal"], json!(["x", "y"]));
        assert_eq!(r["order"], 0);
    }
}
