//! Route table. Every route under /api/v1 authenticates through the `Auth`
//! extractor and authorises with the domain's RBAC rules in its handler.

pub mod audit;
pub mod directory;
pub mod session;
pub mod sla;
pub mod system;
pub mod tickets;

use crate::AppState;
use axum::Router;
use axum::routing::{delete, get, post};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/api/v1/openapi.json", get(system::openapi))
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/logout", post(session::logout))
        .route("/api/v1/me", get(session::me))
        .route("/api/v1/me/password", post(session::change_password))
        .route("/api/v1/tickets", get(tickets::list).post(tickets::create))
        .route(
            "/api/v1/tickets/{ticket}",
            get(tickets::show).patch(tickets::update),
        )
        .route("/api/v1/tickets/{ticket}/assign", post(tickets::assign))
        .route(
            "/api/v1/tickets/{ticket}/transitions",
            post(tickets::transition),
        )
        .route(
            "/api/v1/tickets/{ticket}/comments",
            get(tickets::comments).post(tickets::add_comment),
        )
        .route("/api/v1/tickets/{ticket}/timeline", get(tickets::timeline))
        .route(
            "/api/v1/tickets/{ticket}/links",
            get(tickets::links).post(tickets::link),
        )
        .route(
            "/api/v1/tickets/{ticket}/links/{target}",
            delete(tickets::unlink),
        )
        .route("/api/v1/tickets/{ticket}/merge", post(tickets::merge))
        .route("/api/v1/tickets/{ticket}/sla", get(sla::ticket_sla))
        .route("/api/v1/reports/sla", get(sla::compliance_report))
        .route("/api/v1/queues/counts", get(tickets::counts))
        .route(
            "/api/v1/users",
            get(directory::list_users).post(directory::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            get(directory::show_user).patch(directory::update_user),
        )
        .route(
            "/api/v1/teams",
            get(directory::list_teams).post(directory::create_team),
        )
        .route(
            "/api/v1/teams/{id}",
            get(directory::show_team).put(directory::update_team),
        )
        .route("/api/v1/teams/{id}/members", post(directory::add_member))
        .route(
            "/api/v1/teams/{id}/members/{user_id}",
            delete(directory::remove_member),
        )
        .route(
            "/api/v1/services",
            get(directory::list_services).post(directory::create_service),
        )
        .route(
            "/api/v1/services/{id}",
            get(directory::show_service).put(directory::update_service),
        )
        .route(
            "/api/v1/tokens",
            get(directory::list_tokens).post(directory::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(directory::revoke_token))
        .route(
            "/api/v1/calendars",
            get(sla::list_calendars).post(sla::create_calendar),
        )
        .route(
            "/api/v1/calendars/{id}",
            get(sla::show_calendar).put(sla::update_calendar),
        )
        .route(
            "/api/v1/sla-policies",
            get(sla::list_policies).post(sla::create_policy),
        )
        .route(
            "/api/v1/sla-policies/{id}",
            get(sla::show_policy).put(sla::update_policy),
        )
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/events", get(audit::events))
        .fallback(system::not_found)
}
