//! The OpenAPI document served at /api/v1/openapi.json, generated from the
//! handlers' annotations so it cannot drift from the routes.

use crate::routes::{alerts, audit, directory, session, sla, tickets};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "opsdesk", description = "IT service management and operations API. Authenticate with `Authorization: Bearer TOKEN`. Errors are application/problem+json (RFC 9457)."),
    paths(
        tickets::list, tickets::create, tickets::show, tickets::update, tickets::assign, tickets::transition,
        tickets::add_comment, tickets::comments, tickets::timeline, tickets::links, tickets::link, tickets::unlink,
        tickets::merge, tickets::counts,
        directory::list_users, directory::show_user, directory::create_user, directory::update_user,
        directory::list_teams, directory::show_team, directory::create_team, directory::update_team,
        directory::add_member, directory::remove_member,
        directory::list_services, directory::show_service, directory::create_service, directory::update_service,
        directory::list_tokens, directory::create_token, directory::revoke_token,
        session::login, session::logout, session::me, session::change_password,
        audit::verify, audit::events,
        sla::list_calendars, sla::show_calendar, sla::create_calendar, sla::update_calendar,
        sla::list_policies, sla::show_policy, sla::create_policy, sla::update_policy,
        sla::ticket_sla, sla::compliance_report,
        alerts::alertmanager, alerts::generic, alerts::pagerduty,
        alerts::list_integrations, alerts::create_integration, alerts::show_integration,
        alerts::update_integration, alerts::disable_integration, alerts::set_routes,
        alerts::list_alerts, alerts::show_alert, alerts::acknowledge_alert, alerts::noise,
        alerts::list_silences, alerts::create_silence, alerts::show_silence, alerts::update_silence,
        alerts::expire_silence,
        alerts::list_windows, alerts::create_window, alerts::show_window, alerts::update_window,
        alerts::delete_window,
        alerts::list_rules, alerts::create_rule, alerts::show_rule, alerts::update_rule, alerts::delete_rule,
        alerts::ping, alerts::list_heartbeats, alerts::create_heartbeat, alerts::delete_heartbeat,
    ),
    security(("bearer" = [])),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
