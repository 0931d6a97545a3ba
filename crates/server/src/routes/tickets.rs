//! /api/v1/tickets: the service desk's work items.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth, idempotency_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::transition::allowed;
use opsdesk_domain::{
    Impact, LinkKind, Permission, Priority, ServiceId, TeamId, TicketId, TicketKind, TicketState,
    Transition, TransitionName, Urgency, UserId,
};
use opsdesk_store::listing::{AssigneeFilter, QueueCounts, SortField, TicketQuery};
use opsdesk_store::tickets::{NewTicket, PriorityOverride, TicketPatch};
use opsdesk_store::{Comment, Event, Link, Page, Ticket, Visibility};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A ticket with what the caller may do next.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// The steps legal from the current state that this caller may take.
    #[schema(value_type = Vec<String>)]
    pub allowed_transitions: Vec<TransitionName>,
    #[schema(value_type = Vec<i64>)]
    pub watchers: Vec<UserId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityOverrideBody {
    #[schema(value_type = String, example = "P1")]
    pub priority: Priority,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketBody {
    #[schema(value_type = String, example = "incident")]
    pub kind: TicketKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Agents may open tickets on behalf of someone; requesters always open their own.
    #[schema(value_type = Option<i64>)]
    pub requester_id: Option<UserId>,
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<TeamId>,
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<UserId>,
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<ServiceId>,
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "medium_impact")]
    #[schema(value_type = String, example = "medium")]
    pub impact: Impact,
    #[serde(default = "medium_urgency")]
    #[schema(value_type = String, example = "medium")]
    pub urgency: Urgency,
    pub priority_override: Option<PriorityOverrideBody>,
}

fn medium_impact() -> Impact {
    Impact::Medium
}
fn medium_urgency() -> Urgency {
    Urgency::Medium
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketBody {
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<TeamId>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<Option<ServiceId>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<String>)]
    pub impact: Option<Impact>,
    #[schema(value_type = Option<String>)]
    pub urgency: Option<Urgency>,
    /// An object sets a manual priority; `null` returns to the computed one.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    pub priority_override: Option<Option<PriorityOverrideBody>>,
    /// The `version` you read; the update is refused if the ticket changed since.
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<TeamId>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub body: String,
    #[serde(default = "public")]
    pub visibility: Visibility,
}

fn public() -> Visibility {
    Visibility::Public
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[schema(value_type = String, example = "caused_by")]
    pub kind: LinkKind,
    /// Id or number (e.g. "CHG-000012") of the other ticket.
    #[schema(value_type = String)]
    pub target: TicketRef,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// Id or number of the ticket that lives on.
    #[schema(value_type = String)]
    pub survivor: TicketRef,
}

/// A ticket named by id (42) or number ("INC-000042").
#[derive(Debug, Clone)]
pub struct TicketRef(pub String);

impl<'de> Deserialize<'de> for TicketRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(i64),
            Number(String),
        }
        Ok(TicketRef(match Raw::deserialize(d)? {
            Raw::Id(i) => i.to_string(),
            Raw::Number(s) => s,
        }))
    }
}

/// Loads a ticket the caller may see. A requester asking for somebody
/// else's ticket gets the same 404 as for one that does not exist.
pub async fn visible_ticket(state: &AppState, auth: &Auth, reference: &str) -> ApiResult<Ticket> {
    let not_found = || ApiError::not_found(format!("ticket {reference} not found"));
    let ticket = match reference.parse::<i64>() {
        Ok(id) => state.store.get_ticket(TicketId(id)).await,
        Err(_) => state.store.get_ticket_by_number(reference).await,
    }
    .map_err(|e| match e {
        opsdesk_store::StoreError::NotFound { .. } => not_found(),
        other => other.into(),
    })?;
    if !auth.actor.can_see_ticket(ticket.requester_id) {
        return Err(not_found());
    }
    Ok(ticket)
}

async fn resolve_target(
    state: &AppState,
    auth: &Auth,
    field: &str,
    r: &TicketRef,
) -> ApiResult<Ticket> {
    visible_ticket(state, auth, &r.0)
        .await
        .map_err(|_| ApiError::field(field, format!("ticket {} does not exist", r.0)))
}

