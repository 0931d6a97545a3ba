//! Signing in and out, the home redirect, and changing one's own password.

use super::assets::Links;
use super::view::Nav;
use super::{
    FormPairs, Web, WebError, WebForm, api_body, html, is_local_path, read_form, see_other,
};
use crate::AppState;
use crate::extract::{SESSION_COOKIE, constant_time_eq, cookie};
use crate::routes::session::{self, CLEAR_SESSION_COOKIE};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use opsdesk_domain::{Actor, Permission};
use serde_json::json;
use std::collections::HashMap;

/// Before there is a session, the sign-in form is protected by a
/// double-submit token: a random value in a strict cookie and in the form.
const LOGIN_CSRF_COOKIE: &str = "opsdesk_login";

/// Where a user lands: the portal for requesters, the queues for the desk.
pub fn home_of(web: &Web) -> &'static str {
    home_for(web.auth.actor)
}

fn home_for(actor: Actor) -> &'static str {
    if actor.can(Permission::WorkAllTickets) {
        "/agent/queues/mine"
    } else {
        "/portal"
    }
}

pub async fn home(web: Result<Web, WebError>) -> Response {
    match web {
        Ok(web) => see_other(home_of(&web)),
        Err(_) => see_other("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
    assets: &'static Links,
}

fn login_response(status: StatusCode, mut page: LoginPage) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    page.csrf = token.clone();
    let mut response = html(status, &page);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub async fn login_page(
    web: Result<Web, WebError>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let next = q
        .get("next")
        .filter(|n| is_local_path(n))
        .cloned()
        .unwrap_or_default();
    if let Ok(web) = web {
        return see_other(if next.is_empty() {
            home_of(&web)
        } else {
            &next
        });
    }
    let notice = match q.get("notice").map(String::as_str) {
        Some("signed_out") => Some("You have signed out."),
        _ => None,
    };
    login_response(
        StatusCode::OK,
        LoginPage {
            csrf: String::new(),
            username: String::new(),
            next,
            error: None,
            notice,
            assets: Links::get(),
        },
    )
}

pub async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match read_form(&body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let username = form.value("username").trim().to_string();
    let next = Some(form.value("next"))
        .filter(|n| is_local_path(n))
        .unwrap_or_default()
        .to_string();
    let page = |error: String| LoginPage {
        csrf: String::new(),
        username: username.clone(),
        next: next.clone(),
        error: Some(error),
        notice: None,
        assets: Links::get(),
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(form.value("csrf").as_bytes(), expected.as_bytes())
    {
        return login_response(
            StatusCode::FORBIDDEN,
            page("The sign-in form had expired. Please sign in again.".to_string()),
        );
    }
    match session::sign_in(&state, &username, form.value("password"), Timestamp::now()).await {
        Ok((secret, sess)) => {
            let target = if next.is_empty() {
                home_for(Actor {
                    user_id: sess.user.id,
                    role: sess.user.role,
                })
                .to_string()
            } else {
                next.clone()
            };
            let mut response = see_other(&target);
            let h = response.headers_mut();
            for c in [
                session::session_cookie(&state.config, &secret),
                format!("{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    h.append(header::SET_COOKIE, v);
                }
            }
            response
        }
        Err(e) => {
            let message = match (e.status, e.retry_after) {
                (StatusCode::UNAUTHORIZED, _) => "Invalid username or password.".to_string(),
                (StatusCode::TOO_MANY_REQUESTS, Some(secs)) => format!(
                    "Too many failed sign-ins. This account is locked; try again in {} minute{}.",
                    secs.div_ceil(60),
                    if secs.div_ceil(60) == 1 { "" } else { "s" }
                ),
                _ => e.problem.detail.clone(),
            };
            let mut response = login_response(e.status, page(message));
            if let Some(secs) = e.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(secret).await?;
    }
    let mut response = see_other("/login?notice=signed_out");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(CLEAR_SESSION_COOKIE),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    title: &'static str,
    nav: Nav,
    error: Option<String>,
    field_errors: Vec<(String, String)>,
}

impl PasswordPage {
    fn field_error(&self, name: &str) -> String {
        self.field_errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

pub async fn password_page(web: Web, Query(q): Query<HashMap<String, String>>) -> Response {
    html(
        StatusCode::OK,
        &PasswordPage {
            title: "Change password",
            nav: web
                .nav("account")
                .with_notice(q.get("notice").map(String::as_str)),
            error: None,
            field_errors: vec![],
        },
    )
}

pub async fn change_password(State(state): State<AppState>, form: WebForm<FormPairs>) -> Response {
    let WebForm { web, value: f } = form;
    let refuse = |status: StatusCode, detail: String, fields: Vec<(String, String)>| {
        html(
            status,
            &PasswordPage {
                title: "Change password",
                nav: web.nav("account"),
                error: Some(detail),
                field_errors: fields,
            },
        )
    };
    if f.value("new_password") != f.value("confirm_password") {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The new password and its confirmation differ.".to_string(),
            vec![(
                "confirm_password".to_string(),
                "does not match the new password".to_string(),
            )],
        );
    }
    let result = match api_body(json!({
        "current_password": f.value("current_password"),
        "new_password": f.value("new_password"),
    })) {
        Ok(body) => session::change_password(State(state), web.auth.clone(), body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/account/password?notice=password"),
        Err(e) => refuse(
            e.status,
            e.problem.detail.clone(),
            e.problem
                .errors
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect(),
        ),
    }
}
