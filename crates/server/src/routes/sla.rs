//! Business calendars, SLA policies and a ticket's SLA status. Thin: the
//! rules are in the domain, validation and storage in `opsdesk_store::sla`.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::routes::tickets::visible_ticket;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::Permission;
use opsdesk_domain::calendar::{CalendarConfig, Holiday, WeeklyHours};
use opsdesk_domain::sla::{PolicyMatcher, SlaTarget};
use opsdesk_store::sla::{
    Calendar, CalendarInput, SlaPolicyInput, SlaPolicyRecord, TicketSlaStatus,
};
use opsdesk_store::sla_report::{ComplianceGrouping, ComplianceReport};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    pub name: String,
    /// IANA time zone, e.g. `Europe/Berlin`, or `UTC`.
    pub time_zone: String,
    /// Working intervals per weekday: `{"monday": [{"start": "09:00", "end": "17:00"}]}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub hours: WeeklyHours,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<Holiday>,
}

impl CalendarBody {
    fn into_input(self) -> CalendarInput {
        CalendarInput {
            name: self.name,
            config: CalendarConfig {
                time_zone: self.time_zone,
                hours: self.hours,
                holidays: self.holidays,
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyBody {
    pub name: String,
    /// Lower is tried first; ties go to the lower id.
    #[serde(default)]
    pub order: i64,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub matcher: PolicyMatcher,
    /// `[{"metric": "resolution", "target": "PT4H", "calendar_id": 1}]`.
    #[schema(value_type = Vec<Object>)]
    pub targets: Vec<SlaTarget>,
}

impl SlaPolicyBody {
    fn into_input(self) -> SlaPolicyInput {
        SlaPolicyInput {
            name: self.name,
            order: self.order,
            matcher: self.matcher,
            targets: self.targets,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/calendars", tag = "sla", responses((status = 200, body = Vec<Calendar>)))]
pub async fn list_calendars(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Calendar>>> {
    auth.require(Permission::ReadDirectory, "list calendars")?;
    Ok(Json(state.store.list_calendars().await?))
}

#[utoipa::path(get, path = "/api/v1/calendars/{id}", tag = "sla", params(("id" = i64, Path)), responses((status = 200, body = Calendar)))]
pub async fn show_calendar(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Calendar>> {
    auth.require(Permission::ReadDirectory, "look up calendars")?;
    Ok(Json(state.store.get_calendar(id).await?))
}

#[utoipa::path(post, path = "/api/v1/calendars", tag = "sla", request_body = CalendarBody, responses((status = 201, body = Calendar)))]
pub async fn create_calendar(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<CalendarBody>,
) -> ApiResult<(StatusCode, Json<Calendar>)> {
    auth.require(Permission::ManageTeamsAndServices, "create calendars")?;
    let calendar = state
        .store
        .create_calendar(body.value.into_input(), auth.id(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(calendar)))
}

#[utoipa::path(put, path = "/api/v1/calendars/{id}", tag = "sla", request_body = CalendarBody, params(("id" = i64, Path)), responses((status = 200, body = Calendar)))]
pub async fn update_calendar(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<CalendarBody>,
) -> ApiResult<Json<Calendar>> {
    auth.require(Permission::ManageTeamsAndServices, "change calendars")?;
    Ok(Json(
        state
            .store
            .update_calendar(id, body.value.into_input(), auth.id(), Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "sla", responses((status = 200, body = Vec<SlaPolicyRecord>)))]
pub async fn list_policies(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SlaPolicyRecord>>> {
    auth.require(Permission::ReadDirectory, "list SLA policies")?;
    Ok(Json(state.store.list_sla_policies().await?))
}

#[utoipa::path(get, path = "/api/v1/sla-policies/{id}", tag = "sla", params(("id" = i64, Path)), responses((status = 200, body = SlaPolicyRecord)))]
pub async fn show_policy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SlaPolicyRecord>> {
    auth.require(Permission::ReadDirectory, "look up SLA policies")?;
    Ok(Json(state.store.get_sla_policy(id).await?))
}

#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "sla", request_body = SlaPolicyBody, responses((status = 201, body = SlaPolicyRecord)))]
pub async fn create_policy(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<SlaPolicyBody>,
) -> ApiResult<(StatusCode, Json<SlaPolicyRecord>)> {
    auth.require(Permission::ManageTeamsAndServices, "create SLA policies")?;
    let policy = state
        .store
        .create_sla_policy(body.value.into_input(), auth.id(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

#[utoipa::path(put, path = "/api/v1/sla-policies/{id}", tag = "sla", request_body = SlaPolicyBody, params(("id" = i64, Path)), responses((status = 200, body = SlaPolicyRecord)))]
pub async fn update_policy(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<SlaPolicyBody>,
) -> ApiResult<Json<SlaPolicyRecord>> {
    auth.require(Permission::ManageTeamsAndServices, "change SLA policies")?;
    Ok(Json(
        state
            .store
            .update_sla_policy(id, body.value.into_input(), auth.id(), Timestamp::now())
            .await?,
    ))
}

/// Anyone who may see the ticket may see its SLA clocks: requesters are
/// told when to expect an answer too. Others' tickets answer 404.
#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/sla", tag = "sla", params(("ticket" = String, Path, description = "id or number, e.g. INC-000123")), responses((status = 200, body = Vec<TicketSlaStatus>)))]
pub async fn ticket_sla(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> ApiResult<Json<Vec<TicketSlaStatus>>> {
    let ticket = visible_ticket(&state, &auth, &reference).await?;
    Ok(Json(
        state.store.ticket_sla(ticket.id, Timestamp::now()).await?,
    ))
}

/// The longest period a compliance report may span.
const REPORT_PERIOD_MAX_DAYS: i64 = 731;

/// SLA compliance of the tickets opened in `[from, to)`, grouped by policy,
/// team, service or priority, replayed from the event log.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "sla",
    params(
        ("from" = String, Query, description = "RFC 3339; tickets opened at or after"),
        ("to" = Option<String>, Query, description = "RFC 3339; tickets opened before (default now)"),
        ("group_by" = Option<String>, Query, description = "policy (default), team, service or priority"),
    ),
    responses((status = 200, body = ComplianceReport)))]
pub async fn compliance_report(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<ComplianceReport>> {
    auth.require(Permission::ReadReports, "read SLA reports")?;
    if let Some(unknown) = params
        .keys()
        .find(|k| !["from", "to", "group_by"].contains(&k.as_str()))
    {
        return Err(ApiError::field(
            unknown.clone(),
            "is not a report parameter; use from, to and group_by",
        ));
    }
    let now = Timestamp::now();
    let time = |field: &str| -> ApiResult<Option<Timestamp>> {
        params
            .get(field)
            .map(|v| {
                v.parse::<Timestamp>().map_err(|_| {
                    ApiError::field(
                        field,
                        format!("'{v}' is not an RFC 3339 time such as 2026-01-31T09:00:00Z"),
                    )
                })
            })
            .transpose()
    };
    let from = time("from")?.ok_or_else(|| ApiError::field("from", "is required"))?;
    let to = time("to")?.unwrap_or(now);
    if to <= from {
        return Err(ApiError::field("to", "must be after from"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * REPORT_PERIOD_MAX_DAYS) {
        return Err(ApiError::field(
            "to",
            format!("the period may span at most {REPORT_PERIOD_MAX_DAYS} days"),
        ));
    }
    let group_by = match params.get("group_by") {
        None => ComplianceGrouping::Policy,
        Some(g) => ComplianceGrouping::parse(g).ok_or_else(|| {
            ApiError::field("group_by", "must be policy, team, service or priority")
        })?,
    };
    Ok(Json(
        state.store.sla_compliance(from, to, group_by, now).await?,
    ))
}