async fn view(state: &AppState, auth: &Auth, ticket: Ticket) -> ApiResult<TicketView> {
    let watchers = state.store.watchers(ticket.id).await?;
    Ok(view_with_watchers(auth, ticket, watchers))
}

fn view_with_watchers(auth: &Auth, ticket: Ticket, watchers: Vec<UserId>) -> TicketView {
    let allowed_transitions = allowed(ticket.kind, ticket.state)
        .into_iter()
        .filter(|step| auth.actor.may_take_step(ticket.requester_id, *step))
        .collect();
    TicketView {
        ticket,
        allowed_transitions,
        watchers,
    }
}

fn to_override(o: PriorityOverrideBody) -> PriorityOverride {
    PriorityOverride {
        priority: o.priority,
        reason: o.reason,
    }
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = CreateTicketBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation")),
    responses((status = 201, body = TicketView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: ApiJson<CreateTicketBody>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    auth.require(Permission::CreateTicket, "open tickets")?;
    let idem = idempotency_key(&headers, "POST /api/v1/tickets", &body.body_hash)?;
    let b = body.value;
    let agent = auth.actor.can(Permission::WorkAllTickets);
    if !agent {
        // Requesters describe their problem; routing and priority overrides are the desk's call.
        for (given, field) in [
            (
                b.requester_id.is_some_and(|r| r != auth.id()),
                "requester_id",
            ),
            (b.team_id.is_some(), "team_id"),
            (b.assignee_id.is_some(), "assignee_id"),
            (b.priority_override.is_some(), "priority_override"),
        ] {
            if given {
                return Err(ApiError::forbidden(format!(
                    "requesters may not set {field}"
                )));
            }
        }
        if matches!(b.kind, TicketKind::Problem | TicketKind::Change) {
            return Err(ApiError::forbidden(format!(
                "requesters may open incidents and service requests, not {}s",
                b.kind
            )));
        }
    }
    let new = NewTicket {
        kind: b.kind,
        title: b.title,
        description: b.description,
        requester_id: b.requester_id.unwrap_or(auth.id()),
        team_id: b.team_id,
        assignee_id: b.assignee_id,
        service_id: b.service_id,
        category: b.category,
        tags: b.tags,
        impact: b.impact,
        urgency: b.urgency,
        priority_override: b.priority_override.map(to_override),
    };
    let (ticket, watchers) = state
        .store
        .create_ticket_with_watchers(new, Timestamp::now(), auth.id(), idem.as_ref())
        .await?;
    metrics::counter!("opsdesk_tickets_created_total", "kind" => ticket.kind.as_str()).increment(1);
    Ok((
        StatusCode::CREATED,
        Json(view_with_watchers(&auth, ticket, watchers)),
    ))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}", tag = "tickets",
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = TicketView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> ApiResult<Json<TicketView>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    Ok(Json(view(&state, &auth, ticket).await?))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{ticket}", tag = "tickets", request_body = UpdateTicketBody,
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = TicketView), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<UpdateTicketBody>,
) -> ApiResult<Json<TicketView>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    auth.require(Permission::WorkAllTickets, "change tickets")?;
    let idem = idempotency_key(&headers, "PATCH /api/v1/tickets/{ticket}", &body.body_hash)?;
    let b = body.value;
    let patch = TicketPatch {
        title: b.title,
        description: b.description,
        team_id: b.team_id,
        assignee_id: b.assignee_id,
        service_id: b.service_id,
        category: b.category,
        tags: b.tags,
        impact: b.impact,
        urgency: b.urgency,
        priority_override: b.priority_override.map(|o| o.map(to_override)),
        expected_version: b.version,
    };
    if patch.is_empty() {
        return Err(ApiError::bad_request(
            "the update changes nothing; send at least one field",
        ));
    }
    let ticket = state
        .store
        .update_ticket(ticket.id, patch, Timestamp::now(), auth.id(), idem.as_ref())
        .await?;
    Ok(Json(view(&state, &auth, ticket).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/assign", tag = "tickets", request_body = AssignBody,
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = TicketView)))]
pub async fn assign(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<AssignBody>,
) -> ApiResult<Json<TicketView>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    auth.require(Permission::WorkAllTickets, "assign tickets")?;
    let idem = idempotency_key(
        &headers,
        "POST /api/v1/tickets/{ticket}/assign",
        &body.body_hash,
    )?;
    if body.value.team_id.is_none() && body.value.assignee_id.is_none() {
        return Err(ApiError::bad_request(
            "send team_id and/or assignee_id (null to clear)",
        ));
    }
    let patch = TicketPatch {
        team_id: body.value.team_id,
        assignee_id: body.value.assignee_id,
        ..Default::default()
    };
    let ticket = state
        .store
        .update_ticket(ticket.id, patch, Timestamp::now(), auth.id(), idem.as_ref())
        .await?;
    Ok(Json(view(&state, &auth, ticket).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/transitions", tag = "tickets",
    request_body(content = serde_json::Value, description = r#"{"action": "hold", "reason": "awaiting_customer"}; see docs/state-machines.md"#),
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = TicketView), (status = 409, body = crate::error::Problem, description = "Illegal in the current state; lists allowed_transitions")))]
pub async fn transition(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<Transition>,
) -> ApiResult<Json<TicketView>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    let step = body.value;
    if !auth.actor.may_take_step(ticket.requester_id, step.name()) {
        return Err(ApiError::forbidden(format!(
            "requesters may reopen, close or cancel their own tickets, not '{}'",
            step.name()
        )));
    }
    let idem = idempotency_key(
        &headers,
        "POST /api/v1/tickets/{ticket}/transitions",
        &body.body_hash,
    )?;
    let ticket = state
        .store
        .transition_ticket(
            ticket.id,
            &step,
            state.config.reopen,
            Timestamp::now(),
            auth.actor,
            idem.as_ref(),
        )
        .await?;
    Ok(Json(view(&state, &auth, ticket).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    #[serde(flatten)]
    pub comment: Comment,
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/comments", tag = "tickets", request_body = CommentBody,
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 201, body = Comment)))]
pub async fn add_comment(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<CommentBody>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    if body.value.visibility == Visibility::Internal {
        auth.require(Permission::InternalNotes, "write internal notes")?;
    }
    let idem = idempotency_key(
        &headers,
        "POST /api/v1/tickets/{ticket}/comments",
        &body.body_hash,
    )?;
    let comment = state
        .store
        .add_comment(
            ticket.id,
            body.value.visibility,
            &body.value.body,
            Timestamp::now(),
            auth.actor,
            idem.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/comments", tag = "tickets",
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = Vec<Comment>)))]
pub async fn comments(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> ApiResult<Json<Vec<Comment>>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    let internal = auth.actor.can(Permission::InternalNotes);
    Ok(Json(state.store.list_comments(ticket.id, internal).await?))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/timeline", tag = "tickets",
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = Vec<Event>)))]
pub async fn timeline(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> ApiResult<Json<Vec<Event>>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    let internal = auth.actor.can(Permission::InternalNotes);
    Ok(Json(state.store.timeline(ticket.id, internal).await?))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/links", tag = "tickets",
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 200, body = Vec<Link>)))]
pub async fn links(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> ApiResult<Json<Vec<Link>>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    let mut links = state.store.list_links(ticket.id).await?;
    if !auth.actor.can(Permission::WorkAllTickets) {
        // A requester learns nothing about tickets that are not theirs.
        let mut visible = Vec::new();
        for l in links.drain(..) {
            let other = if l.source_id == ticket.id {
                l.target_id
            } else {
                l.source_id
            };
            if state
                .store
                .get_ticket(other)
                .await
                .is_ok_and(|t| auth.actor.can_see_ticket(t.requester_id))
            {
                visible.push(l);
            }
        }
        links = visible;
    }
    Ok(Json(links))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/links", tag = "tickets", request_body = LinkBody,
    params(("ticket" = String, Path, description = "Id or number")),
    responses((status = 201, body = Link), (status = 409, body = crate::error::Problem)))]
