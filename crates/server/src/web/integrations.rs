//! The integrations and heartbeats pages of the alerts section: the
//! integrations with their keys' prefixes, a new integration's key shown
//! once, an integration's routing rules (readable, in the order they are
//! tried, and an editor with one fieldset per rule), and heartbeat monitors.
//!
//! As in [`super::alerts`], every list and change is the REST handler of the
//! same thing ([`crate::routes::alerts`]) called as a function: agents read,
//! managers change, and the API validates (matchers, services, the order of
//! catch-all routes, grouping). The forms only turn what a browser sends into
//! the API's JSON.

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
use opsdesk_domain::alerts::{GroupBy, Route, RouteAction, Severity, UrgencyMap};
use opsdesk_domain::{Impact, Permission, ServiceId, Urgency};
use opsdesk_store::alerts::{Heartbeat, Integration};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The API's limit on routes per integration; the editor reads no more rows
/// than this plus its blank one.
const MAX_ROUTE_ROWS: usize = 257;

/// Units of the heartbeat interval field: (seconds, label).
const INTERVAL_UNITS: [(i64, &str); 4] = [
    (1, "seconds"),
    (60, "minutes"),
    (3600, "hours"),
    (86_400, "days"),
];

/// An integration as a row of the list.
#[derive(Debug)]
pub struct IntegrationRow {
    pub id: i64,
    pub name: String,
    pub service: String,
    pub key_prefix: String,
    pub action: String,
    pub routes: usize,
    pub enabled: bool,
}

/// The key of an integration made just now: shown this once.
#[derive(Debug)]
pub struct CreatedKey {
    pub name: String,
    pub key: String,
    pub alertmanager_path: String,
    pub generic_path: String,
}

/// One integration's settings, for its page.
#[derive(Debug)]
pub struct IntegrationView {
    pub id: i64,
    pub name: String,
    pub service: String,
    pub key_prefix: String,
    pub enabled: bool,
    pub created: String,
    /// The fallback (what applies when no route matches), in words.
    pub fallback: RouteView,
}

/// A routing rule, readable.
#[derive(Debug)]
pub struct RouteView {
    /// 1-based; "" for the fallback.
    pub position: String,
    pub name: String,
    /// Alertmanager syntax; empty: every alert.
    pub matchers: String,
    pub service: String,
    pub action: String,
    /// "error and worse page; less severe: ticket only", or "".
    pub paging: String,
    pub urgency: String,
    /// The impact of the incidents it opens: "high", "medium" or "low".
    pub impact: String,
    pub grouping: String,
    pub auto_resolve: bool,
}

