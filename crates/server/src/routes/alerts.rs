//! Alert intake and its configuration. Thin: bodies are parsed and checked
//! by the domain (`opsdesk_domain::alerts::intake`), the pipeline runs in
//! the store (`Store::ingest_alerts`), one write per request.
//!
//! The intake routes authenticate by integration key only (in the path, or
//! PagerDuty's `routing_key`), never by bearer token: monitoring systems
//! cannot sign in. They answer 2xx only once the batch is durable.

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::extract::{ApiJson, Auth};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::alerts::{
    AlertStatus, AlertmanagerWebhook, FlapPolicy, GroupBy, InhibitRule, MaintenanceSchedule,
    Matchers, PagerDutyEvent, Route, RouteAction, UrgencyMap, parse_generic,
};
use opsdesk_domain::{FieldError, Impact, Permission, ServiceId, TicketId};
use opsdesk_store::alerts::{
    Alert, AlertQuery, InhibitionRuleInput, InhibitionRuleRecord, IntakeBatch, IntakeResult,
    Integration, IntegrationInput, MaintenanceWindowInput, MaintenanceWindowRecord, ServiceNoise,
    SilenceInput, SilenceRecord,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Largest intake body, in bytes (5 MiB): room for a full Alertmanager
/// batch with long annotations, refused with 413 beyond.
pub const INTAKE_BODY_LIMIT: usize = 5 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Intake
// ---------------------------------------------------------------------------

fn unsupported(content_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!("send the body as application/json (got '{content_type}')"),
    )
}

fn check_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(unsupported(content_type))
    }
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, INTAKE_BODY_LIMIT)
        .await
        .map_err(|e| {
            // axum reports the limit as a wrapped `LengthLimitError`.
            let mut too_large = false;
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                too_large |= c.to_string().contains("length limit");
                cause = c.source();
            }
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Body too large",
                    format!("the request body is over the intake limit of {INTAKE_BODY_LIMIT} bytes; send smaller batches"),
                )
            } else {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            }
        })
}

/// 400 for a body that is not JSON at all, 422 naming every field
/// otherwise (a JSON body of the wrong shape is named as `body`).
fn refused(bytes: &[u8], errors: Vec<FieldError>) -> ApiError {
    let only_body = errors.len() == 1
        && errors[0].field == "body"
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err();
    let mut e = if only_body {
        ApiError::bad_request(errors[0].message.clone())
    } else {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            format!(
                "the batch was refused whole, nothing was stored: {}",
                errors
                    .iter()
                    .take(5)
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    };
    e.problem.errors = errors
        .into_iter()
        .take(100)
        .map(|f| FieldProblem {
            field: f.field,
            message: f.message,
        })
        .collect();
    e
}

async fn integration_for(state: &AppState, key: &str) -> ApiResult<Arc<Integration>> {
    state
        .store
        .intake_integration(key)
        .await?
        .ok_or_else(|| ApiError::not_found("no enabled integration has this key"))
}

fn count_intake(format: &'static str, result: &IntakeResult) {
    metrics::counter!("opsdesk_alerts_received_total", "format" => format)
        .increment(result.received as u64);
    metrics::counter!("opsdesk_alerts_new_total", "format" => format).increment(result.new as u64);
    metrics::counter!("opsdesk_alert_incidents_opened_total")
        .increment(result.incidents_opened.len() as u64);
    if result.truncated_alerts > 0 {
        metrics::counter!("opsdesk_alerts_truncated_total", "format" => format)
            .increment(result.truncated_alerts);
    }
}

/// Prometheus Alertmanager's webhook (version 4): every alert of the body,
/// firing and resolved. `truncated_alerts` in the answer echoes
/// `truncatedAlerts` (alerts Alertmanager left out; raise `max_alerts`).
#[utoipa::path(post, path = "/api/v1/integrations/alertmanager/{integration_key}", tag = "alerts",
    security(()),
    params(("integration_key" = String, Path, description = "the key shown when the integration was created")),
    request_body(content = Object, description = "Alertmanager webhook body, version 4"),
    responses((status = 200, body = IntakeResult), (status = 404, description = "unknown key"),
              (status = 413, description = "body over 5 MiB"), (status = 415, description = "not JSON"),
              (status = 422, description = "invalid; every field named, nothing stored")))]