pub async fn link(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<LinkBody>,
) -> ApiResult<(StatusCode, Json<Link>)> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    auth.require(Permission::WorkAllTickets, "link tickets")?;
    let idem = idempotency_key(
        &headers,
        "POST /api/v1/tickets/{ticket}/links",
        &body.body_hash,
    )?;
    let target = resolve_target(&state, &auth, "target", &body.value.target).await?;
    let link = state
        .store
        .link_tickets(
            ticket.id,
            body.value.kind,
            target.id,
            Timestamp::now(),
            auth.id(),
            idem.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{ticket}/links/{target}", tag = "tickets",
    params(("ticket" = String, Path), ("target" = String, Path)),
    responses((status = 204)))]
pub async fn unlink(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, target)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    auth.require(Permission::WorkAllTickets, "unlink tickets")?;
    let target = visible_ticket(&state, &auth, &target).await?;
    state
        .store
        .unlink_tickets(ticket.id, target.id, Timestamp::now(), auth.id())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/merge", tag = "tickets", request_body = MergeBody,
    params(("ticket" = String, Path, description = "The duplicate (id or number)")),
    responses((status = 200, body = TicketView, description = "The survivor")))]
pub async fn merge(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: ApiJson<MergeBody>,
) -> ApiResult<Json<TicketView>> {
    let duplicate = visible_ticket(&state, &auth, &reference).await?;
    auth.require(Permission::WorkAllTickets, "merge tickets")?;
    let idem = idempotency_key(
        &headers,
        "POST /api/v1/tickets/{ticket}/merge",
        &body.body_hash,
    )?;
    let survivor = resolve_target(&state, &auth, "survivor", &body.value.survivor).await?;
    let survivor = state
        .store
        .merge_tickets(
            duplicate.id,
            survivor.id,
            Timestamp::now(),
            auth.id(),
            idem.as_ref(),
        )
        .await?;
    Ok(Json(view(&state, &auth, survivor).await?))
}