/// A routing rule as editor fields (the stored rule, or what was posted).
#[derive(Debug, Default)]
pub struct RouteEdit {
    pub index: usize,
    pub is_new: bool,
    pub position: String,
    pub name: String,
    pub matchers: String,
    pub service: String,
    pub action: String,
    pub page_min_severity: String,
    pub urgency: [(&'static str, String); 4],
    pub impact: String,
    pub group_by: String,
    pub group_window: String,
    pub auto_resolve: bool,
    pub remove: bool,
    /// The API's words about this rule, when it refused the list.
    pub errors: Vec<String>,
}

#[derive(Debug)]
pub struct HeartbeatRow {
    pub id: i64,
    pub name: String,
    pub integration: String,
    pub integration_id: i64,
    pub service: String,
    pub interval: String,
    pub last_ping: String,
    pub last_ping_iso: String,
    pub due: String,
    /// `ok`, `overdue` (due, not yet raised) or `missed` (alert firing).
    pub state: &'static str,
    /// The chip's colour class for the state.
    pub state_class: &'static str,
    pub ping_path: String,
}

/// An integration's own settings (its fallback route and flap policy) as
/// form fields: the stored ones, or what was posted.
#[derive(Debug, Default)]
pub struct SettingsEdit {
    pub name: String,
    pub service: String,
    pub action: String,
    pub impact: String,
    pub urgency: [(&'static str, String); 4],
    pub group_by: String,
    pub group_window: String,
    pub auto_resolve: bool,
    /// The flap policy: more state changes than this within the window is
    /// flapping.
    pub flap_max_transitions: String,
    pub flap_window: String,
}

fn settings_edit(i: &Integration) -> SettingsEdit {
    SettingsEdit {
        name: i.name.clone(),
        service: i.service_id.0.to_string(),
        action: i.action.as_str().to_string(),
        impact: i.impact.as_str().to_string(),
        urgency: urgency_fields(&i.urgency),
        group_by: group_by_text(&i.group_by),
        group_window: i.group_window.map(|w| format!("{w:#}")).unwrap_or_default(),
        auto_resolve: i.auto_resolve,
        flap_max_transitions: i.flap.max_transitions.to_string(),
        flap_window: format!("{:#}", i.flap.window),
    }
}

fn posted_settings(f: &FormPairs) -> SettingsEdit {
    let v = |n: &str| f.value(n).to_string();
    SettingsEdit {
        name: v("name"),
        service: v("service_id"),
        action: v("action"),
        impact: v("impact"),
        urgency: posted_urgency(v),
        group_by: v("group_by"),
        group_window: v("group_window"),
        auto_resolve: v("auto_resolve") == "on",
        flap_max_transitions: v("flap_max_transitions"),
        flap_window: v("flap_window"),
    }
}

/// The settings form as the API's full `PUT` body. A flap threshold that is
/// not a whole number, and any window, are passed on as typed for the API
/// to accept or refuse by name.
fn settings_body(f: &FormPairs) -> Value {
    let posted = posted_settings(f);
    let mut body = integration_body(f);
    body["urgency"] = urgency_value(&posted.urgency);
    let max = posted.flap_max_transitions.trim();
    body["flap"] = json!({
        "max_transitions": max.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(max)),
        "window": posted.flap_window.trim(),
    });
    body
}

/// The API's refusal of the settings form, its flap fields (`flap.window`)
/// named as the form names them (`Flap window`).
fn settings_message(e: &mut ApiError) -> String {
    for p in &mut e.problem.errors {
        if let Some(rest) = p.field.strip_prefix("flap.") {
            p.field = format!("flap_{rest}");
        }
    }
    super::message(e)
}

#[derive(Template)]
#[template(path = "alerts_integrations.html")]
struct IntegrationsPage {
    title: String,
    nav: Nav,
    /// `integrations`, `integration` or `heartbeats`.
    page: &'static str,
    can_manage: bool,
    integrations: Vec<IntegrationRow>,
    created: Option<CreatedKey>,
    integration: Option<IntegrationView>,
    routes: Vec<RouteView>,
    editor: Vec<RouteEdit>,
    settings: SettingsEdit,
    heartbeats: Vec<HeartbeatRow>,
    service_options: Vec<Opt>,
    integration_options: Vec<Opt>,
    actions: Vec<Opt>,
    severities: Vec<Opt>,
    urgencies: Vec<Opt>,
    /// Impact choices, medium chosen unless the form comes back.
    impacts: Vec<Opt>,
    units: Vec<Opt>,
    error: Option<String>,
    /// Which form the error belongs to.
    error_form: String,
    values: FormPairs,
}

impl IntegrationsPage {
    /// The value the user typed into `name` of the refused form `form`.
    fn again(&self, form: &str, name: &str) -> String {
        self.again_or(form, name, "")
    }

    fn again_or(&self, form: &str, name: &str, default: &str) -> String {
        if self.error_form == form {
            self.values.value(name).to_string()
        } else {
            default.to_string()
        }
    }

    /// Whether option `value` of select `name` is chosen: the refused
    /// form's choice, else the option's default.
    fn chosen(&self, form: &str, name: &str, o: &Opt) -> bool {
        if self.error_form == form {
            self.values.value(name) == o.value
        } else {
            o.selected
        }
    }
}

/// Confirmations of this module's redirects; the rest are the shared ones.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "integration_disabled" => "Integration disabled: its key no longer works.",
        "routes_saved" => "Routing rules saved.",
        "integration_saved" => "Integration settings saved.",
        "heartbeat_created" => "Heartbeat monitor created.",
        "heartbeat_deleted" => "Heartbeat monitor deleted.",
        _ => return None,
    })
}

