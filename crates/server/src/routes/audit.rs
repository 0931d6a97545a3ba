//! The audit log: the event stream and the chain check.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use axum::Json;
use axum::extract::{Query, State};
use opsdesk_domain::Permission;
use opsdesk_store::Event;
use opsdesk_store::events::ChainReport;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    pub intact: bool,
    pub events_checked: u64,
    /// The first event where the chain breaks.
    pub first_broken_seq: Option<i64>,
    pub detail: String,
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyResult)))]
pub async fn verify(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<VerifyResult>> {
    if !auth.actor.can(Permission::ReadAudit) {
        return Err(ApiError::forbidden(
            "only managers and admins may verify the audit log",
        ));
    }
    Ok(Json(match state.store.verify_chain().await? {
        ChainReport::Intact { events } => VerifyResult {
            intact: true,
            events_checked: events,
            first_broken_seq: None,
            detail: format!("the chain of {events} events is intact"),
        },
        ChainReport::Broken(b) => VerifyResult {
            intact: false,
            events_checked: 0,
            first_broken_seq: Some(b.seq()),
            detail: b.to_string(),
        },
    }))
}

#[utoipa::path(get, path = "/api/v1/events", tag = "audit",
    params(("after" = Option<i64>, Query, description = "Return events after this seq"), ("limit" = Option<i64>, Query, description = "1..1000, default 100")),
    responses((status = 200, body = Vec<Event>)))]
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Event>>> {
    if !auth.actor.can(Permission::ReadAudit) {
        return Err(ApiError::forbidden(
            "only managers and admins may read the audit log",
        ));
    }
    if let Some(unknown) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "after" | "limit"))
    {
        return Err(ApiError::field(
            unknown.clone(),
            "is not a parameter; use after and limit",
        ));
    }
    let after = match params.get("after") {
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::field("after", "must be an event seq"))?,
        None => 0,
    };
    let limit = match params.get("limit") {
        Some(v) => v
            .parse()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::field("limit", "must be 1 to 1000"))?,
        None => 100,
    };
    Ok(Json(state.store.events_after(after, limit).await?))
}