#[utoipa::path(get, path = "/api/v1/queues/counts", tag = "tickets", responses((status = 200, body = QueueCounts)))]
pub async fn counts(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<QueueCounts>> {
    let agent = auth.actor.can(Permission::WorkAllTickets);
    Ok(Json(state.store.queue_counts(auth.id(), agent).await?))
}

/// The list filters, all optional. Lists are comma-separated.
const LIST_PARAMS: &[&str] = &[
    "breaching_within",
    "kind",
    "state",
    "open",
    "priority",
    "team_id",
    "assignee",
    "requester_id",
    "service_id",
    "tag",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "q",
    "sort",
    "cursor",
    "limit",
];

fn parse_list<T: std::str::FromStr<Err = String>>(field: &str, value: &str) -> ApiResult<Vec<T>> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse::<T>().map_err(|e| ApiError::field(field, e)))
        .collect()
}

fn parse_int(field: &str, value: &str) -> ApiResult<i64> {
    value
        .parse()
        .map_err(|_| ApiError::field(field, format!("'{value}' is not a whole number")))
}

/// The longest look-ahead `breaching_within` accepts.
const BREACHING_WITHIN_MAX: SignedDuration = SignedDuration::from_hours(24 * 366);

/// A duration as whole seconds (`3600`) or ISO 8601 (`PT1H`), as the API
/// takes durations everywhere; between zero and `max`.
pub fn parse_duration(field: &str, value: &str, max: SignedDuration) -> ApiResult<SignedDuration> {
    let parsed = match value.parse::<i64>() {
        Ok(seconds) => Some(SignedDuration::from_secs(seconds)),
        Err(_) => value.parse::<SignedDuration>().ok(),
    };
    let d = parsed.ok_or_else(|| {
        ApiError::field(
            field,
            format!("'{value}' is not a duration; give seconds (3600) or ISO 8601 (PT1H)"),
        )
    })?;
    if d.is_negative() || d > max {
        return Err(ApiError::field(
            field,
            format!("must be between 0 and {} seconds", max.as_secs()),
        ));
    }
    Ok(d)
}

fn parse_time(field: &str, value: &str) -> ApiResult<Timestamp> {
    value.parse().map_err(|_| {
        ApiError::field(
            field,
            format!("'{value}' is not an RFC 3339 time such as 2026-01-31T09:00:00Z"),
        )
    })
}