fn action_words(a: RouteAction) -> &'static str {
    match a {
        RouteAction::Page => "Page on-call",
        RouteAction::TicketOnly => "Ticket only",
        RouteAction::RecordOnly => "Record only",
    }
}

fn urgency_words(u: &UrgencyMap) -> String {
    format!(
        "critical → {}, error → {}, warning → {}, info → {}",
        u.critical.as_str(),
        u.error.as_str(),
        u.warning.as_str(),
        u.info.as_str()
    )
}

/// `alertname, cluster` / `every label` / `nothing (one group)`.
fn group_by_text(g: &GroupBy) -> String {
    match g {
        GroupBy::All => "...".to_string(),
        GroupBy::Labels(names) => names.join(", "),
    }
}

fn grouping_words(g: &GroupBy, window: Option<SignedDuration>) -> String {
    let by = match g {
        GroupBy::All => "each alert alone".to_string(),
        GroupBy::Labels(names) if names.is_empty() => "one group per service".to_string(),
        GroupBy::Labels(names) => format!("by {}", names.join(", ")),
    };
    match window {
        Some(w) => format!("{by}, for {w:#} after the incident opens"),
        None => by,
    }
}

fn route_view(position: String, r: &Route, services: &HashMap<ServiceId, String>) -> RouteView {
    RouteView {
        position,
        name: r.name.clone(),
        matchers: r.matchers.to_string(),
        service: service_name(services, r.service),
        action: action_words(r.action).to_string(),
        paging: match (r.action, r.page_min_severity) {
            (RouteAction::Page, Some(min)) => {
                format!("pages from {} up; less severe: ticket only", min.as_str())
            }
            _ => String::new(),
        },
        urgency: urgency_words(&r.urgency),
        impact: r.impact.as_str().to_string(),
        grouping: grouping_words(&r.group_by, r.group_window),
        auto_resolve: r.auto_resolve,
    }
}

fn fallback_view(i: &Integration, services: &HashMap<ServiceId, String>) -> RouteView {
    RouteView {
        position: String::new(),
        name: "Fallback".to_string(),
        matchers: String::new(),
        service: service_name(services, i.service_id),
        action: action_words(i.action).to_string(),
        paging: String::new(),
        urgency: urgency_words(&i.urgency),
        impact: i.impact.as_str().to_string(),
        grouping: grouping_words(&i.group_by, i.group_window),
        auto_resolve: i.auto_resolve,
    }
}

