//! The requester portal: my tickets, and the forms to report an incident or
//! ask for something. Agents use the same form (with more fields) to open
//! tickets from the workspace.

use super::view::{Names, Nav, Opt, TicketRow, label};
use super::{FormPairs, Web, WebError, WebForm, api_body, encode_component, html, see_other};
use crate::AppState;
use crate::routes::tickets;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use opsdesk_domain::{Impact, Permission, TicketKind, Urgency};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    title: &'static str,
    nav: Nav,
    rows: Vec<TicketRow>,
    show_all: bool,
    open_count: i64,
    next_href: Option<String>,
    first_href: Option<String>,
}

/// My tickets, newest first; open ones unless `?all=1`.
pub async fn my_tickets(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let show_all = q.get("all").is_some_and(|v| v == "1");
    let mut params = HashMap::from([("requester_id".to_string(), web.auth.id().0.to_string())]);
    if !show_all {
        params.insert("open".to_string(), "true".to_string());
    }
    if let Some(c) = q.get("cursor").filter(|c| !c.is_empty()) {
        params.insert("cursor".to_string(), c.clone());
    }
    let query = tickets::parse_query(&web.auth, &params)?;
    let page = state.store.list_tickets(&query).await?;
    let counts = state.store.queue_counts(web.auth.id(), false).await?;
    let names = Names::default();
    let base = if show_all {
        "/portal?all=1&"
    } else {
        "/portal?"
    };
    Ok(html(
        StatusCode::OK,
        &PortalPage {
            title: "My tickets",
            nav: web
                .nav("portal")
                .with_notice(q.get("notice").map(String::as_str)),
            rows: page
                .items
                .iter()
                .map(|t| TicketRow::new(t, &names, "/portal/tickets/"))
                .collect(),
            show_all,
            open_count: counts.mine,
            next_href: page
                .next_cursor
                .map(|c| format!("{base}cursor={}", encode_component(&c))),
            first_href: q
                .contains_key("cursor")
                .then(|| base.trim_end_matches(['&', '?']).to_string()),
        },
    ))
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
struct NewTicketPage {
    title: String,
    nav: Nav,
    action: &'static str,
    kinds: Vec<Opt>,
    kind_fixed: Option<String>,
    impacts: Vec<Opt>,
    urgencies: Vec<Opt>,
    teams: Vec<Opt>,
    services: Vec<Opt>,
    ticket_title: String,
    description: String,
    error: Option<String>,
    field_errors: Vec<(String, String)>,
}

impl NewTicketPage {
    fn field_error(&self, name: &str) -> String {
        self.field_errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

fn kind_title(kind: Option<TicketKind>) -> String {
    match kind {
        Some(TicketKind::Incident) => "Report a problem".to_string(),
        Some(TicketKind::ServiceRequest) => "Ask for something".to_string(),
        _ => "New ticket".to_string(),
    }
}

/// The form, filled with what was sent (or the defaults).
async fn form_page(
    state: &AppState,
    web: &Web,
    f: &FormPairs,
    error: Option<(String, Vec<(String, String)>)>,
) -> Result<NewTicketPage, WebError> {
    let agent = web.is_agent();
    let kind = f.value("kind").parse::<TicketKind>().ok();
    let kinds: Vec<TicketKind> = if agent {
        TicketKind::ALL.to_vec()
    } else {
        vec![TicketKind::Incident, TicketKind::ServiceRequest]
    };
    let pick = |v: &str, default: &str| {
        if v.is_empty() {
            default.to_string()
        } else {
            v.to_string()
        }
    };
    let impact = pick(f.value("impact"), "medium");
    let urgency = pick(f.value("urgency"), "medium");
    let (teams, services) = if agent {
        let chosen_team = f.value("team_id");
        let chosen_service = f.value("service_id");
        let mut teams = vec![Opt::new(
            "",
            "Route by service (or none)",
            chosen_team.is_empty(),
        )];
        teams.extend(state.store.list_teams().await?.into_iter().map(|t| {
            let v = t.id.0.to_string();
            let sel = v == chosen_team;
            Opt::new(v, t.name, sel)
        }));
        let mut services = vec![Opt::new("", "No service", chosen_service.is_empty())];
        services.extend(state.store.list_services().await?.into_iter().map(|s| {
            let v = s.id.0.to_string();
            let sel = v == chosen_service;
            Opt::new(v, s.name, sel)
        }));
        (teams, services)
    } else {
        (vec![], vec![])
    };
    let (error, field_errors) = match error {
        Some((e, fields)) => (Some(e), fields),
        None => (None, vec![]),
    };
    Ok(NewTicketPage {
        title: kind_title(kind.filter(|_| !agent)),
        nav: web.nav(if agent { "new" } else { "portal" }),
        action: if agent { "/tickets/new" } else { "/portal/new" },
        kind_fixed: kind
            .filter(|k| !agent && kinds.contains(k))
            .map(|k| k.as_str().to_string()),
        kinds: kinds
            .iter()
            .map(|k| Opt::new(k.as_str(), label(k.as_str()), Some(*k) == kind))
            .collect(),
        impacts: Impact::ALL
            .iter()
            .map(|i| Opt::new(i.as_str(), impact_label(*i), i.as_str() == impact))
            .collect(),
        urgencies: Urgency::ALL
            .iter()
            .map(|u| Opt::new(u.as_str(), urgency_label(*u), u.as_str() == urgency))
            .collect(),
        teams,
        services,
        ticket_title: f.value("title").to_string(),
        description: f.value("description").to_string(),
        error,
        field_errors,
    })
}

pub fn impact_label(i: Impact) -> &'static str {
    match i {
        Impact::High => "High: many people or a whole service",
        Impact::Medium => "Medium: a team or several people",
        Impact::Low => "Low: just me",
    }
}

pub fn urgency_label(u: Urgency) -> &'static str {
    match u {
        Urgency::High => "High: work has stopped",
        Urgency::Medium => "Medium: work is slowed down",
        Urgency::Low => "Low: it can wait",
    }
}

pub async fn new_page(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let f = FormPairs(q.into_iter().collect());
    let page = form_page(&state, &web, &f, None).await?;
    Ok(html(StatusCode::OK, &page))
}

pub async fn create(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let mut body = json!({
        "kind": f.value("kind"),
        "title": f.value("title").trim(),
        "description": f.value("description"),
        "impact": f.value("impact"),
        "urgency": f.value("urgency"),
    });
    if web.auth.actor.can(Permission::WorkAllTickets) {
        for field in ["team_id", "service_id"] {
            if let Ok(id) = f.value(field).parse::<i64>() {
                body[field] = Value::from(id);
            }
        }
    }
    let result = match api_body(body) {
        Ok(b) => tickets::create(State(state.clone()), web.auth.clone(), HeaderMap::new(), b).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, view)) => {
            let number = &view.0.ticket.number;
            Ok(see_other(&if web.is_agent() {
                format!("/tickets/{number}?notice=created")
            } else {
                format!("/portal/tickets/{number}?notice=created")
            }))
        }
        Err(e) => {
            let fields = e
                .problem
                .errors
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect();
            let page = form_page(&state, &web, &f, Some((super::message(&e), fields))).await?;
            Ok(html(e.status, &page))
        }
    }
}
