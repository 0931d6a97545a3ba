//! The HTTP edge of opsdesk: REST API, authentication, RBAC and workers.
//!
//! Handlers stay thin: decode, authorise with the domain's rules, call the
//! store, encode. The server listens on an injected `TcpListener` so tests
//! bind port 0 and run many servers side by side.

pub mod error;
pub mod extract;
pub mod openapi;
pub mod passwords;
pub mod routes;
pub mod web;
pub mod workers;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use jiff::SignedDuration;
use opsdesk_domain::transition::ReopenPolicy;
use opsdesk_store::Store;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request body accepted. Ticket bodies are capped at 64 KiB by the
/// domain; this leaves room for JSON escaping and the other fields.
pub const BODY_LIMIT_BYTES: usize = 512 * 1024;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long after resolution a ticket may be reopened before it closes.
    pub reopen: ReopenPolicy,
    /// How long a web session lasts.
    pub session_ttl: SignedDuration,
    /// Failed sign-ins in a row before an account is locked.
    pub max_failed_logins: i64,
    /// How long a locked account stays locked.
    pub lockout: SignedDuration,
    /// How often the timer worker looks for due work.
    pub worker_interval: std::time::Duration,
    /// How often the SLA worker follows the event log and fires due SLA
    /// warnings and breaches (they fire at most this late).
    pub sla_interval: std::time::Duration,
    /// Set the `Secure` flag on cookies (when served over HTTPS).
    pub secure_cookies: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            reopen: ReopenPolicy::default(),
            session_ttl: SignedDuration::from_hours(12),
            max_failed_logins: 5,
            lockout: SignedDuration::from_mins(15),
            worker_interval: std::time::Duration::from_secs(30),
            sla_interval: std::time::Duration::from_secs(1),
            secure_cookies: false,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
}

pub fn router(state: AppState) -> Router {
    // The API answers every error with problem+json; the web pages answer
    // with HTML pages, so they sit outside that rewriting layer.
    let api = routes::api().layer(axum::middleware::from_fn(
        routes::system::problem_for_plain_errors,
    ));
    web::router()
        .merge(api)
        .merge(routes::alerts::pagerduty_router())
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(routes::system::track_metrics))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(error::ApiError::internal(
                "the server hit a bug; it has been logged",
            ))
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, with the background workers running.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    routes::system::install_metrics();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(workers::run(state.clone(), stop_rx.clone()));
    let heartbeat_worker = tokio::spawn(workers::run_heartbeats(state.clone(), stop_rx.clone()));
    let sla_worker = tokio::spawn(workers::run_sla(state.clone(), stop_rx));
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = sla_worker.await;
    let _ = heartbeat_worker.await;
    result
}