fn urgency_fields(u: &UrgencyMap) -> [(&'static str, String); 4] {
    [
        ("critical", u.critical.as_str().to_string()),
        ("error", u.error.as_str().to_string()),
        ("warning", u.warning.as_str().to_string()),
        ("info", u.info.as_str().to_string()),
    ]
}

/// A posted urgency-per-severity fieldset (`u_critical` … `u_info`), each
/// field read through `v`.
fn posted_urgency(v: impl Fn(&str) -> String) -> [(&'static str, String); 4] {
    ["critical", "error", "warning", "info"].map(|s| (s, v(&format!("u_{s}"))))
}

/// Urgency fields as the API's severity → urgency object.
fn urgency_value(fields: &[(&'static str, String); 4]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(severity, u)| (severity.to_string(), Value::from(u.as_str())))
            .collect(),
    )
}

fn route_edit(index: usize, r: &Route) -> RouteEdit {
    RouteEdit {
        index,
        is_new: false,
        position: (index + 1).to_string(),
        name: r.name.clone(),
        matchers: if r.matchers.is_empty() {
            String::new()
        } else {
            r.matchers.to_string()
        },
        service: r.service.0.to_string(),
        action: r.action.as_str().to_string(),
        page_min_severity: r
            .page_min_severity
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        urgency: urgency_fields(&r.urgency),
        impact: r.impact.as_str().to_string(),
        group_by: group_by_text(&r.group_by),
        group_window: r.group_window.map(|w| format!("{w:#}")).unwrap_or_default(),
        auto_resolve: r.auto_resolve,
        remove: false,
        errors: vec![],
    }
}

/// The blank rule at the end of the editor, for adding one.
fn blank_route(index: usize, service: ServiceId) -> RouteEdit {
    RouteEdit {
        index,
        is_new: true,
        position: (index + 1).to_string(),
        service: service.0.to_string(),
        action: RouteAction::Page.as_str().to_string(),
        urgency: urgency_fields(&UrgencyMap::default()),
        impact: opsdesk_domain::alerts::default_incident_impact()
            .as_str()
            .to_string(),
        group_by: "alertname".to_string(),
        ..RouteEdit::default()
    }
}

/// The editor rows as posted (to show them again after a refusal).
fn posted_routes(f: &FormPairs) -> Vec<RouteEdit> {
    (0..row_count(f))
        .map(|i| {
            let v = |n: &str| f.value(&format!("r{i}_{n}")).to_string();
            RouteEdit {
                index: i,
                is_new: v("new") == "1",
                position: v("position"),
                name: v("name"),
                matchers: v("matchers"),
                service: v("service"),
                action: v("action"),
                page_min_severity: v("page_min_severity"),
                urgency: posted_urgency(v),
                impact: v("impact"),
                group_by: v("group_by"),
                group_window: v("group_window"),
                auto_resolve: v("auto_resolve") == "on",
                remove: v("remove") == "on",
                errors: vec![],
            }
        })
        .collect()
}

fn row_count(f: &FormPairs) -> usize {
    f.value("rows")
        .parse::<usize>()
        .unwrap_or(0)
        .min(MAX_ROUTE_ROWS)
}

/// Comma-separated label names as the API's list; `...` passes as is.
fn label_list(s: &str) -> Vec<&str> {
    s.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The editor's rows as the API's `{"routes": [...]}`, in the order of
/// their position fields (ties and unreadable positions keep the form's
/// order); rows marked for removal and an untouched blank row are left
/// out. Also returns, per route sent, the editor row it came from.
fn routes_body(f: &FormPairs) -> (Value, Vec<usize>) {
    let mut rows: Vec<(i64, usize, Value)> = vec![];
    for r in posted_routes(f) {
        if r.remove || (r.is_new && r.name.trim().is_empty() && r.matchers.trim().is_empty()) {
            continue;
        }
        let position = r
            .position
            .trim()
            .parse::<i64>()
            .unwrap_or(r.index as i64 + 1);
        let urgency = urgency_value(&r.urgency);
        let service = r
            .service
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(r.service.as_str()));
        let window = r.group_window.trim();
        rows.push((
            position,
            r.index,
            json!({
                "name": r.name.trim(),
                "matchers": r.matchers,
                "service": service,
                "action": r.action,
                "page_min_severity": if r.page_min_severity.is_empty() { Value::Null } else { Value::from(r.page_min_severity.as_str()) },
                "urgency": urgency,
                "impact": if r.impact.is_empty() { Value::from("medium") } else { Value::from(r.impact.as_str()) },
                "group_by": label_list(&r.group_by),
                "group_window": if window.is_empty() { Value::Null } else { Value::from(window) },
                "auto_resolve": r.auto_resolve,
            }),
        ));
    }
    rows.sort_by_key(|(position, index, _)| (*position, *index));
    let from: Vec<usize> = rows.iter().map(|(_, i, _)| *i).collect();
    let routes: Vec<Value> = rows.into_iter().map(|(_, _, v)| v).collect();
    (json!({ "routes": routes }), from)
}

/// `routes[2].matchers` → (2, "matchers").
fn route_field(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("routes[")?;
    let (n, rest) = rest.split_once(']')?;
    Some((n.parse().ok()?, rest.trim_start_matches('.')))
}

/// The API's refusal of a route list, told per rule ("Route 2 (db):
/// Matchers column 7: ..."), with each problem also put next to the
/// editor row it is about.
fn routes_message(e: &ApiError, from: &[usize], editor: &mut [RouteEdit]) -> String {
    if e.problem.errors.is_empty() {
        return super::message(e);
    }
    let mut out = vec![];
    for p in &e.problem.errors {
        match route_field(&p.field).and_then(|(k, rest)| Some((*from.get(k)?, k, rest))) {
            Some((row, k, rest)) => {
                let what = if rest.is_empty() {
                    String::new()
                } else {
                    format!("{} ", label(rest))
                };
                let text = super::ticket::sentence(&format!("{what}{}", p.message));
                let name = editor
                    .get(row)
                    .map(|r| r.name.trim().to_string())
                    .unwrap_or_default();
                if let Some(r) = editor.get_mut(row) {
                    r.errors.push(text.clone());
                }
                if name.is_empty() {
                    out.push(format!("Route {}: {text}", k + 1));
                } else {
                    out.push(format!("Route {} ({name}): {text}", k + 1));
                }
            }
            None => out.push(super::ticket::sentence(&format!(
                "{} {}",
                label(&p.field),
                p.message
            ))),
        }
    }
    out.join(" ")
}

/// Seconds from the interval form (a number and a unit); anything else is
/// passed on for the API to refuse by name.
fn interval_value(f: &FormPairs) -> Value {
    let n = f.value("interval").trim();
    let unit = f.value("unit").parse::<i64>().unwrap_or(1);
    match n.parse::<i64>().ok().and_then(|n| n.checked_mul(unit)) {
        Some(secs) => Value::from(secs),
        None => Value::from(n),
    }
}

fn heartbeat_state(h: &Heartbeat, now: Timestamp) -> &'static str {
    if h.missed_at.is_some() {
        "missed"
    } else if h.due_at <= now {
        "overdue"
    } else {
        "ok"
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

fn service_name(names: &HashMap<ServiceId, String>, id: ServiceId) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("service {}", id.0))
}

/// The page without its lists.
fn empty(web: &Web, page: &'static str, notice: Option<&str>) -> IntegrationsPage {
    let title = match page {
        "heartbeats" => "Heartbeat monitors",
        _ => "Integrations",
    };
    let mut nav = web.nav("alerts").with_notice(notice);
    if let Some(n) = notice.and_then(notice_text) {
        nav.notice = Some(n);
    }
    IntegrationsPage {
        title: title.to_string(),
        nav,
        page,
        can_manage: web.auth.actor.can(Permission::ManageTeamsAndServices),
        integrations: vec![],
        created: None,
        integration: None,
        routes: vec![],
        editor: vec![],
        settings: SettingsEdit::default(),
        heartbeats: vec![],
        service_options: vec![],
        integration_options: vec![],
        actions: RouteAction::ALL
            .iter()
            .map(|a| Opt::new(a.as_str(), action_words(*a), *a == RouteAction::TicketOnly))
            .collect(),
        severities: std::iter::once(Opt::new("", "Any severity pages", true))
            .chain(Severity::ALL.iter().rev().map(|s| {
                let words = match s {
                    Severity::Critical => "Critical only".to_string(),
                    s => format!("{} and worse", label(s.as_str())),
                };
                Opt::new(s.as_str(), words, false)
            }))
            .collect(),
        urgencies: Urgency::ALL
            .iter()
            .map(|u| Opt::new(u.as_str(), label(u.as_str()), false))
            .collect(),
        impacts: Impact::ALL
            .iter()
            .map(|i| {
                let default = *i == opsdesk_domain::alerts::default_incident_impact();
                Opt::new(i.as_str(), label(i.as_str()), default)
            })
            .collect(),
        units: INTERVAL_UNITS
            .iter()
            .map(|(secs, name)| Opt::new(secs.to_string(), *name, *secs == 60))
            .collect(),
        error: None,
        error_form: String::new(),
        values: FormPairs::default(),
    }
}

/// Builds a page from the API's lists; `id` is the integration of the
/// `integration` page.
async fn build(
    state: &AppState,
    web: &Web,
    page: &'static str,
    id: Option<i64>,
    notice: Option<&str>,
) -> Result<IntegrationsPage, WebError> {
    let mut out = empty(web, page, notice);
    let services = service_names(state).await?;
    let Json(integrations) = api::list_integrations(State(state.clone()), web.auth.clone()).await?;
    let mut sorted: Vec<(&ServiceId, &String)> = services.iter().collect();
    sorted.sort_by_key(|a| a.1.to_lowercase());
    out.service_options = sorted
        .iter()
        .map(|(id, name)| Opt::new(id.0.to_string(), (*name).clone(), false))
        .collect();
    match page {
        "integrations" => {
            out.integrations = integrations
                .iter()
                .map(|i| IntegrationRow {
                    id: i.id,
                    name: i.name.clone(),
                    service: service_name(&services, i.service_id),
                    key_prefix: i.key_prefix.clone(),
                    action: action_words(i.action).to_string(),
                    routes: i.routes.len(),
                    enabled: i.enabled,
                })
                .collect();
        }
        "integration" => {
            let id = id.unwrap_or_default();
            let Json(i) =
                api::show_integration(State(state.clone()), web.auth.clone(), Path(id)).await?;
            out.title = format!("Integration {}", i.name);
            out.routes = i
                .routes
                .iter()
                .enumerate()
                .map(|(n, r)| route_view((n + 1).to_string(), r, &services))
                .collect();
            out.editor = i
                .routes
                .iter()
                .enumerate()
                .map(|(n, r)| route_edit(n, r))
                .collect();
            out.editor.push(blank_route(i.routes.len(), i.service_id));
            out.settings = settings_edit(&i);
            out.integration = Some(IntegrationView {
                id: i.id,
                name: i.name.clone(),
                service: service_name(&services, i.service_id),
                key_prefix: i.key_prefix.clone(),
                enabled: i.enabled,
                created: when(i.created_at),
                fallback: fallback_view(&i, &services),
            });
        }
        "heartbeats" => {
            let Json(list) = api::list_heartbeats(State(state.clone()), web.auth.clone()).await?;
            let now = Timestamp::now();
            let by_id: HashMap<i64, &Integration> =
                integrations.iter().map(|i| (i.id, i)).collect();
            out.heartbeats = list
                .iter()
                .map(|h| {
                    let i = by_id.get(&h.integration_id);
                    HeartbeatRow {
                        id: h.id,
                        name: h.name.clone(),
                        integration: i
                            .map(|i| i.name.clone())
                            .unwrap_or_else(|| format!("integration {}", h.integration_id)),
                        integration_id: h.integration_id,
                        service: i
                            .map(|i| service_name(&services, i.service_id))
                            .unwrap_or_default(),
                        interval: format!("{:#}", SignedDuration::from_secs(h.interval_seconds)),
                        last_ping: when(h.last_ping_at),
                        last_ping_iso: iso(h.last_ping_at),
                        due: when(h.due_at),
                        state: heartbeat_state(h, now),
                        state_class: match heartbeat_state(h, now) {
                            "missed" => "alert-firing",
                            "overdue" => "sev-warning",
                            _ => "alert-resolved",
                        },
                        ping_path: format!(
                            "/api/v1/integrations/heartbeat/{}…/{}",
                            i.map(|i| i.key_prefix.as_str()).unwrap_or("KEY"),
                            h.name
                        ),
                    }
                })
                .collect();
            out.integration_options = integrations
                .iter()
                .filter(|i| i.enabled)
                .map(|i| Opt::new(i.id.to_string(), i.name.clone(), false))
                .collect();
        }
        _ => {}
    }
    Ok(out)
}

async fn show(
    state: &AppState,
    web: Web,
    page: &'static str,
    id: Option<i64>,
    q: HashMap<String, String>,
) -> Result<Response, WebError> {
    let p = build(state, &web, page, id, q.get("notice").map(String::as_str))
        .await
        .map_err(|e| e.with_nav(&web))?;
    Ok(html(StatusCode::OK, &p))
}

pub async fn integrations(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "integrations", None, q).await
}

pub async fn integration(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "integration", Some(id), q).await
}

