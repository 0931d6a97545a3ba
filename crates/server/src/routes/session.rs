//! Signing in and out (web sessions), and the caller's own account.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth, SESSION_COOKIE, cookie};
use crate::passwords::{
    burn_verification_time, check_password_strength, hash_password, verify_password,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use opsdesk_store::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResult {
    pub user: User,
    /// Send this as `X-CSRF-Token` on every unsafe request made with the session cookie.
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid username or password")
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginResult), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn login(State(state): State<AppState>, body: ApiJson<LoginBody>) -> ApiResult<Response> {
    let now = Timestamp::now();
    let b = body.value;
    let Some(creds) = state
        .store
        .user_credentials_by_username(&b.username)
        .await?
    else {
        burn_verification_time(&b.password);
        return Err(invalid_credentials());
    };
    if let Some(until) = creds.locked_until.filter(|u| *u > now) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            "Too many failed sign-ins",
            "too many failed sign-ins; try again later",
        );
        e.retry_after = Some(until.duration_since(now).as_secs().max(1) as u64);
        return Err(e);
    }
    let ok = creds.user.active
        && creds
            .password_hash
            .as_deref()
            .is_some_and(|h| verify_password(&b.password, h));
    if !ok {
        state
            .store
            .record_failed_login(
                creds.user.id,
                state.config.max_failed_logins,
                state.config.lockout,
                now,
            )
            .await?;
        return Err(invalid_credentials());
    }
    state.store.record_successful_login(creds.user.id).await?;
    let (secret, session) = state
        .store
        .create_session(creds.user.id, state.config.session_ttl, now)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.config.session_ttl.as_secs(),
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = Json(LoginResult {
        user: session.user,
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(response)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    _auth: Auth,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("opsdesk_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = User)))]
pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordBody, responses((status = 204)))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    body: ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    let b = body.value;
    let creds = state.store.user_credentials_by_id(auth.id()).await?;
    if !creds
        .password_hash
        .as_deref()
        .is_some_and(|h| verify_password(&b.current_password, h))
    {
        return Err(ApiError::field(
            "current_password",
            "is not your current password",
        ));
    }
    check_password_strength(&b.new_password)
        .map_err(|e| ApiError::field("new_password", e.message))?;
    state
        .store
        .set_password_hash(
            auth.id(),
            &hash_password(&b.new_password)?,
            auth.id(),
            Timestamp::now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
