//! The server-rendered web UI: the requester portal, the agent workspace,
//! the alerts section and the admin pages.
//!
//! Pages are plain HTML forms (askama templates) that work without
//! JavaScript; `static/app.js` only adds keyboard shortcuts and niceties.
//! Handlers stay thin: every rule is asked of the REST handlers in
//! [`crate::routes`] (called as functions, so the web and the API cannot
//! disagree) or of the domain and the store. Sessions are the API's session
//! cookie; every form carries the session's CSRF token in a hidden field and
//! a POST without it is refused with a 403 page. After a successful POST the
//! browser is redirected (POST-redirect-GET); a refused one re-renders the
//! form with the problem's message and the user's input.

mod admin;
mod agent;
mod alerts;
mod assets;
mod auth;
mod counts;
mod integrations;
mod portal;
mod ticket;
mod view;

pub use agent::render_queue_page;
pub use counts::QueueCounter;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, SESSION_COOKIE, constant_time_eq, cookie};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use opsdesk_domain::{Actor, Permission};
use opsdesk_store::StoreError;
use serde::de::DeserializeOwned;

/// Every page of the web UI. Merged into the server's router next to the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/account/password",
            get(auth::password_page).post(auth::change_password),
        )
        .route("/static/{name}", get(assets::serve))
        .route("/portal", get(portal::my_tickets))
        .route("/portal/new", get(portal::new_page).post(portal::create))
        .route("/portal/tickets/{number}", get(ticket::portal_page))
        .route("/agent", get(agent::home))
        .route("/agent/queues/{queue}", get(agent::queue))
        .route("/agent/bulk", post(agent::bulk))
        .route("/agent/filters", post(agent::save_filter))
        .route("/agent/filters/delete", post(agent::delete_filter))
        .route("/tickets/new", get(ticket::new_page).post(ticket::create))
        .route("/tickets/{number}", get(ticket::agent_page))
        .route("/tickets/{number}/comment", post(ticket::comment))
        .route("/tickets/{number}/transition", post(ticket::transition))
        .route("/tickets/{number}/assign", post(ticket::assign))
        .route("/tickets/{number}/priority", post(ticket::priority))
        .route("/tickets/{number}/link", post(ticket::link))
        .route("/tickets/{number}/unlink", post(ticket::unlink))
        .route("/tickets/{number}/merge", post(ticket::merge))
        .route("/alerts", get(alerts::alerts))
        .route("/alerts/{id}/acknowledge", post(alerts::acknowledge_alert))
        .route(
            "/alerts/silences",
            get(alerts::silences).post(alerts::create_silence),
        )
        .route("/alerts/silences/{id}/expire", post(alerts::expire_silence))
        .route(
            "/alerts/maintenance",
            get(alerts::windows).post(alerts::create_window),
        )
        .route(
            "/alerts/maintenance/{id}/delete",
            post(alerts::delete_window),
        )
        .route(
            "/alerts/inhibitions",
            get(alerts::rules).post(alerts::create_rule),
        )
        .route("/alerts/inhibitions/{id}/delete", post(alerts::delete_rule))
        .route(
            "/alerts/integrations",
            get(integrations::integrations).post(integrations::create_integration),
        )
        .route("/alerts/integrations/{id}", get(integrations::integration))
        .route(
            "/alerts/integrations/{id}/disable",
            post(integrations::disable_integration),
        )
        .route(
            "/alerts/integrations/{id}/routes",
            post(integrations::set_routes),
        )
        .route(
            "/alerts/integrations/{id}/settings",
            post(integrations::update_integration),
        )
        .route(
            "/alerts/heartbeats",
            get(integrations::heartbeats).post(integrations::create_heartbeat),
        )
        .route(
            "/alerts/heartbeats/{id}/delete",
            post(integrations::delete_heartbeat),
        )
        .route("/admin", get(admin::home))
        .route("/admin/teams", get(admin::teams).post(admin::create_team))
        .route("/admin/teams/{id}/members", post(admin::add_member))
        .route(
            "/admin/teams/{id}/members/remove",
            post(admin::remove_member),
        )
        .route(
            "/admin/services",
            get(admin::services).post(admin::create_service),
        )
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}", post(admin::update_user))
        .route(
            "/admin/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .layer(axum::Extension(QueueCounter::new()))
}

/// A signed-in browser: the session's user and its CSRF token.
#[derive(Debug, Clone)]
pub struct Web {
    pub auth: Auth,
    pub csrf: String,
}

impl Web {
    pub fn actor(&self) -> Actor {
        self.auth.actor
    }

    pub fn is_agent(&self) -> bool {
        self.auth.actor.can(Permission::WorkAllTickets)
    }

    /// The page chrome for this user.
    pub fn nav(&self, section: &'static str) -> view::Nav {
        view::Nav::new(self, section)
    }

    /// A 403 page unless the user's role grants `permission`.
    pub fn require(&self, permission: Permission, what: &str) -> Result<(), WebError> {
        self.auth
            .require(permission, what)
            .map_err(|e| WebError::from(e).with_nav(self))
    }
}