pub async fn alertmanager(
    State(state): State<AppState>,
    Path(integration_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<IntakeResult>> {
    check_json(&headers)?;
    let integration = integration_for(&state, &integration_key).await?;
    let bytes = read_body(body).await?;
    let webhook: AlertmanagerWebhook = serde_json::from_slice(&bytes).map_err(|e| {
        refused(
            &bytes,
            vec![FieldError::new(
                "body",
                format!("is not an Alertmanager webhook: {e}"),
            )],
        )
    })?;
    let truncated = webhook.truncated_alerts;
    let signals = webhook
        .into_signals()
        .map_err(|errors| refused(&bytes, errors))?;
    let result = state
        .store
        .ingest_alerts(
            &integration,
            IntakeBatch { signals, truncated },
            Timestamp::now(),
        )
        .await?;
    count_intake("alertmanager", &result);
    Ok(Json(result))
}

/// Our generic JSON: `{"alerts": [{"labels": {...}, "status": "firing", ...}]}`
/// (schema in docs/alerts.md).
#[utoipa::path(post, path = "/api/v1/integrations/generic/{integration_key}", tag = "alerts",
    security(()),
    params(("integration_key" = String, Path)),
    request_body(content = Object, description = "{\"alerts\": [...]}, 1 to 1,000 alerts"),
    responses((status = 200, body = IntakeResult), (status = 404, description = "unknown key"),
              (status = 413, description = "body over 5 MiB"), (status = 415, description = "not JSON"),
              (status = 422, description = "invalid; every field named, nothing stored")))]
pub async fn generic(
    State(state): State<AppState>,
    Path(integration_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<IntakeResult>> {
    check_json(&headers)?;
    let integration = integration_for(&state, &integration_key).await?;
    let bytes = read_body(body).await?;
    let signals = parse_generic(&bytes).map_err(|errors| refused(&bytes, errors))?;
    let result = state
        .store
        .ingest_alerts(
            &integration,
            IntakeBatch {
                signals,
                truncated: 0,
            },
            Timestamp::now(),
        )
        .await?;
    count_intake("generic", &result);
    Ok(Json(result))
}

/// PagerDuty's answer to an accepted event.
#[derive(Debug, Serialize, ToSchema)]
pub struct PagerDutyAccepted {
    /// `success`.
    pub status: String,
    /// `Event processed`.
    pub message: String,
    pub dedup_key: String,
}

/// PagerDuty's answer to an invalid event.
#[derive(Debug, Serialize, ToSchema)]
pub struct PagerDutyInvalid {
    /// `invalid event`.
    pub status: String,
    /// `Event object is invalid`.
    pub message: String,
    /// One line per problem, `field: message`.
    pub errors: Vec<String>,
}

fn pagerduty_invalid(errors: Vec<FieldError>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(PagerDutyInvalid {
            status: "invalid event".into(),
            message: "Event object is invalid".into(),
            errors: errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect(),
        }),
    )
        .into_response()
}

/// PagerDuty Events API v2 (`routing_key` = integration key): `trigger`,
/// `acknowledge`, `resolve`. Answers like PagerDuty: 202 with the
/// `dedup_key` (made up for a trigger without one), 400 with `errors` for
/// an invalid event.
#[utoipa::path(post, path = "/v2/enqueue", tag = "alerts",
    security(()),
    request_body(content = Object, description = "a PagerDuty Events API v2 event"),
    responses((status = 202, body = PagerDutyAccepted), (status = 400, body = PagerDutyInvalid),
              (status = 404, description = "unknown routing_key"), (status = 413, description = "body over 5 MiB"),
              (status = 415, description = "not JSON")))]
