//! The agent workspace: queues with counts, filters like the API's, saved
//! filters, keyset pagination, and bulk assign/transition.

use super::counts::QueueCounter;
use super::view::{Names, Nav, Opt, TicketRow, label};
use super::{FormPairs, Web, WebError, WebForm, api_body, encode_component, html, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::cookie;
use crate::routes::tickets;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use opsdesk_domain::{Permission, Priority, TicketKind, TicketState, TransitionName, UserId};
use opsdesk_store::User;
use opsdesk_store::listing::AssigneeFilter;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The queues, in sidebar order: (path segment, name).
const QUEUES: [(&str, &str); 4] = [
    ("mine", "My tickets"),
    ("team", "My teams"),
    ("unassigned", "Unassigned"),
    ("open", "All open"),
];

/// The filter parameters a queue page passes on to the API's list parser.
const FILTERS: [&str; 10] = [
    "breaching_within",
    "kind",
    "state",
    "priority",
    "team_id",
    "service_id",
    "q",
    "sort",
    "cursor",
    "tag",
];

const SAVED_COOKIE: &str = "opsdesk_filters";
const SAVED_MAX: usize = 12;

pub async fn home() -> Response {
    see_other("/agent/queues/mine")
}

#[derive(Debug)]
pub struct QueueLink {
    pub href: String,
    pub name: &'static str,
    pub count: Option<i64>,
    pub current: bool,
}

#[derive(Debug)]
pub struct Saved {
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    title: String,
    nav: Nav,
    queue: String,
    queues: Vec<QueueLink>,
    saved: Vec<Saved>,
    rows: Vec<TicketRow>,
    kinds: Vec<Opt>,
    states: Vec<Opt>,
    priorities: Vec<Opt>,
    team_opts: Vec<Opt>,
    service_opts: Vec<Opt>,
    breaching: Vec<Opt>,
    sorts: Vec<Opt>,
    text: String,
    error: Option<String>,
    empty: &'static str,
    next_href: Option<String>,
    first_href: Option<String>,
    /// This page's address, for "save this filter" and bulk's way back.
    here: String,
    bulk_ops: Vec<Opt>,
    report: Vec<String>,
    filtered: bool,
}

/// What a bulk action did, shown above the list.
#[derive(Debug, Default)]
pub struct BulkReport {
    pub lines: Vec<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    web: Web,
    Path(queue): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (status, page) = queue_page(
        &state,
        &counter,
        &web,
        &queue,
        &q,
        &headers,
        BulkReport::default(),
    )
    .await?;
    Ok(html(status, &page))
}

/// Renders a queue page to HTML, for the benchmark tool: the same work as
/// `GET /agent/queues/{queue}?{query}` for `user`, without HTTP. Reuse one
/// `counter` across calls as a server does (a new one measures a first visit).
pub async fn render_queue_page(
    state: &AppState,
    counter: &QueueCounter,
    user: User,
    queue: &str,
    query: &str,
) -> Result<String, String> {
    let actor = opsdesk_domain::Actor {
        user_id: user.id,
        role: user.role,
    };
    let web = Web {
        auth: crate::extract::Auth {
            user,
            actor,
            via_session: true,
        },
        csrf: String::new(),
    };
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
    let (_, page) = queue_page(
        state,
        counter,
        &web,
        queue,
        &params,
        &HeaderMap::new(),
        BulkReport::default(),
    )
    .await
    .map_err(|e| format!("{e:?}"))?;
    page.render().map_err(|e| e.to_string())
}

fn first<'a>(q: &'a [(String, String)], name: &str) -> &'a str {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn queue_page(
    state: &AppState,
    counter: &QueueCounter,
    web: &Web,
    queue: &str,
    q: &[(String, String)],
    headers: &HeaderMap,
    report: BulkReport,
) -> Result<(StatusCode, QueuePage), WebError> {
    web.require(Permission::WorkAllTickets, "use the agent workspace")?;
    let Some(&(queue, queue_name)) = QUEUES.iter().find(|(k, _)| *k == queue) else {
        return Err(WebError::not_found().with_nav(web));
    };
    // The API's own parser: the same filters, the same refusals.
    let mut params: HashMap<String, String> = FILTERS
        .iter()
        .map(|f| (f.to_string(), first(q, f).trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !params.contains_key("state") {
        params.insert("open".to_string(), "true".to_string());
    }
    let filtered = FILTERS
        .iter()
        .any(|f| *f != "cursor" && *f != "sort" && !first(q, f).trim().is_empty());
    let me = web.auth.id();
    let mut status = StatusCode::OK;
    let mut error = None;
    let mut empty = "Nothing here. Everything in this queue is done.";
    let items = match tickets::parse_query(&web.auth, &params) {
        Err(e) => {
            status = e.status;
            error = Some(super::message(&e));
            None
        }
        Ok(mut query) => {
            match queue {
                "mine" => query.assignee = Some(AssigneeFilter::User(me)),
                "unassigned" => query.assignee = Some(AssigneeFilter::Unassigned),
                "team" => {
                    // My teams, or the chosen ones among them.
                    let mine = state.store.teams_of(me).await?;
                    if query.team_ids.is_empty() {
                        query.team_ids = mine;
                    } else {
                        query.team_ids.retain(|t| mine.contains(t));
                    }
                    if query.team_ids.is_empty() {
                        empty = "You are not a member of any team yet (or of the chosen one); a manager adds you to teams.";
                    }
                }
                _ => {}
            }
            if queue == "team" && query.team_ids.is_empty() {
                None
            } else {
                match state.store.list_tickets(&query).await {
                    Ok(page) => Some(page),
                    Err(e) => {
                        let e = ApiError::from(e);
                        if e.status.is_server_error() {
                            return Err(e.into());
                        }
                        status = e.status;
                        error = Some(super::message(&e));
                        None
                    }
                }
            }
        }
    };
    if filtered && error.is_none() {
        empty = "No ticket matches these filters. Clear them to see the whole queue.";
    }
    // Counting a million rows is slower than the page may be: see `counts`.
    let counts = counter.get(state, me).await;
    let teams = state.store.list_teams().await?;
    let services = state.store.list_services().await?;
    // Only the people on this page.
    let mut users = Vec::new();
    if let Some(page) = &items {
        let mut ids: Vec<UserId> = page.items.iter().filter_map(|t| t.assignee_id).collect();
        ids.sort_by_key(|u| u.0);
        ids.dedup();
        for id in ids {
            if let Ok(u) = state.store.get_user(id).await {
                users.push(u);
            }
        }
    }
    let names = Names::new(users, &teams);
    let rows = items
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .map(|t| TicketRow::new(t, &names, "/tickets/"))
                .collect()
        })
        .unwrap_or_default();
    // Links keep the filters; the cursor is page-specific.
    let keep: Vec<(String, String)> = FILTERS
        .iter()
        .filter(|f| **f != "cursor")
        .map(|f| (f.to_string(), first(q, f).to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let query_string = serde_urlencoded::to_string(&keep).unwrap_or_default();
    let base = format!("/agent/queues/{queue}");
    let with = |extra: Option<&str>| {
        let mut s = query_string.clone();
        if let Some(e) = extra {
            if !s.is_empty() {
                s.push('&');
            }
            s.push_str(e);
        }
        if s.is_empty() {
            base.clone()
        } else {
            format!("{base}?{s}")
        }
    };
    let next_href = items
        .as_ref()
        .and_then(|p| p.next_cursor.as_ref())
        .map(|c| with(Some(&format!("cursor={}", encode_component(c)))));
    let first_href = (!first(q, "cursor").is_empty()).then(|| with(None));
    let count_of = |k: &str| {
        counts.as_ref().and_then(|c| match k {
            "mine" => Some(c.mine),
            "team" => c.my_teams,
            "unassigned" => c.unassigned,
            _ => c.all_open,
        })
    };
    let pick = |name: &str| first(q, name).to_string();
    let kind = pick("kind");
    let st = pick("state");
    let pr = pick("priority");
    let sort = pick("sort");
    let mut kinds = vec![Opt::new("", "Any kind", kind.is_empty())];
    kinds.extend(
        TicketKind::ALL
            .iter()
            .map(|k| Opt::new(k.as_str(), label(k.as_str()), k.as_str() == kind)),
    );
    let mut states = vec![Opt::new("", "Any open state", st.is_empty())];
    states.extend(
        TicketState::ALL
            .iter()
            .map(|s| Opt::new(s.as_str(), label(s.as_str()), s.as_str() == st)),
    );
    let team = pick("team_id");
    let mut team_opts = vec![Opt::new("", "Any team", team.is_empty())];
    team_opts.extend(teams.iter().map(|t| {
        let v = t.id.0.to_string();
        let sel = v == team;
        Opt::new(v, t.name.clone(), sel)
    }));
    let service = pick("service_id");
    let mut service_opts = vec![Opt::new("", "Any service", service.is_empty())];
    service_opts.extend(services.iter().map(|sv| {
        let v = sv.id.0.to_string();
        let sel = v == service;
        Opt::new(v, sv.name.clone(), sel)
    }));
    let within = pick("breaching_within");
    let breaching = [
        ("", "Any SLA"),
        ("3600", "Breaching within 1 hour"),
        ("14400", "Breaching within 4 hours"),
        ("86400", "Breaching within a day"),
    ]
    .iter()
    .map(|(v, l)| Opt::new(*v, *l, *v == within))
    .collect();
    let mut priorities = vec![Opt::new("", "Any priority", pr.is_empty())];
    priorities.extend(
        Priority::ALL
            .iter()
            .map(|p| Opt::new(p.as_str(), p.as_str(), p.as_str() == pr)),
    );
    let sorts = [
        ("", "Newest first"),
        ("created_at", "Oldest first"),
        ("-updated_at", "Recently updated"),
        ("priority", "Priority (P1 first)"),
        ("sla_due", "SLA due soonest"),
    ]
    .iter()
    .map(|(v, l)| Opt::new(*v, *l, *v == sort))
    .collect();
    let mut bulk_ops = vec![
        Opt::new("assign_me", "Assign to me", false),
        Opt::new("unassign", "Unassign", false),
    ];
    bulk_ops.extend(
        bulk_steps()
            .into_iter()
            .map(|s| Opt::new(format!("step:{}", s.as_str()), label(s.as_str()), false)),
    );
    Ok((
        status,
        QueuePage {
            title: queue_name.to_string(),
            nav: web
                .nav("queues")
                .with_notice(Some(first(q, "notice")).filter(|n| !n.is_empty())),
            queue: queue.to_string(),
            queues: QUEUES
                .iter()
                .map(|(k, n)| QueueLink {
                    href: format!("/agent/queues/{k}"),
                    name: n,
                    count: count_of(k),
                    current: *k == queue,
                })
                .collect(),
            saved: saved_filters(headers),
            rows,
            kinds,
            states,
            priorities,
            team_opts,
            service_opts,
            breaching,
            sorts,
            text: pick("q"),
            error,
            empty,
            next_href,
            first_href,
            here: with(None),
            bulk_ops,
            report: report.lines,
            filtered,
        },
    ))
}

/// The steps offered in bulk: those that need at most a resolution (the
/// form has those two fields) for some kind of ticket. Whether a step is
/// legal is still decided per ticket by the store.
fn bulk_steps() -> Vec<TransitionName> {
    TransitionName::ALL
        .into_iter()
        .filter(|s| {
            TicketKind::ALL.iter().any(|k| {
                s.required_fields(*k)
                    .iter()
                    .all(|f| matches!(*f, "resolution_code" | "resolution_note"))
            })
        })
        .collect()
}

/// The most tickets one bulk action may touch (a page is at most 200).
const BULK_MAX: usize = 200;

pub async fn bulk(
    State(state): State<AppState>,
    Extension(counter): Extension<QueueCounter>,
    headers: HeaderMap,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    web.require(Permission::WorkAllTickets, "change tickets in bulk")?;
    let back = Some(f.value("back"))
        .filter(|b| b.starts_with("/agent/queues/") && super::is_local_path(b))
        .unwrap_or("/agent/queues/mine")
        .to_string();
    let ids: Vec<&str> = f.values("t").take(BULK_MAX + 1).collect();
    let op = f.value("op");
    let mut lines = Vec::new();
    counter.touch(web.auth.id());
    if ids.is_empty() {
        lines.push("Select at least one ticket first.".to_string());
    } else if ids.len() > BULK_MAX {
        lines.push(format!("Select at most {BULK_MAX} tickets at once."));
    } else {
        let mut done = 0;
        for id in ids {
            match bulk_one(&state, &web, id, op, &f).await {
                Ok(()) => done += 1,
                Err((number, e)) => lines.push(format!("{number}: {}", super::message(&e))),
            }
        }
        if lines.is_empty() {
            let sep = if back.contains('?') { '&' } else { '?' };
            return Ok(see_other(&format!("{back}{sep}notice=saved")));
        }
        lines.insert(0, format!("{done} updated, {} refused:", lines.len()));
    }
    // Show what was refused on the queue it came from.
    let (path, query) = back.split_once('?').unwrap_or((back.as_str(), ""));
    let queue = path.trim_start_matches("/agent/queues/");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let (_, page) = queue_page(
        &state,
        &counter,
        &web,
        queue,
        &params,
        &headers,
        BulkReport { lines },
    )
    .await?;
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn bulk_one(
    state: &AppState,
    web: &Web,
    id: &str,
    op: &str,
    f: &FormPairs,
) -> Result<(), (String, ApiError)> {
    let reference = id.trim().to_string();
    let ticket = tickets::visible_ticket(state, &web.auth, &reference)
        .await
        .map_err(|e| (format!("Ticket {reference}"), e))?;
    let number = ticket.number.clone();
    let fail = |e: ApiError| (number.clone(), e);
    let path = axum::extract::Path(reference);
    match op {
        "assign_me" | "unassign" => {
            let assignee = if op == "assign_me" {
                Value::from(web.auth.id().0)
            } else {
                Value::Null
            };
            let body = api_body(json!({ "assignee_id": assignee })).map_err(fail)?;
            let _ = tickets::assign(
                State(state.clone()),
                web.auth.clone(),
                HeaderMap::new(),
                path,
                body,
            )
            .await
            .map_err(fail)?;
        }
        _ => {
            let name = op.strip_prefix("step:").unwrap_or("");
            let step = name
                .parse::<TransitionName>()
                .map_err(|e| fail(ApiError::field("op", e)))?;
            let mut body = json!({ "action": step.as_str() });
            for field in step.required_fields(ticket.kind) {
                body[*field] = Value::from(f.value(field).trim());
            }
            let body = api_body(body).map_err(fail)?;
            let _ = tickets::transition(
                State(state.clone()),
                web.auth.clone(),
                HeaderMap::new(),
                path,
                body,
            )
            .await
            .map_err(fail)?;
        }
    }
    Ok(())
}

// -- saved filters (kept in a cookie of this browser) ----------------------

fn saved_filters(headers: &HeaderMap) -> Vec<Saved> {
    let Some(raw) = cookie(headers, SAVED_COOKIE) else {
        return vec![];
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(_, href)| href.starts_with("/agent/queues/") && super::is_local_path(href))
        .take(SAVED_MAX)
        .map(|(name, href)| Saved { name, href })
        .collect()
}

fn store_filters(saved: &[Saved], back: &str, notice: &str) -> Response {
    let pairs: Vec<(&str, &str)> = saved
        .iter()
        .map(|s| (s.name.as_str(), s.href.as_str()))
        .collect();
    let value = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let sep = if back.contains('?') { '&' } else { '?' };
    let mut response = see_other(&format!("{back}{sep}notice={notice}"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SAVED_COOKIE}={value}; Path=/agent; HttpOnly; SameSite=Lax; Max-Age=31536000"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

pub async fn save_filter(
    headers: HeaderMap,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let f = form.value;
    form.web
        .require(Permission::WorkAllTickets, "save queue filters")?;
    let href = f.value("href");
    if !(href.starts_with("/agent/queues/") && super::is_local_path(href)) {
        return Err(WebError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Cannot save this filter",
            "only queue pages can be saved as filters",
        ));
    }
    let name: String = f.value("name").trim().chars().take(40).collect();
    let name = if name.is_empty() {
        "Saved filter".to_string()
    } else {
        name
    };
    let mut saved = saved_filters(&headers);
    saved.retain(|s| s.name != name);
    saved.push(Saved {
        name,
        href: href.to_string(),
    });
    while saved.len() > SAVED_MAX {
        saved.remove(0);
    }
    Ok(store_filters(&saved, href, "filter_saved"))
}

pub async fn delete_filter(
    headers: HeaderMap,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let f = form.value;
    let mut saved = saved_filters(&headers);
    saved.retain(|s| s.name != f.value("name"));
    Ok(store_filters(
        &saved,
        "/agent/queues/mine",
        "filter_deleted",
    ))
}