pub async fn heartbeats(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, web, "heartbeats", None, q).await
}

/// A refused change: the 403 (or sign-in) page for who may not, otherwise
/// the page again with the API's words next to the form and the input kept.
async fn refused(
    state: &AppState,
    web: Web,
    f: FormPairs,
    page: &'static str,
    id: Option<i64>,
    form: &str,
    e: ApiError,
) -> Result<Response, WebError> {
    if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN {
        return Err(WebError::from(e).with_nav(&web));
    }
    let mut p = build(state, &web, page, id, None)
        .await
        .map_err(|e| e.with_nav(&web))?;
    p.error = Some(super::message(&e));
    p.error_form = form.to_string();
    p.values = f;
    Ok(html(e.status, &p))
}

/// The new-integration form as the API's body.
fn integration_body(f: &FormPairs) -> Value {
    let service = f
        .value("service_id")
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(f.value("service_id")));
    let window = f.value("group_window").trim();
    let mut body = json!({
        "name": f.value("name").trim(),
        "service_id": service,
        "group_by": label_list(f.value("group_by")),
        "group_window": if window.is_empty() { Value::Null } else { Value::from(window) },
        "auto_resolve": f.value("auto_resolve") == "on",
    });
    // Not chosen: the API's defaults (ticket only, medium impact).
    if !f.value("action").is_empty() {
        body["action"] = Value::from(f.value("action"));
    }
    if !f.value("impact").is_empty() {
        body["impact"] = Value::from(f.value("impact"));
    }
    body
}