pub async fn pagerduty(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_json(&headers)?;
    let bytes = read_body(body).await?;
    let mut event: PagerDutyEvent = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => {
            return Ok(pagerduty_invalid(vec![FieldError::new(
                "body",
                format!("is not a PagerDuty Events API v2 event: {e}"),
            )]));
        }
    };
    if event.routing_key.trim().is_empty() {
        return Ok(pagerduty_invalid(vec![FieldError::new(
            "routing_key",
            "must not be empty",
        )]));
    }
    let integration = integration_for(&state, &event.routing_key).await?;
    if event.event_action == "trigger" && event.dedup_key.as_deref().is_none_or(str::is_empty) {
        // PagerDuty makes up a key for a trigger without one; so do we.
        event.dedup_key = Some(hex::encode(rand::random::<[u8; 16]>()));
    }
    let signal = match event.to_signal() {
        Ok(s) => s,
        Err(errors) => return Ok(pagerduty_invalid(errors)),
    };
    let dedup_key = signal.dedup_key.clone().unwrap_or_default();
    let result = state
        .store
        .ingest_alerts(
            &integration,
            IntakeBatch {
                signals: vec![signal],
                truncated: 0,
            },
            Timestamp::now(),
        )
        .await?;
    count_intake("pagerduty", &result);
    Ok((
        StatusCode::ACCEPTED,
        Json(PagerDutyAccepted {
            status: "success".into(),
            message: "Event processed".into(),
            dedup_key,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Integrations
// ---------------------------------------------------------------------------

fn default_action() -> RouteAction {
    RouteAction::TicketOnly
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationBody {
    pub name: String,
    /// The default service: alerts no route matches go here.
    pub service_id: i64,
    /// For unrouted alerts: `page`, `ticket_only` (default) or `record_only`.
    #[serde(default = "default_action")]
    #[schema(value_type = Option<String>)]
    pub action: RouteAction,
    /// Severity → incident urgency: `{"critical": "high", "error": "high", "warning": "medium", "info": "low"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub urgency: UrgencyMap,
    /// `high`, `medium` (default) or `low`: the impact of incidents opened
    /// for unrouted alerts.
    #[serde(default = "opsdesk_domain::alerts::default_incident_impact")]
    #[schema(value_type = Option<String>)]
    pub impact: Impact,
    /// Default `["alertname"]`; `[]` one group per service; `["..."]` no grouping.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub group_by: GroupBy,
    /// ISO 8601, e.g. `PT30M`: how long an incident takes new alerts.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub group_window: Option<SignedDuration>,
    /// Resolve the incident when all its alerts resolved.
    #[serde(default)]
    pub auto_resolve: bool,
    /// `{"max_transitions": 6, "window": "PT1H"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub flap: FlapPolicy,
}

impl IntegrationBody {
    fn into_input(self) -> IntegrationInput {
        IntegrationInput {
            name: self.name,
            service_id: ServiceId(self.service_id),
            action: self.action,
            urgency: self.urgency,
            impact: self.impact,
            group_by: self.group_by,
            group_window: self.group_window,
            auto_resolve: self.auto_resolve,
            flap: self.flap,
        }
    }
}

/// A new integration with its key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedIntegration {
    #[serde(flatten)]
    pub integration: Integration,
    /// The integration key; only its digest is stored.
    pub key: String,
    /// Where Alertmanager posts (webhook_configs url).
    pub alertmanager_path: String,
    pub generic_path: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesBody {
    /// In order: `[{"name": "db", "matchers": "team=\"db\"", "service": 3, "action": "page"}]`.
    #[schema(value_type = Vec<Object>)]
    pub routes: Vec<Route>,
}

#[utoipa::path(get, path = "/api/v1/integrations", tag = "alerts", responses((status = 200, body = Vec<Integration>)))]
pub async fn list_integrations(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Integration>>> {
    auth.require(Permission::WorkAllTickets, "list alert integrations")?;
    Ok(Json(state.store.list_integrations().await?))
}

#[utoipa::path(post, path = "/api/v1/integrations", tag = "alerts", request_body = IntegrationBody, responses((status = 201, body = CreatedIntegration)))]
pub async fn create_integration(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<IntegrationBody>,
) -> ApiResult<(StatusCode, Json<CreatedIntegration>)> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "create alert integrations",
    )?;
    let (integration, key) = state
        .store
        .create_integration(body.value.into_input(), auth.id(), Timestamp::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIntegration {
            integration,
            alertmanager_path: format!("/api/v1/integrations/alertmanager/{key}"),
            generic_path: format!("/api/v1/integrations/generic/{key}"),
            key,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = Integration)))]
pub async fn show_integration(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Integration>> {
    auth.require(Permission::WorkAllTickets, "look up alert integrations")?;
    Ok(Json(state.store.get_integration(id).await?))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}", tag = "alerts", request_body = IntegrationBody, params(("id" = i64, Path)), responses((status = 200, body = Integration)))]
pub async fn update_integration(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<IntegrationBody>,
) -> ApiResult<Json<Integration>> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "change alert integrations",
    )?;
    Ok(Json(
        state
            .store
            .update_integration(id, body.value.into_input(), auth.id(), Timestamp::now())
            .await?,
    ))
}

/// Disables the integration: its key stops working; alerts and incidents stay.
#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = Integration)))]
pub async fn disable_integration(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Integration>> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "disable alert integrations",
    )?;
    Ok(Json(
        state
            .store
            .disable_integration(id, auth.id(), Timestamp::now())
            .await?,
    ))
}

/// Replaces the integration's routing rules (validated as one ordered list).
#[utoipa::path(put, path = "/api/v1/integrations/{id}/routes", tag = "alerts", request_body = RoutesBody, params(("id" = i64, Path)), responses((status = 200, body = Integration)))]
pub async fn set_routes(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<RoutesBody>,
) -> ApiResult<Json<Integration>> {
    auth.require(Permission::ManageTeamsAndServices, "change alert routes")?;
    Ok(Json(
        state
            .store
            .set_alert_routes(id, body.value.routes, auth.id(), Timestamp::now())
            .await?,
    ))
}

// ---------------------------------------------------------------------------
// Alerts and noise
// ---------------------------------------------------------------------------

fn int_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::field(name, format!("'{v}' is not a whole number")))
        })
        .transpose()
}

