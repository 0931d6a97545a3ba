//! Route table. Every route under /api/v1 authenticates through the `Auth`
//! extractor and authorises with the domain's RBAC rules in its handler.

pub mod alerts;
pub mod audit;
pub mod directory;
pub mod session;
pub mod sla;
pub mod system;
pub mod tickets;

use crate::AppState;
use axum::Router;
use axum::routing::{delete, get, post, put};

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
        .route(
            "/api/v1/integrations/alertmanager/{integration_key}",
            post(alerts::alertmanager),
        )
        .route(
            "/api/v1/integrations/generic/{integration_key}",
            post(alerts::generic),
        )
        .route(
            "/api/v1/integrations",
            get(alerts::list_integrations).post(alerts::create_integration),
        )
        .route(
            "/api/v1/integrations/{id}",
            get(alerts::show_integration)
                .put(alerts::update_integration)
                .delete(alerts::disable_integration),
        )
        .route("/api/v1/integrations/{id}/routes", put(alerts::set_routes))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/alerts/{id}", get(alerts::show_alert))
        .route(
            "/api/v1/alerts/{id}/acknowledge",
            post(alerts::acknowledge_alert),
        )
        .route("/api/v1/alert-noise", get(alerts::noise))
        .route(
            "/api/v1/silences",
            get(alerts::list_silences).post(alerts::create_silence),
        )
        .route(
            "/api/v1/silences/{id}",
            get(alerts::show_silence)
                .put(alerts::update_silence)
                .delete(alerts::expire_silence),
        )
        .route(
            "/api/v1/maintenance-windows",
            get(alerts::list_windows).post(alerts::create_window),
        )
        .route(
            "/api/v1/maintenance-windows/{id}",
            get(alerts::show_window)
                .put(alerts::update_window)
                .delete(alerts::delete_window),
        )
        .route(
            "/api/v1/inhibition-rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/api/v1/inhibition-rules/{id}",
            get(alerts::show_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route(
            "/api/v1/integrations/heartbeat/{integration_key}/{name}",
            post(alerts::ping),
        )
        .route(
            "/api/v1/heartbeats",
            get(alerts::list_heartbeats).post(alerts::create_heartbeat),
        )
        .route("/api/v1/heartbeats/{id}", delete(alerts::delete_heartbeat))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/events", get(audit::events))
        .fallback(system::not_found)
}
