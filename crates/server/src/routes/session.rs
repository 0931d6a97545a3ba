//! Signing in and out (web sessions), and the caller's own account.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth, SESSION_COOKIE, cookie};
use crate::passwords::{
    burn_verification_time, check_password_strength, hash_password, verify_password,
};
use crate::{AppState, ServerConfig};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use opsdesk_store::User;
use opsdesk_store::tokens::Session;
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

/// Checks a username and password and starts a session: the one sign-in
/// used by the JSON API and the web pages alike. An unknown user costs the
/// same time as a wrong password; failures count towards the lockout, and
/// a locked account is refused with 429 and `Retry-After` until it ends.
/// Returns the session secret (for the cookie) and the session.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    now: Timestamp,
) -> ApiResult<(String, Session)> {
    let Some(creds) = state.store.user_credentials_by_username(username).await? else {
        burn_verification_time(password);
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
            .is_some_and(|h| verify_password(password, h));
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
    Ok(state
        .store
        .create_session(creds.user.id, state.config.session_ttl, now)
        .await?)
}

/// The `Set-Cookie` value that hands a browser its session.
pub fn session_cookie(config: &ServerConfig, secret: &str) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        config.session_ttl.as_secs(),
        if config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    )
}

/// The `Set-Cookie` value that ends a browser's session.
pub const CLEAR_SESSION_COOKIE: &str =
    "opsdesk_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginResult), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn login(State(state): State<AppState>, body: ApiJson<LoginBody>) -> ApiResult<Response> {
    let b = body.value;
    let (secret, session) = sign_in(&state, &b.username, &b.password, Timestamp::now()).await?;
    let cookie = session_cookie(&state.config, &secret);
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
        HeaderValue::from_static(CLEAR_SESSION_COOKIE),
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