fn time_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<Timestamp>> {
    params
        .get(name)
        .map(|v| {
            v.parse::<Timestamp>()
                .map_err(|e| ApiError::field(name, format!("'{v}' is not an RFC 3339 time: {e}")))
        })
        .transpose()
}

/// A page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    pub alerts: Vec<Alert>,
    /// Pass as `before_id` for the next page; `null` on the last one.
    pub next_before_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    params(
        ("status" = Option<String>, Query, description = "firing, acknowledged or resolved"),
        ("service_id" = Option<i64>, Query),
        ("integration_id" = Option<i64>, Query),
        ("incident_id" = Option<i64>, Query, description = "the alerts of one incident"),
        ("suppressed" = Option<bool>, Query),
        ("before_id" = Option<i64>, Query, description = "from next_before_id"),
        ("limit" = Option<i64>, Query, description = "1-1000, default 100"),
    ),
    responses((status = 200, body = AlertPage)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<AlertPage>> {
    auth.require(Permission::WorkAllTickets, "list alerts")?;
    for name in params.keys() {
        if ![
            "status",
            "service_id",
            "integration_id",
            "incident_id",
            "suppressed",
            "before_id",
            "limit",
        ]
        .contains(&name.as_str())
        {
            return Err(ApiError::field(
                name.clone(),
                "is not a filter of this list",
            ));
        }
    }
    let status = params
        .get("status")
        .map(|s| {
            s.parse::<AlertStatus>()
                .map_err(|e| ApiError::field("status", e))
        })
        .transpose()?;
    let suppressed = params
        .get("suppressed")
        .map(|s| match s.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ApiError::field(
                "suppressed",
                format!("'{other}' is not true or false"),
            )),
        })
        .transpose()?;
    let limit = int_param(&params, "limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let q = AlertQuery {
        status,
        service_id: int_param(&params, "service_id")?.map(ServiceId),
        integration_id: int_param(&params, "integration_id")?,
        incident_id: int_param(&params, "incident_id")?.map(TicketId),
        suppressed,
        before_id: int_param(&params, "before_id")?,
        limit,
    };
    let alerts = state.store.list_alerts(&q).await?;
    let next_before_id = (alerts.len() as i64 == limit)
        .then(|| alerts.last().map(|a| a.id))
        .flatten();
    Ok(Json(AlertPage {
        alerts,
        next_before_id,
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = Alert)))]
pub async fn show_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Alert>> {
    auth.require(Permission::WorkAllTickets, "look up alerts")?;
    Ok(Json(state.store.get_alert(id).await?))
}