/// Builds a store query from URL parameters, refusing unknown ones.
pub fn parse_query(auth: &Auth, params: &HashMap<String, String>) -> ApiResult<TicketQuery> {
    if let Some(unknown) = params.keys().find(|k| !LIST_PARAMS.contains(&k.as_str())) {
        return Err(ApiError::field(
            unknown.clone(),
            format!("is not a filter; use one of: {}", LIST_PARAMS.join(", ")),
        ));
    }
    // PostgreSQL text cannot hold U+0000; refuse it the same on every backend.
    if let Some(key) = params
        .iter()
        .find(|(_, v)| v.contains('\0'))
        .map(|(k, _)| k)
    {
        return Err(ApiError::field(
            key.clone(),
            "must not contain NUL (%00) characters",
        ));
    }
    let mut q = TicketQuery::default();
    for (key, value) in params {
        let v = value.as_str();
        match key.as_str() {
            "kind" => q.kinds = parse_list("kind", v)?,
            "state" => q.states = parse_list::<TicketState>("state", v)?,
            "open" => {
                q.open = Some(match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::field("open", "must be true or false")),
                })
            }
            "priority" => q.priorities = parse_list("priority", v)?,
            "team_id" => {
                q.team_ids = v
                    .split(',')
                    .map(|t| parse_int("team_id", t.trim()).map(TeamId))
                    .collect::<ApiResult<_>>()?
            }
            "assignee" => {
                q.assignee = Some(match v {
                    "me" => AssigneeFilter::User(auth.id()),
                    "none" => AssigneeFilter::Unassigned,
                    id => AssigneeFilter::User(UserId(id.parse().map_err(|_| {
                        ApiError::field("assignee", "must be a user id, 'me' or 'none'")
                    })?)),
                })
            }
            "requester_id" => q.requester_id = Some(UserId(parse_int("requester_id", v)?)),
            "service_id" => q.service_id = Some(ServiceId(parse_int("service_id", v)?)),
            "tag" => q.tag = Some(v.to_string()),
            "breaching_within" => {
                let within = parse_duration("breaching_within", v, BREACHING_WITHIN_MAX)?;
                q.sla_due_before = Some(Timestamp::now().checked_add(within).map_err(|_| {
                    ApiError::field("breaching_within", "reaches past the end of time")
                })?);
            }
            "created_after" => q.created_after = Some(parse_time("created_after", v)?),
            "created_before" => q.created_before = Some(parse_time("created_before", v)?),
            "updated_after" => q.updated_after = Some(parse_time("updated_after", v)?),
            "updated_before" => q.updated_before = Some(parse_time("updated_before", v)?),
            "q" => {
                if v.len() > 500 {
                    return Err(ApiError::field("q", "must be at most 500 characters"));
                }
                q.text = Some(v.to_string())
            }
            "sort" => {
                let (field, desc) = SortField::parse(v).map_err(|e| ApiError::field("sort", e))?;
                q.sort = field;
                q.descending = desc;
            }
            "cursor" => q.cursor = Some(v.to_string()),
            "limit" => {
                q.limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=opsdesk_domain::limits::PAGE_SIZE_MAX).contains(l))
                    .ok_or_else(|| {
                        ApiError::field(
                            "limit",
                            format!("must be 1 to {}", opsdesk_domain::limits::PAGE_SIZE_MAX),
                        )
                    })?
            }
            _ => {}
        }
    }
    if !auth.actor.can(Permission::WorkAllTickets) {
        // Requesters list only their own tickets, whatever they ask for.
        q.requester_id = Some(auth.id());
    }
    Ok(q)
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    params(
        ("kind" = Option<String>, Query, description = "incident,service_request,problem,change"),
        ("state" = Option<String>, Query), ("open" = Option<bool>, Query), ("priority" = Option<String>, Query),
        ("team_id" = Option<String>, Query), ("assignee" = Option<String>, Query, description = "user id, me or none"),
        ("requester_id" = Option<i64>, Query), ("service_id" = Option<i64>, Query), ("tag" = Option<String>, Query),
        ("created_after" = Option<String>, Query), ("created_before" = Option<String>, Query),
        ("updated_after" = Option<String>, Query), ("updated_before" = Option<String>, Query),
        ("q" = Option<String>, Query, description = "Full-text search over title and description"),
        ("breaching_within" = Option<String>, Query, description = "Only tickets whose earliest running SLA clock is due within this duration (seconds or ISO 8601, e.g. PT1H); overdue ones included"),
        ("sort" = Option<String>, Query, description = "created_at, updated_at, priority or sla_due (time to breach; lists tickets with a running SLA clock); '-' prefix for descending (default -created_at)"),
        ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query, description = "1..200, default 50"),
    ),
    responses((status = 200, body = Page<Ticket>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Page<Ticket>>> {
    let q = parse_query(&auth, &params)?;
    Ok(Json(state.store.list_tickets(&q).await?))
}
