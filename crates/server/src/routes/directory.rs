//! Users, teams, services and API tokens.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::passwords::{check_password_strength, hash_password};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use opsdesk_domain::{Permission, Role, ServiceId, TeamId, TokenId, UserId};
use opsdesk_store::directory::{ServiceInput, TeamInput};
use opsdesk_store::users::UserPatch;
use opsdesk_store::{ApiToken, NewUser, Service, Team, User};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    pub organization: Option<String>,
    /// Omit for accounts that only use API tokens.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    pub email: Option<Option<String>>,
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    pub organization: Option<Option<String>>,
    pub active: Option<bool>,
    /// Sets a new password (admins resetting an account).
    pub password: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "directory", responses((status = 200, body = Vec<User>)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    auth.require(Permission::ReadDirectory, "list users")?;
    Ok(Json(state.store.list_users().await?))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = User)))]
pub async fn show_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<User>> {
    if auth.id() != UserId(id) {
        auth.require(Permission::ReadDirectory, "look up other users")?;
    }
    Ok(Json(state.store.get_user(UserId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "directory", request_body = CreateUserBody, responses((status = 201, body = User)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    auth.require(Permission::ManageUsers, "create users")?;
    let b = body.value;
    let password_hash = match &b.password {
        Some(p) => {
            check_password_strength(p)?;
            Some(hash_password(p)?)
        }
        None => None,
    };
    let new = NewUser {
        username: b.username,
        display_name: b.display_name,
        email: b.email,
        role: b.role,
        organization: b.organization,
        password_hash,
    };
    let user = state
        .store
        .create_user(new, Some(auth.id()), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "directory", request_body = UpdateUserBody, params(("id" = i64, Path)), responses((status = 200, body = User)))]
pub async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<UpdateUserBody>,
) -> ApiResult<Json<User>> {
    auth.require(Permission::ManageUsers, "change users")?;
    let b = body.value;
    let now = Timestamp::now();
    let target = state.store.get_user(UserId(id)).await?;
    if let Some(p) = &b.password {
        check_password_strength(p)?;
        state
            .store
            .set_password_hash(target.id, &hash_password(p)?, auth.id(), now)
            .await?;
    }
    let patch = UserPatch {
        display_name: b.display_name,
        email: b.email,
        role: b.role,
        organization: b.organization,
        active: b.active,
    };
    Ok(Json(
        state
            .store
            .update_user(target.id, patch, auth.id(), now)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub round_robin: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    #[schema(value_type = i64)]
    pub user_id: UserId,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "directory", responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Team>>> {
    auth.require(Permission::ReadDirectory, "list teams")?;
    Ok(Json(state.store.list_teams().await?))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn show_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Team>> {
    auth.require(Permission::ReadDirectory, "look up teams")?;
    Ok(Json(state.store.get_team(TeamId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "directory", request_body = TeamBody, responses((status = 201, body = Team)))]
pub async fn create_team(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<TeamBody>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    auth.require(Permission::ManageTeamsAndServices, "create teams")?;
    let b = body.value;
    let team = state
        .store
        .create_team(
            TeamInput {
                name: b.name,
                description: b.description,
                round_robin: b.round_robin,
            },
            auth.id(),
            Timestamp::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "directory", request_body = TeamBody, params(("id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn update_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<TeamBody>,
) -> ApiResult<Json<Team>> {
    auth.require(Permission::ManageTeamsAndServices, "change teams")?;
    let b = body.value;
    let team = state
        .store
        .update_team(
            TeamId(id),
            TeamInput {
                name: b.name,
                description: b.description,
                round_robin: b.round_robin,
            },
            auth.id(),
            Timestamp::now(),
        )
        .await?;
    Ok(Json(team))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "directory", request_body = MemberBody, params(("id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<MemberBody>,
) -> ApiResult<Json<Team>> {
    auth.require(Permission::ManageTeamsAndServices, "change team members")?;
    let user = state
        .store
        .get_user(body.value.user_id)
        .await
        .map_err(|_| {
            ApiError::field(
                "user_id",
                format!("user {} does not exist", body.value.user_id),
            )
        })?;
    Ok(Json(
        state
            .store
            .add_team_member(TeamId(id), user.id, auth.id(), Timestamp::now())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "directory", params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, user)): Path<(i64, i64)>,
) -> ApiResult<Json<Team>> {
    auth.require(Permission::ManageTeamsAndServices, "change team members")?;
    Ok(Json(
        state
            .store
            .remove_team_member(TeamId(id), UserId(user), auth.id(), Timestamp::now())
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[schema(value_type = Option<i64>)]
    pub owner_team_id: Option<TeamId>,
    /// 1 (most critical) to 4.
    pub tier: i64,
}

impl From<ServiceBody> for ServiceInput {
    fn from(b: ServiceBody) -> Self {
        ServiceInput {
            name: b.name,
            description: b.description,
            owner_team_id: b.owner_team_id,
            tier: b.tier,
        }
    }
}

/// Everyone signed in may list services: requesters pick one when reporting.
#[utoipa::path(get, path = "/api/v1/services", tag = "directory", responses((status = 200, body = Vec<Service>)))]
pub async fn list_services(
    State(state): State<AppState>,
    _auth: Auth,
) -> ApiResult<Json<Vec<Service>>> {
    Ok(Json(state.store.list_services().await?))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = Service)))]
pub async fn show_service(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Service>> {
    Ok(Json(state.store.get_service(ServiceId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "directory", request_body = ServiceBody, responses((status = 201, body = Service)))]
pub async fn create_service(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<Service>)> {
    auth.require(Permission::ManageTeamsAndServices, "create services")?;
    let service = state
        .store
        .create_service(body.value.into(), auth.id(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(service)))
}

#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "directory", request_body = ServiceBody, params(("id" = i64, Path)), responses((status = 200, body = Service)))]
pub async fn update_service(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: ApiJson<ServiceBody>,
) -> ApiResult<Json<Service>> {
    auth.require(Permission::ManageTeamsAndServices, "change services")?;
    Ok(Json(
        state
            .store
            .update_service(
                ServiceId(id),
                body.value.into(),
                auth.id(),
                Timestamp::now(),
            )
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    pub name: String,
    /// Whose token; only admins create tokens for others. Default: yourself.
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The bearer secret. Shown this once; only its hash is stored.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "directory",
    params(("user_id" = Option<i64>, Query, description = "Admins: another user's tokens; 'all' for every token")),
    responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    let scope = match params.get("user_id").map(String::as_str) {
        None => Some(auth.id()),
        Some("all") => None,
        Some(id) => {
            Some(UserId(id.parse().map_err(|_| {
                ApiError::field("user_id", "must be a user id or 'all'")
            })?))
        }
    };
    if scope != Some(auth.id()) {
        auth.require(Permission::ManageAllTokens, "see other users' tokens")?;
    }
    Ok(Json(state.store.list_tokens(scope).await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "directory", request_body = CreateTokenBody, responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<CreateTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let b = body.value;
    let owner = b.user_id.unwrap_or(auth.id());
    if owner != auth.id() {
        auth.require(Permission::ManageAllTokens, "create tokens for other users")?;
    }
    let (token, secret) = state
        .store
        .create_token(
            owner,
            &b.name,
            b.expires_at,
            Some(auth.id()),
            Timestamp::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = ApiToken)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ApiToken>> {
    let token = state.store.get_token(TokenId(id)).await?;
    if token.user_id != auth.id() && !auth.actor.can(Permission::ManageAllTokens) {
        // Don't confirm that someone else's token exists.
        return Err(ApiError::not_found(format!("token {id} not found")));
    }
    Ok(Json(
        state
            .store
            .revoke_token(token.id, auth.id(), Timestamp::now())
            .await?,
    ))
}