/// Acknowledges a firing alert: someone is on it. Acknowledging an
/// acknowledged alert changes nothing; a resolved alert is a 409.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Alert), (status = 409, description = "the alert is resolved")))]
pub async fn acknowledge_alert(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Alert>> {
    auth.require(Permission::WorkAllTickets, "acknowledge alerts")?;
    Ok(Json(
        state
            .store
            .acknowledge_alert(id, auth.id(), Timestamp::now())
            .await?,
    ))
}

/// Noise counters per service over whole UTC days: what arrived and where
/// it went (deduplicated, suppressed, grouped...), and the share that
/// never became an incident.
#[utoipa::path(get, path = "/api/v1/alert-noise", tag = "alerts",
    params(
        ("service_id" = Option<i64>, Query),
        ("from" = Option<String>, Query, description = "RFC 3339; default 7 days ago"),
        ("to" = Option<String>, Query, description = "RFC 3339; default now"),
    ),
    responses((status = 200, body = Vec<ServiceNoise>)))]
pub async fn noise(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<ServiceNoise>>> {
    auth.require(Permission::WorkAllTickets, "read alert noise metrics")?;
    let now = Timestamp::now();
    let to = time_param(&params, "to")?.unwrap_or(now);
    let from = time_param(&params, "from")?.unwrap_or_else(|| {
        to.checked_sub(SignedDuration::from_hours(24 * 7))
            .unwrap_or(to)
    });
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    let service = int_param(&params, "service_id")?.map(ServiceId);
    Ok(Json(state.store.noise_metrics(service, from, to).await?))
}

// ---------------------------------------------------------------------------
// Silences
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// Alertmanager syntax: `{alertname="DiskFull", instance=~"db-.*"}`.
    #[schema(value_type = String)]
    pub matchers: Matchers,
    /// RFC 3339; default now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// Why (required).
    pub comment: String,
}