pub async fn create_integration(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let result = match api_body(integration_body(&f)) {
        Ok(b) => api::create_integration(State(state.clone()), web.auth.clone(), b).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, Json(created))) => {
            // Not a redirect: the key exists only in this response.
            let mut p = build(&state, &web, "integrations", None, None)
                .await
                .map_err(|e| e.with_nav(&web))?;
            p.created = Some(CreatedKey {
                name: created.integration.name,
                key: created.key,
                alertmanager_path: created.alertmanager_path,
                generic_path: created.generic_path,
            });
            Ok(html(StatusCode::CREATED, &p))
        }
        Err(e) => refused(&state, web, f, "integrations", None, "integration", e).await,
    }
}

pub async fn disable_integration(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    match api::disable_integration(State(state.clone()), web.auth.clone(), Path(id)).await {
        Ok(_) => Ok(see_other(
            "/alerts/integrations?notice=integration_disabled",
        )),
        Err(e) => refused(&state, web, f, "integrations", None, "integration-row", e).await,
    }
}

pub async fn update_integration(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let result = match api_body(settings_body(&f)) {
        Ok(b) => api::update_integration(State(state.clone()), web.auth.clone(), Path(id), b).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/alerts/integrations/{id}?notice=integration_saved"
        ))),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
            Err(WebError::from(e).with_nav(&web))
        }
        Err(mut e) => {
            let mut p = build(&state, &web, "integration", Some(id), None)
                .await
                .map_err(|e| e.with_nav(&web))?;
            p.settings = posted_settings(&f);
            p.error = Some(settings_message(&mut e));
            p.error_form = "settings".to_string();
            p.values = f;
            Ok(html(e.status, &p))
        }
    }
}

