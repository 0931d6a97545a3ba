//! One ticket: its details, the timeline from the event log, and the forms
//! that work it. The same page serves requesters (at /portal/tickets/N,
//! without internal notes or desk-only forms) and the desk (/tickets/N).
//!
//! Every action calls the REST handler of the same action, so the rules
//! (who may see the ticket, which step is legal now, who may write an
//! internal note) are decided in one place. The transition buttons are
//! exactly the ticket's `allowed_transitions` as the API computes them.

use super::counts::QueueCounter;
use super::view::{Names, Nav, Opt, iso, label, when};
use super::{FormPairs, Web, WebError, WebForm, api_body, html, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::tickets::{self, TicketView};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use opsdesk_domain::priority::priority_from;
use opsdesk_domain::ticket::{ChangeOutcome, OnHoldReason};
use opsdesk_domain::{
    Impact, LinkKind, Role, TicketKind, TicketState, TransitionName, Urgency, UserId,
};
use opsdesk_store::{Comment, Event, Link, Ticket, User};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

pub use super::portal::{create, new_page};

/// What a refused form sent, to show it again with the reason.
#[derive(Debug, Default)]
pub struct Refused {
    /// Which form: "comment", "assign", "priority", "link", "merge" or "step-ACTION".
    pub form: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub values: FormPairs,
}

/// One entry of the timeline.
#[derive(Debug)]
pub struct Entry {
    pub at: String,
    pub at_iso: String,
    pub who: String,
    pub text: String,
    pub body: Option<String>,
    /// "reply", "note" (internal) or "event".
    pub class: &'static str,
}

/// An input of a transition form.
#[derive(Debug)]
pub struct StepField {
    pub name: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// Empty for free text; otherwise the choices.
    pub options: Vec<Opt>,
    pub long: bool,
}

/// A legal next step, as a button (with a small form when it needs data).
#[derive(Debug)]
pub struct Step {
    pub action: &'static str,
    /// The form's name for re-filling it after a refusal.
    pub form: String,
    pub label: String,
    pub fields: Vec<StepField>,
    pub primary: bool,
}

#[derive(Debug)]
pub struct LinkRow {
    pub text: String,
    pub other: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    title: String,
    nav: Nav,
    agent: bool,
    t: Ticket,
    kind: String,
    state: String,
    state_class: &'static str,
    requester: String,
    assignee: String,
    team: String,
    service: String,
    created: String,
    updated: String,
    on_hold: String,
    reopen_until: Option<String>,
    sla: String,
    computed_priority: &'static str,
    matrix: String,
    timeline: Vec<Entry>,
    steps: Vec<Step>,
    links: Vec<LinkRow>,
    /// An incident's alerts, newest first (desk roles only), and whether
    /// it has more than are shown.
    alerts: Vec<super::alerts::AlertRow>,
    more_alerts: bool,
    teams: Vec<Opt>,
    agents: Vec<Opt>,
    impacts: Vec<Opt>,
    urgencies: Vec<Opt>,
    priorities: Vec<Opt>,
    link_kinds: Vec<Opt>,
    assigned_to_me: bool,
    refused: Refused,
    post_base: String,
}

impl TicketPage {
    /// Whether the refused form is this one.
    fn refused_is(&self, form: &str) -> bool {
        !self.refused.message.is_empty() && self.refused.form == form
    }

    /// What the refused form had in `name`, to fill it in again.
    fn again(&self, form: &str, name: &str) -> String {
        if self.refused.form == form {
            self.refused.values.value(name).to_string()
        } else {
            String::new()
        }
    }

    fn field_error(&self, form: &str, name: &str) -> String {
        if self.refused.form != form {
            return String::new();
        }
        self.refused
            .fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// A refused step that is not offered (any more): its reason goes at
    /// the top of the steps.
    fn refused_step_elsewhere(&self) -> bool {
        !self.refused.message.is_empty()
            && self.refused.form.starts_with("step-")
            && !self.steps.iter().any(|s| s.form == self.refused.form)
    }

    fn internal_checked(&self) -> bool {
        self.refused.form == "comment" && self.refused.values.value("visibility") == "internal"
    }
}

/// Turns a problem detail into a sentence for the page.
pub fn sentence(detail: &str) -> String {
    let mut s: String = {
        let mut c = detail.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    };
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

impl Refused {
    fn from_error(form: impl Into<String>, e: &ApiError, values: FormPairs) -> Refused {
        Refused {
            form: form.into(),
            message: super::message(e),
            fields: e
                .problem
                .errors
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect(),
            values,
        }
    }
}

fn ticket_href(web: &Web, number: &str) -> String {
    if web.is_agent() {
        format!("/tickets/{number}")
    } else {
        format!("/portal/tickets/{number}")
    }
}

/// A not-found page whether the ticket does not exist or is someone else's.
fn not_found_page(e: ApiError) -> WebError {
    if e.status == StatusCode::NOT_FOUND {
        WebError::not_found()
    } else {
        e.into()
    }
}

pub async fn portal_page(
    State(state): State<AppState>,
    web: Web,
    Path(number): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let view = load(&state, &web, &number).await?;
    if web.is_agent() {
        return Ok(see_other(&format!("/tickets/{}", view.ticket.number)));
    }
    render(
        &state,
        &web,
        view,
        Refused::default(),
        StatusCode::OK,
        notice(&q),
    )
    .await
}

pub async fn agent_page(
    State(state): State<AppState>,
    web: Web,
    Path(number): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let view = load(&state, &web, &number).await?;
    if !web.is_agent() {
        return Ok(see_other(&format!(
            "/portal/tickets/{}",
            view.ticket.number
        )));
    }
    render(
        &state,
        &web,
        view,
        Refused::default(),
        StatusCode::OK,
        notice(&q),
    )
    .await
}

fn notice(q: &HashMap<String, String>) -> Option<String> {
    q.get("notice").cloned()
}

async fn load(state: &AppState, web: &Web, number: &str) -> Result<TicketView, WebError> {
    tickets::show(
        State(state.clone()),
        web.auth.clone(),
        Path(number.to_string()),
    )
    .await
    .map(|Json(v)| v)
    .map_err(|e| not_found_page(e).with_nav(web))
}

/// Renders the ticket page; `refused` re-fills a form that was turned down.
async fn render(
    state: &AppState,
    web: &Web,
    view: TicketView,
    refused: Refused,
    status: StatusCode,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let page = build(state, web, view, refused, notice).await?;
    Ok(html(status, &page))
}

async fn build(
    state: &AppState,
    web: &Web,
    view: TicketView,
    refused: Refused,
    notice: Option<String>,
) -> Result<TicketPage, WebError> {
    let agent = web.is_agent();
    let t = view.ticket;
    let reference = t.id.0.to_string();
    let comments = tickets::comments(
        State(state.clone()),
        web.auth.clone(),
        Path(reference.clone()),
    )
    .await?
    .0;
    let events = tickets::timeline(
        State(state.clone()),
        web.auth.clone(),
        Path(reference.clone()),
    )
    .await?
    .0;
    let links = tickets::links(State(state.clone()), web.auth.clone(), Path(reference))
        .await?
        .0;
    let teams = if agent {
        state.store.list_teams().await?
    } else {
        vec![]
    };
    let names = if agent {
        Names::new(state.store.list_users().await?, &teams)
    } else {
        // Only the people this ticket mentions.
        let mut ids: HashSet<UserId> = events.iter().filter_map(|e| e.actor_id).collect();
        ids.extend(comments.iter().map(|c| c.author_id));
        ids.extend(t.assignee_id);
        let mut users: Vec<User> = Vec::new();
        for id in ids {
            if let Ok(u) = state.store.get_user(id).await {
                users.push(u);
            }
        }
        Names::new(users, &teams).for_requester(web.auth.id())
    };
    let agents: Vec<Opt> = if agent {
        let mut opts = vec![Opt::new("", "Nobody", t.assignee_id.is_none())];
        opts.extend(
            state
                .store
                .list_users()
                .await?
                .into_iter()
                .filter(|u| u.active && u.role >= Role::Agent)
                .map(|u| {
                    let sel = Some(u.id) == t.assignee_id;
                    Opt::new(u.id.0.to_string(), u.display_name, sel)
                }),
        );
        opts
    } else {
        vec![]
    };
    let service = match t.service_id {
        Some(id) => state
            .store
            .get_service(id)
            .await
            .map(|s| s.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let reopen_until = (t.state == TicketState::Resolved || t.state == TicketState::Fulfilled)
        .then_some(t.resolved_at)
        .flatten()
        .map(|r| when(state.config.reopen.closes_at(r)));
    let mut matrix = Vec::new();
    for i in Impact::ALL {
        for u in Urgency::ALL {
            matrix.push(format!(
                "{}:{}={}",
                i.as_str(),
                u.as_str(),
                priority_from(i, u).as_str()
            ));
        }
    }
    let (alerts, more_alerts) = if agent && t.kind == TicketKind::Incident {
        super::alerts::incident_alerts(state, web, t.id).await?
    } else {
        (Vec::new(), false)
    };
    let steps = view
        .allowed_transitions
        .iter()
        .map(|s| step(*s, t.kind))
        .collect();
    let mut nav = web.nav(if agent { "queues" } else { "portal" });
    nav.notice = notice
        .as_deref()
        .and_then(|n| nav.clone().with_notice(Some(n)).notice);
    Ok(TicketPage {
        title: format!("{} {}", t.number, t.title),
        nav,
        agent,
        kind: label(t.kind.as_str()),
        state: label(t.state.as_str()),
        state_class: if t.state.is_open() { "open" } else { "done" },
        requester: names.user(Some(t.requester_id)),
        assignee: t
            .assignee_id
            .map(|a| names.user(Some(a)))
            .unwrap_or_else(|| "Nobody yet".to_string()),
        team: names.team(t.team_id),
        service,
        created: when(t.created_at),
        updated: when(t.updated_at),
        on_hold: t
            .on_hold_reason
            .map(|r| label(r.as_str()))
            .unwrap_or_default(),
        reopen_until,
        sla: super::view::sla_cell(&t).0,
        computed_priority: priority_from(t.impact, t.urgency).as_str(),
        matrix: matrix.join(","),
        timeline: timeline(&events, &comments, &names, agent),
        steps,
        links: links.iter().map(|l| link_row(l, &t, web)).collect(),
        alerts,
        more_alerts,
        teams: {
            let mut o = vec![Opt::new("", "No team", t.team_id.is_none())];
            o.extend(teams.iter().map(|tm| {
                Opt::new(
                    tm.id.0.to_string(),
                    tm.name.clone(),
                    Some(tm.id) == t.team_id,
                )
            }));
            o
        },
        agents,
        impacts: Impact::ALL
            .iter()
            .map(|i| Opt::new(i.as_str(), label(i.as_str()), *i == t.impact))
            .collect(),
        urgencies: Urgency::ALL
            .iter()
            .map(|u| Opt::new(u.as_str(), label(u.as_str()), *u == t.urgency))
            .collect(),
        priorities: opsdesk_domain::Priority::ALL
            .iter()
            .map(|p| Opt::new(p.as_str(), p.as_str(), *p == t.priority))
            .collect(),
        link_kinds: LinkKind::ALL
            .iter()
            .map(|k| Opt::new(k.as_str(), link_label(*k), false))
            .collect(),
        assigned_to_me: t.assignee_id == Some(web.auth.id()),
        post_base: format!("/tickets/{}", t.number),
        t,
        refused,
    })
}

fn link_label(k: LinkKind) -> &'static str {
    match k {
        LinkKind::DuplicateOf => "is a duplicate of",
        LinkKind::CausedBy => "is caused by",
        LinkKind::Related => "is related to",
        LinkKind::ParentOf => "is the parent of",
    }
}

fn link_row(l: &Link, t: &Ticket, web: &Web) -> LinkRow {
    let (text, other) = if l.source_id == t.id {
        (
            format!("This {}", link_label(l.kind)),
            l.target_number.clone(),
        )
    } else {
        (
            format!("{} {} this", l.source_number, link_label(l.kind)),
            l.source_number.clone(),
        )
    };
    LinkRow {
        href: ticket_href(web, &other),
        text,
        other,
    }
}

/// The label and inputs of a step, from the domain's list of what it needs.
fn step(s: TransitionName, kind: TicketKind) -> Step {
    let required = s.required_fields(kind);
    let mut fields: Vec<StepField> = required
        .iter()
        .map(|name| step_field(s, name, true))
        .collect();
    // Optional notes some steps take.
    match s {
        TransitionName::Reopen => fields.push(step_field(s, "reason", false)),
        TransitionName::Approve => fields.push(step_field(s, "note", false)),
        _ => {}
    }
    Step {
        action: s.as_str(),
        form: format!("step-{}", s.as_str()),
        label: label(s.as_str()),
        primary: matches!(
            s,
            TransitionName::Acknowledge | TransitionName::Resolve | TransitionName::Fulfill
        ),
        fields,
    }
}

fn step_field(s: TransitionName, name: &'static str, required: bool) -> StepField {
    let (label, options, long): (&'static str, Vec<Opt>, bool) = match (s, name) {
        (TransitionName::Hold, "reason") => (
            "Waiting for",
            OnHoldReason::ALL
                .iter()
                .map(|r| Opt::new(r.as_str(), label(r.as_str()), false))
                .collect(),
            false,
        ),
        (_, "outcome") => (
            "Outcome",
            ChangeOutcome::ALL
                .iter()
                .map(|o| Opt::new(o.as_str(), label(o.as_str()), false))
                .collect(),
            false,
        ),
        (_, "resolution_code") => ("Resolution code", vec![], false),
        (_, "resolution_note") => ("What was done", vec![], true),
        (_, "workaround") => ("Workaround", vec![], true),
        (TransitionName::Reopen, "reason") => ("Why reopen (optional)", vec![], true),
        (_, "reason") => ("Reason", vec![], true),
        (_, "note") => ("Note", vec![], true),
        _ => ("Details", vec![], true),
    };
    StepField {
        name,
        label,
        required,
        options,
        long,
    }
}

/// The timeline from the event log, with comment bodies.
fn timeline(events: &[Event], comments: &[Comment], names: &Names, agent: bool) -> Vec<Entry> {
    let by_id: HashMap<i64, &Comment> = comments.iter().map(|c| (c.id, c)).collect();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let d = &e.data;
        let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
        let mut body = None;
        let mut class = "event";
        let text = match e.kind.as_str() {
            "ticket.created" => format!("opened this {}", label(&s("kind")).to_lowercase()),
            "ticket.commented" => {
                let internal = s("visibility") == "internal";
                if internal && !agent {
                    continue;
                }
                class = if internal { "note" } else { "reply" };
                body = d["comment_id"]
                    .as_i64()
                    .and_then(|id| by_id.get(&id))
                    .map(|c| c.body.clone())
                    .or_else(|| d["body"].as_str().map(str::to_string));
                if internal {
                    "added an internal note".to_string()
                } else {
                    "replied".to_string()
                }
            }
            "ticket.transitioned" => {
                let mut text = format!(
                    "{}: {} → {}",
                    label(&s("action")),
                    label(&s("from")).to_lowercase(),
                    label(&s("to")).to_lowercase()
                );
                if d["automatic"].as_bool() == Some(true) {
                    text.push_str(&format!(" (automatic: {})", s("reason")));
                }
                let details: Vec<String> = [
                    ("resolution_code", "Resolution: "),
                    ("resolution_note", ""),
                    ("note", ""),
                    ("workaround", "Workaround: "),
                ]
                .iter()
                .filter_map(|(k, prefix)| {
                    d[*k]
                        .as_str()
                        .filter(|v| !v.is_empty())
                        .map(|v| format!("{prefix}{v}"))
                })
                .collect();
                if !details.is_empty() {
                    body = Some(details.join("\n"));
                }
                text
            }
            "ticket.assigned" => {
                let to = d["assignee_id"]["to"].as_i64().map(UserId);
                let from = d["assignee_id"]["from"].as_i64().map(UserId);
                match (to, from == to) {
                    (_, true) => "changed the team".to_string(),
                    (Some(u), _) if Some(u) == e.actor_id => "took it".to_string(),
                    (Some(u), _) => format!("assigned it to {}", names.user(Some(u))),
                    (None, _) => "unassigned it".to_string(),
                }
            }
            "ticket.updated" => {
                let fields: Vec<String> = d["changes"]
                    .as_object()
                    .map(|m| m.keys().map(|k| label(k).to_lowercase()).collect())
                    .unwrap_or_default();
                format!("changed {}", fields.join(", "))
            }
            "ticket.reprioritized" => format!("priority {} → {}", s("from"), s("to")),
            "ticket.priority_overridden" => {
                if agent {
                    body = d["reason"].as_str().map(str::to_string);
                }
                format!("set the priority by hand: {} → {}", s("from"), s("to"))
            }
            "ticket.redacted" => "secrets were removed before storing".to_string(),
            "ticket.merged" if agent => format!("merged it into {}", s("into_number")),
            "ticket.merged" => "merged it into another ticket".to_string(),
            "ticket.merged_in" => {
                let moved: Vec<String> = d["moved_comment_ids"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_i64())
                            .filter_map(|id| by_id.get(&id))
                            .map(|c| c.body.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                if !moved.is_empty() {
                    body = Some(moved.join("\n\n"));
                }
                if agent {
                    format!("merged {} into this ticket", s("from_number"))
                } else {
                    "merged a duplicate into this ticket".to_string()
                }
            }
            // Links name other tickets: only the desk sees them.
            "ticket.linked" | "ticket.linked_from" | "ticket.unlinked" | "ticket.unlinked_from"
                if !agent =>
            {
                continue;
            }
            "ticket.linked" => format!(
                "linked it: {} {}",
                label(&s("kind")).to_lowercase(),
                s("target_number")
            ),
            "ticket.linked_from" => format!(
                "{} was linked to it ({})",
                s("source_number"),
                label(&s("kind")).to_lowercase()
            ),
            "ticket.unlinked" | "ticket.unlinked_from" => "removed a link".to_string(),
            other => label(other.trim_start_matches("ticket.")),
        };
        out.push(Entry {
            at: when(e.at),
            at_iso: iso(e.at),
            who: names.user(e.actor_id),
            text,
            body,
            class,
        });
    }
    out
}

// -- actions ---------------------------------------------------------------

/// Runs one action; on success redirects back to the ticket with a notice,
/// on refusal re-renders the page with the form filled in and the reason.
async fn act<F, Fut>(
    state: AppState,
    counter: QueueCounter,
    number: String,
    form: WebForm<FormPairs>,
    form_name: String,
    ok_notice: &str,
    run: F,
) -> Result<Response, WebError>
where
    F: FnOnce(AppState, Web, String, FormPairs) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ApiError>>,
{
    let WebForm { web, value } = form;
    // Someone else's ticket, or none: the not-found page, before anything else.
    let view = load(&state, &web, &number).await?;
    let number = view.ticket.number.clone();
    match run(state.clone(), web.clone(), number.clone(), value.clone()).await {
        Ok(go_to) => {
            counter.touch(web.auth.id());
            let target = go_to.unwrap_or(number);
            Ok(see_other(&format!(
                "{}?notice={ok_notice}",
                ticket_href(&web, &target)
            )))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            // Show the ticket as it is now, with the refused form as it was sent.
            let view = load(&state, &web, &number).await?;
            let refused = Refused::from_error(form_name, &e, value);
            render(&state, &web, view, refused, e.status, None).await
        }
    }
}

pub async fn comment(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let internal = form.value.value("visibility") == "internal";
    let notice = if internal { "noted" } else { "replied" };
    act(state, counter, number, form, "comment".into(), notice, |state, web, number, f| async move {
        let body = api_body(json!({
            "body": f.value("body"),
            "visibility": if f.value("visibility") == "internal" { "internal" } else { "public" },
        }))?;
        let _ = tickets::add_comment(State(state), web.auth, HeaderMap::new(), Path(number), body).await?;
        Ok(None)
    })
    .await
}

/// The step's JSON from the form: the action, the fields the domain says it
/// requires (empty ones included, so the refusal names them), and any
/// optional ones that were filled in.
fn transition_body(f: &FormPairs) -> Value {
    let mut body = json!({"action": f.value("action")});
    let required: &[&str] = f
        .value("action")
        .parse::<TransitionName>()
        .ok()
        .zip(f.value("kind").parse::<TicketKind>().ok())
        .map(|(s, k)| s.required_fields(k))
        .unwrap_or(&[]);
    for name in [
        "reason",
        "resolution_code",
        "resolution_note",
        "note",
        "workaround",
        "outcome",
    ] {
        let v = f.value(name).trim();
        if !v.is_empty() || required.contains(&name) {
            body[name] = Value::from(v);
        }
    }
    body
}

pub async fn transition(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let form_name = format!("step-{}", form.value.value("action"));
    act(
        state,
        counter,
        number,
        form,
        form_name,
        "moved",
        |state, web, number, f| async move {
            let body = api_body(transition_body(&f))?;
            let _ =
                tickets::transition(State(state), web.auth, HeaderMap::new(), Path(number), body)
                    .await?;
            Ok(None)
        },
    )
    .await
}

fn optional_id(v: &str) -> Value {
    v.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
}

pub async fn assign(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    act(
        state,
        counter,
        number,
        form,
        "assign".into(),
        "assigned",
        |state, web, number, f| async move {
            let body = if f.value("me") == "1" {
                json!({"assignee_id": web.auth.id().0})
            } else {
                json!({
                    "team_id": optional_id(f.value("team_id")),
                    "assignee_id": optional_id(f.value("assignee_id")),
                })
            };
            let body = api_body(body)?;
            let _ = tickets::assign(State(state), web.auth, HeaderMap::new(), Path(number), body)
                .await?;
            Ok(None)
        },
    )
    .await
}

pub async fn priority(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    act(
        state,
        counter,
        number,
        form,
        "priority".into(),
        "prioritized",
        |state, web, number, f| async move {
            let mut body = json!({
                "impact": f.value("impact"),
                "urgency": f.value("urgency"),
            });
            if let Ok(v) = f.value("version").parse::<i64>() {
                body["version"] = Value::from(v);
            }
            match f.value("override") {
                "set" => {
                    body["priority_override"] =
                        json!({"priority": f.value("priority"), "reason": f.value("reason")})
                }
                "clear" => body["priority_override"] = Value::Null,
                _ => {}
            }
            let body = api_body(body)?;
            let _ = tickets::update(State(state), web.auth, HeaderMap::new(), Path(number), body)
                .await?;
            Ok(None)
        },
    )
    .await
}

pub async fn link(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    act(
        state,
        counter,
        number,
        form,
        "link".into(),
        "linked",
        |state, web, number, f| async move {
            let body =
                api_body(json!({"kind": f.value("kind"), "target": f.value("target").trim()}))?;
            let _ =
                tickets::link(State(state), web.auth, HeaderMap::new(), Path(number), body).await?;
            Ok(None)
        },
    )
    .await
}

pub async fn unlink(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    act(
        state,
        counter,
        number,
        form,
        "link".into(),
        "unlinked",
        |state, web, number, f| async move {
            let target = f.value("target").to_string();
            tickets::unlink(State(state), web.auth, Path((number, target))).await?;
            Ok(None)
        },
    )
    .await
}

pub async fn merge(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    Path(number): Path<String>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    act(
        state,
        counter,
        number,
        form,
        "merge".into(),
        "merged",
        |state, web, number, f| async move {
            let body = api_body(json!({"survivor": f.value("survivor").trim()}))?;
            let Json(survivor) =
                tickets::merge(State(state), web.auth, HeaderMap::new(), Path(number), body)
                    .await?;
            Ok(Some(survivor.ticket.number))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_asks_for_what_the_domain_requires() {
        let resolve = step(TransitionName::Resolve, TicketKind::Incident);
        let names: Vec<&str> = resolve.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["resolution_code", "resolution_note"]);
        assert!(resolve.fields.iter().all(|f| f.required));
        let hold = step(TransitionName::Hold, TicketKind::Incident);
        assert_eq!(hold.fields[0].options.len(), OnHoldReason::ALL.len());
        assert!(
            step(TransitionName::Acknowledge, TicketKind::Incident)
                .fields
                .is_empty()
        );
        let close_change = step(TransitionName::Close, TicketKind::Change);
        assert_eq!(close_change.fields[0].name, "outcome");
        let reopen = step(TransitionName::Reopen, TicketKind::Incident);
        assert!(!reopen.fields[0].required, "a reason to reopen is optional");
    }

    #[test]
    fn transition_bodies_keep_empty_required_fields_and_drop_empty_optional_ones() {
        let body = transition_body(&FormPairs::of(&[
            ("action", "resolve"),
            ("kind", "incident"),
            ("resolution_code", "fixed"),
            ("resolution_note", ""),
            ("reason", ""),
        ]));
        assert_eq!(
            body,
            json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": ""})
        );
        let body = transition_body(&FormPairs::of(&[("action", "reopen"), ("reason", " ")]));
        assert_eq!(body, json!({"action": "reopen"}));
    }

    #[test]
    fn problems_read_as_sentences() {
        assert_eq!(
            sentence("ticket INC-1 not found"),
            "Ticket INC-1 not found."
        );
        assert_eq!(sentence("Done!"), "Done!");
    }
}