impl FromRequestParts<AppState> for Web {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = || {
            // Come back here after signing in, unless this was a form post.
            let next = if parts.method == Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".to_string())
            } else {
                "/".to_string()
            };
            WebError::SignIn { next }
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in());
        };
        let Some(session) = state.store.session(secret, Timestamp::now()).await? else {
            return Err(sign_in());
        };
        let actor = Actor {
            user_id: session.user.id,
            role: session.user.role,
        };
        Ok(Web {
            auth: Auth {
                user: session.user,
                actor,
                via_session: true,
            },
            csrf: session.csrf_token,
        })
    }
}

/// A form post from a signed-in browser, with its CSRF token checked before
/// anything else looks at the body. `T` is decoded from the
/// `application/x-www-form-urlencoded` body (unknown fields are ignored).
pub struct WebForm<T> {
    pub web: Web,
    pub value: T,
}

/// Form bodies are small; a ticket description is capped at 64 KiB.
const FORM_LIMIT_BYTES: usize = 256 * 1024;

impl<T: DeserializeOwned> FromRequest<AppState> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let web = Web::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT_BYTES)
            .await
            .map_err(|_| {
                WebError::page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Form too large",
                    "what you sent is larger than this form accepts; shorten the text and try again",
                )
            })?;
        let form = read_form(&bytes)?;
        if !constant_time_eq(form.value("csrf").as_bytes(), web.csrf.as_bytes()) {
            return Err(WebError::csrf());
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            WebError::page(
                StatusCode::BAD_REQUEST,
                "Unreadable form",
                format!("the form could not be read: {e}"),
            )
        })?;
        Ok(WebForm { web, value })
    }
}

/// A decoded form body as its name/value pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// A form as a browser would post it, for tests.
    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> FormPairs {
        FormPairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub fn value(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name` (checkbox lists).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for FormPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(FormPairs)
    }
}

fn read_form(bytes: &[u8]) -> Result<FormPairs, WebError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        WebError::page(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            format!("the form could not be read: {e}"),
        )
    })
}

/// Wraps a JSON value as the body an API handler takes, decoded exactly as
/// the API decodes it (so the same fields are refused with the same words).
pub fn api_body<T: DeserializeOwned>(json: serde_json::Value) -> Result<ApiJson<T>, ApiError> {
    let bytes = serde_json::to_vec(&json).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(ApiJson {
        value: crate::extract::decode(&bytes)?,
        body_hash: String::new(),
    })
}

/// What to tell a person about a refused request: per-field problems as
/// "Resolution note must not be empty.", otherwise the problem's detail.
pub fn message(e: &ApiError) -> String {
    if e.problem.errors.is_empty() {
        return ticket::sentence(&e.problem.detail);
    }
    e.problem
        .errors
        .iter()
        .map(|f| ticket::sentence(&format!("{} {}", view::label(&f.field), f.message)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A refused request, shown as a page (or, when signed out, a redirect to
/// the sign-in page).
#[derive(Debug)]
pub enum WebError {
    SignIn {
        next: String,
    },
    Page {
        status: StatusCode,
        title: String,
        detail: String,
        nav: Option<Box<view::Nav>>,
    },
}

impl WebError {
    pub fn page(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        WebError::Page {
            status,
            title: title.into(),
            detail: detail.into(),
            nav: None,
        }
    }

    /// Shows the page with the signed-in user's navigation.
    pub fn with_nav(self, web: &Web) -> Self {
        match self {
            WebError::Page {
                status,
                title,
                detail,
                ..
            } => WebError::Page {
                status,
                title,
                detail,
                nav: Some(Box::new(web.nav(""))),
            },
            other => other,
        }
    }

    pub fn not_found() -> Self {
        WebError::page(
            StatusCode::NOT_FOUND,
            "Not found",
            "there is nothing here, or you may not see it; check the address",
        )
    }

    fn csrf() -> Self {
        WebError::page(
            StatusCode::FORBIDDEN,
            "Form refused",
            "the form was missing its security token or it had expired; go back, reload the page and try again",
        )
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        if e.status == StatusCode::UNAUTHORIZED {
            return WebError::SignIn {
                next: "/".to_string(),
            };
        }
        let detail = message(&e);
        WebError::page(e.status, e.problem.title, detail)
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next } => {
                let target = if next == "/" || !is_local_path(&next) {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", encode_component(&next))
                };
                Redirect::to(&target).into_response()
            }
            WebError::Page {
                status,
                title,
                detail,
                nav,
            } => html(
                status,
                &view::ErrorPage {
                    nav: nav.as_deref(),
                    title: &title,
                    status: status.as_u16(),
                    detail: &ticket::sentence(&detail),
                    assets: assets::Links::get(),
                },
            ),
        }
    }
}

/// Renders a page with the headers every page gets: no caching (pages carry
/// CSRF tokens and private data) and a content security policy that allows
/// only this server's own script and style.
pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render; it has been logged",
            )
                .into_response()
        }
    }
}

/// 303 See Other: the "redirect" of POST-redirect-GET.
pub fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// A path on this server ("/portal", not "//evil.example" or "https://...").
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.contains('\\')
}

/// Percent-encodes one query component.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local_path("/portal?x=1"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
    }

    #[test]
    fn form_pairs_keep_repeated_names() {
        let f = read_form(b"t=1&t=2&csrf=abc&q=a+b%26c").unwrap();
        assert_eq!(f.values("t").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.value("q"), "a b&c");
        assert_eq!(f.value("missing"), "");
    }
}