pub async fn set_routes(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    if f.value("rows").parse::<usize>().is_err() {
        // Without it the list would read as empty and clear every rule.
        return Err(WebError::page(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "the routing rules form was incomplete; reload the page and try again",
        )
        .with_nav(&web));
    }
    let (body, from) = routes_body(&f);
    let result = match api_body(body) {
        Ok(b) => api::set_routes(State(state.clone()), web.auth.clone(), Path(id), b)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/alerts/integrations/{id}?notice=routes_saved#routes"
        ))),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
            Err(WebError::from(e).with_nav(&web))
        }
        Err(e) => {
            let mut p = build(&state, &web, "integration", Some(id), None)
                .await
                .map_err(|e| e.with_nav(&web))?;
            p.editor = posted_routes(&f);
            p.error = Some(routes_message(&e, &from, &mut p.editor));
            p.error_form = "routes".to_string();
            p.values = f;
            Ok(html(e.status, &p))
        }
    }
}

pub async fn create_heartbeat(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let integration = f
        .value("integration_id")
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(f.value("integration_id")));
    let body = json!({
        "integration_id": integration,
        "name": f.value("name").trim(),
        "interval_seconds": interval_value(&f),
    });
    let result = match api_body(body) {
        Ok(b) => api::create_heartbeat(State(state.clone()), web.auth.clone(), b)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other("/alerts/heartbeats?notice=heartbeat_created")),
        Err(e) => refused(&state, web, f, "heartbeats", None, "heartbeat", e).await,
    }
}