impl SilenceBody {
    fn into_input(self, now: Timestamp) -> SilenceInput {
        SilenceInput {
            matchers: self.matchers,
            starts_at: self.starts_at.unwrap_or(now),
            ends_at: self.ends_at,
            comment: self.comment,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/silences", tag = "alerts",
    params(("expired" = Option<bool>, Query, description = "include expired silences")),
    responses((status = 200, body = Vec<SilenceRecord>)))]
pub async fn list_silences(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<SilenceRecord>>> {
    auth.require(Permission::WorkAllTickets, "list silences")?;
    let expired = match params.get("expired").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::field(
                "expired",
                format!("'{other}' is not true or false"),
            ));
        }
    };
    Ok(Json(
        state.store.list_silences(Timestamp::now(), expired).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/silences", tag = "alerts", request_body = SilenceBody, responses((status = 201, body = SilenceRecord)))]
pub async fn create_silence(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<SilenceBody>,
) -> ApiResult<(StatusCode, Json<SilenceRecord>)> {
    auth.require(Permission::ManageTeamsAndServices, "create silences")?;
    let now = Timestamp::now();
    let s = state
        .store
        .create_silence(body.value.into_input(now), auth.id(), now)
        .await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[utoipa::path(get, path = "/api/v1/silences/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = SilenceRecord)))]
pub async fn show_silence(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SilenceRecord>> {
    auth.require(Permission::WorkAllTickets, "look up silences")?;
    Ok(Json(state.store.get_silence(id, Timestamp::now()).await?))
}

#[utoipa::path(put, path = "/api/v1/silences/{id}", tag = "alerts", request_body = SilenceBody, params(("id" = i64, Path)), responses((status = 200, body = SilenceRecord)))]
pub async fn update_silence(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<SilenceBody>,
) -> ApiResult<Json<SilenceRecord>> {
    auth.require(Permission::ManageTeamsAndServices, "change silences")?;
    let now = Timestamp::now();
    Ok(Json(
        state
            .store
            .update_silence(id, body.value.into_input(now), auth.id(), now)
            .await?,
    ))
}

/// Expires the silence now; it stays listed (with `expired=true`).
#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = SilenceRecord)))]
pub async fn expire_silence(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SilenceRecord>> {
    auth.require(Permission::ManageTeamsAndServices, "expire silences")?;
    Ok(Json(
        state
            .store
            .expire_silence(id, auth.id(), Timestamp::now())
            .await?,
    ))
}

// ---------------------------------------------------------------------------
// Maintenance windows
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindowBody {
    pub service_id: i64,
    /// `{"kind": "one_off", "starts_at": "...", "ends_at": "..."}` or
    /// `{"kind": "weekly", "time_zone": "Europe/Berlin", "days": ["sunday"], "start": "01:00", "duration": "PT3H"}`.
    #[schema(value_type = Object)]
    pub schedule: MaintenanceSchedule,
    #[serde(default)]
    pub comment: String,
}

impl MaintenanceWindowBody {
    fn into_input(self) -> MaintenanceWindowInput {
        MaintenanceWindowInput {
            service_id: ServiceId(self.service_id),
            schedule: self.schedule,
            comment: self.comment,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/maintenance-windows", tag = "alerts", responses((status = 200, body = Vec<MaintenanceWindowRecord>)))]
pub async fn list_windows(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<MaintenanceWindowRecord>>> {
    auth.require(Permission::WorkAllTickets, "list maintenance windows")?;
    Ok(Json(
        state
            .store
            .list_maintenance_windows(Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "alerts", request_body = MaintenanceWindowBody, responses((status = 201, body = MaintenanceWindowRecord)))]
pub async fn create_window(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<MaintenanceWindowBody>,
) -> ApiResult<(StatusCode, Json<MaintenanceWindowRecord>)> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "create maintenance windows",
    )?;
    let w = state
        .store
        .create_maintenance_window(body.value.into_input(), auth.id(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[utoipa::path(get, path = "/api/v1/maintenance-windows/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = MaintenanceWindowRecord)))]
pub async fn show_window(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<MaintenanceWindowRecord>> {
    auth.require(Permission::WorkAllTickets, "look up maintenance windows")?;
    Ok(Json(
        state
            .store
            .get_maintenance_window(id, Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/maintenance-windows/{id}", tag = "alerts", request_body = MaintenanceWindowBody, params(("id" = i64, Path)), responses((status = 200, body = MaintenanceWindowRecord)))]
pub async fn update_window(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<MaintenanceWindowBody>,
) -> ApiResult<Json<MaintenanceWindowRecord>> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "change maintenance windows",
    )?;
    Ok(Json(
        state
            .store
            .update_maintenance_window(id, body.value.into_input(), auth.id(), Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/maintenance-windows/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_window(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "delete maintenance windows",
    )?;
    state
        .store
        .delete_maintenance_window(id, auth.id(), Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Inhibition rules
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InhibitionRuleBody {
    /// Lower is tried first.
    #[serde(default)]
    pub order: i64,
    /// The alert that inhibits: `alertname="NodeDown"`.
    #[schema(value_type = String)]
    pub source: Matchers,
    /// The alerts it inhibits: `alertname="ServiceDown"`.
    #[schema(value_type = String)]
    pub target: Matchers,
    /// Labels that must have equal values on both.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitionRuleBody {
    fn into_input(self) -> InhibitionRuleInput {
        InhibitionRuleInput {
            order: self.order,
            rule: InhibitRule {
                source: self.source,
                target: self.target,
                equal: self.equal,
            },
        }
    }
}

#[utoipa::path(get, path = "/api/v1/inhibition-rules", tag = "alerts", responses((status = 200, body = Vec<InhibitionRuleRecord>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<InhibitionRuleRecord>>> {
    auth.require(Permission::WorkAllTickets, "list inhibition rules")?;
    Ok(Json(state.store.list_inhibition_rules().await?))
}

#[utoipa::path(post, path = "/api/v1/inhibition-rules", tag = "alerts", request_body = InhibitionRuleBody, responses((status = 201, body = InhibitionRuleRecord)))]
pub async fn create_rule(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<InhibitionRuleBody>,
) -> ApiResult<(StatusCode, Json<InhibitionRuleRecord>)> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "create inhibition rules",
    )?;
    let r = state
        .store
        .create_inhibition_rule(body.value.into_input(), auth.id(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/inhibition-rules/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 200, body = InhibitionRuleRecord)))]
pub async fn show_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<InhibitionRuleRecord>> {
    auth.require(Permission::WorkAllTickets, "look up inhibition rules")?;
    Ok(Json(state.store.get_inhibition_rule(id).await?))
}

#[utoipa::path(put, path = "/api/v1/inhibition-rules/{id}", tag = "alerts", request_body = InhibitionRuleBody, params(("id" = i64, Path)), responses((status = 200, body = InhibitionRuleRecord)))]
pub async fn update_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<InhibitionRuleBody>,
) -> ApiResult<Json<InhibitionRuleRecord>> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "change inhibition rules",
    )?;
    Ok(Json(
        state
            .store
            .update_inhibition_rule(id, body.value.into_input(), auth.id(), Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/inhibition-rules/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "delete inhibition rules",
    )?;
    state
        .store
        .delete_inhibition_rule(id, auth.id(), Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Heartbeat monitors
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    /// The integration the missed-heartbeat alert goes through.
    pub integration_id: i64,
    /// Letters, digits and `_`: the ping path and the alert's `heartbeat` label.
    pub name: String,
    /// A ping is expected at least this often (10 s to 7 days).
    pub interval_seconds: i64,
}

/// A ping: the next one is due an interval from now; a missed-heartbeat
/// alert resolves. Authenticated by the integration key, like intake.
#[utoipa::path(post, path = "/api/v1/integrations/heartbeat/{integration_key}/{name}", tag = "alerts",
    security(()),
    params(("integration_key" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = opsdesk_store::alerts::Heartbeat), (status = 404, description = "unknown key or heartbeat")))]
pub async fn ping(
    State(state): State<AppState>,
    Path((integration_key, name)): Path<(String, String)>,
) -> ApiResult<Json<opsdesk_store::alerts::Heartbeat>> {
    let integration = integration_for(&state, &integration_key).await?;
    Ok(Json(
        state
            .store
            .ping_heartbeat(&integration, &name, Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/heartbeats", tag = "alerts", responses((status = 200, body = Vec<opsdesk_store::alerts::Heartbeat>)))]
pub async fn list_heartbeats(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<opsdesk_store::alerts::Heartbeat>>> {
    auth.require(Permission::WorkAllTickets, "list heartbeat monitors")?;
    Ok(Json(state.store.list_heartbeats().await?))
}

#[utoipa::path(post, path = "/api/v1/heartbeats", tag = "alerts", request_body = HeartbeatBody, responses((status = 201, body = opsdesk_store::alerts::Heartbeat)))]
pub async fn create_heartbeat(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<HeartbeatBody>,
) -> ApiResult<(StatusCode, Json<opsdesk_store::alerts::Heartbeat>)> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "create heartbeat monitors",
    )?;
    let b = body.value;
    let hb = state
        .store
        .create_heartbeat(
            b.integration_id,
            &b.name,
            b.interval_seconds,
            auth.id(),
            Timestamp::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(hb)))
}

#[utoipa::path(delete, path = "/api/v1/heartbeats/{id}", tag = "alerts", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_heartbeat(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    auth.require(
        Permission::ManageTeamsAndServices,
        "delete heartbeat monitors",
    )?;
    state
        .store
        .delete_heartbeat(id, auth.id(), Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The PagerDuty-compatible endpoint, outside `/api/v1`: its 400 answers
/// are PagerDuty's JSON, not problem+json, so it is merged next to the API
/// router rather than under its problem rewriting.
pub fn pagerduty_router() -> axum::Router<AppState> {
    axum::Router::new().route("/v2/enqueue", axum::routing::post(pagerduty))
}