pub async fn delete_heartbeat(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    match api::delete_heartbeat(State(state.clone()), web.auth.clone(), Path(id)).await {
        Ok(_) => Ok(see_other("/alerts/heartbeats?notice=heartbeat_deleted")),
        Err(e) => refused(&state, web, f, "heartbeats", None, "heartbeat-row", e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_their_positions_and_skip_removed_and_blank_rows() {
        let f = FormPairs::of(&[
            ("rows", "4"),
            ("r0_position", "2"),
            ("r0_name", "db"),
            ("r0_matchers", "team=\"db\""),
            ("r0_service", "3"),
            ("r0_action", "page"),
            ("r0_page_min_severity", "error"),
            ("r0_u_critical", "high"),
            ("r0_u_error", "high"),
            ("r0_u_warning", "medium"),
            ("r0_u_info", "low"),
            ("r0_group_by", "alertname, cluster"),
            ("r0_group_window", "30m"),
            ("r0_auto_resolve", "on"),
            ("r1_position", "1"),
            ("r1_name", "web"),
            ("r1_service", "4"),
            ("r1_action", "ticket_only"),
            ("r1_group_by", ""),
            ("r2_name", "gone"),
            ("r2_remove", "on"),
            ("r3_new", "1"),
            ("r3_position", "4"),
        ]);
        let (body, from) = routes_body(&f);
        let routes = body["routes"].as_array().expect("routes");
        assert_eq!(from, vec![1, 0]);
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["name"], "web");
        assert_eq!(routes[0]["group_by"], json!([]));
        assert_eq!(routes[0]["page_min_severity"], Value::Null);
        assert_eq!(routes[1]["service"], 3);
        assert_eq!(routes[1]["group_by"], json!(["alertname", "cluster"]));
        assert_eq!(routes[1]["group_window"], "30m");
        assert_eq!(routes[1]["auto_resolve"], true);
        assert_eq!(routes[1]["urgency"]["warning"], "medium");
        assert_eq!(routes[1]["page_min_severity"], "error");
    }

    #[test]
    fn settings_send_the_flap_policy_as_typed() {
        let f = FormPairs::of(&[
            ("name", " nas "),
            ("service_id", "3"),
            ("u_critical", "high"),
            ("flap_max_transitions", " 4 "),
            ("flap_window", " 30m "),
        ]);
        let body = settings_body(&f);
        assert_eq!(body["name"], "nas");
        assert_eq!(body["urgency"]["critical"], "high");
        assert_eq!(body["flap"], json!({"max_transitions": 4, "window": "30m"}));
        let f = FormPairs::of(&[("flap_max_transitions", "often"), ("flap_window", "")]);
        assert_eq!(
            settings_body(&f)["flap"],
            json!({"max_transitions": "often", "window": ""})
        );
    }

    #[test]
    fn route_fields_name_their_rule() {
        assert_eq!(route_field("routes[2].matchers"), Some((2, "matchers")));
        assert_eq!(route_field("routes[0]"), Some((0, "")));
        assert_eq!(route_field("routes"), None);
        assert_eq!(route_field("routes[x].name"), None);
    }

    #[test]
    fn intervals_are_seconds() {
        assert_eq!(
            interval_value(&FormPairs::of(&[("interval", "5"), ("unit", "60")])),
            json!(300)
        );
        assert_eq!(
            interval_value(&FormPairs::of(&[("interval", "soon"), ("unit", "60")])),
            json!("soon")
        );
        assert_eq!(
            interval_value(&FormPairs::of(&[
                ("interval", "9223372036854775807"),
                ("unit", "60")
            ])),
            json!("9223372036854775807")
        );
    }
}
