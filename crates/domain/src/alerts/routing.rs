//! Routing: which service an alert belongs to and what it should do there.
//!
//! An integration has an ordered list of [`Route`]s and one [`Fallback`].
//! The first route (in list order) whose matchers all match the alert's
//! labels decides; later routes are not looked at. When none matches, the
//! fallback decides: the integration's default service, with the action the
//! fallback names ([`RouteAction::TicketOnly`] unless configured otherwise),
//! so an unrouted alert is never lost but also never wakes someone up
//! because of a gap in the rules.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::grouping::GroupBy;
use super::limits::{MAX_GROUP_BY_LABELS, MAX_ROUTES, is_label_name};
use super::{AlertSignal, Matchers, Severity};
use crate::{FieldError, Impact, ServiceId, Urgency};

/// What happens to an alert once routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAction {
    /// Open an incident (or join an open one of its group) and page on-call.
    Page,
    /// Open or join an incident, but notify nobody: someone looks at it in
    /// working hours.
    TicketOnly,
    /// Only store the alert (history, noise metrics); no incident.
    RecordOnly,
}

impl RouteAction {
    pub const ALL: [RouteAction; 3] = [
        RouteAction::Page,
        RouteAction::TicketOnly,
        RouteAction::RecordOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteAction::Page => "page",
            RouteAction::TicketOnly => "ticket_only",
            RouteAction::RecordOnly => "record_only",
        }
    }
}

str_names!(RouteAction, "route action");

/// The urgency of the incident an alert opens, per severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgencyMap {
    pub critical: Urgency,
    pub error: Urgency,
    pub warning: Urgency,
    pub info: Urgency,
}

impl Default for UrgencyMap {
    /// critical → high, error → high, warning → medium, info → low.
    fn default() -> Self {
        UrgencyMap {
            critical: Urgency::High,
            error: Urgency::High,
            warning: Urgency::Medium,
            info: Urgency::Low,
        }
    }
}

impl UrgencyMap {
    pub fn urgency(&self, severity: Severity) -> Urgency {
        match severity {
            Severity::Critical => self.critical,
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// For people and for [`RoutingDecision::route`]; need not be unique.
    pub name: String,
    /// All must match; the empty list matches every alert (a catch-all,
    /// which makes every later route unreachable).
    #[serde(default)]
    pub matchers: Matchers,
    pub service: ServiceId,
    pub action: RouteAction,
    /// With [`RouteAction::Page`]: alerts less severe than this only open a
    /// ticket ("page vs ticket by severity"). `None` pages at any severity.
    #[serde(default)]
    pub page_min_severity: Option<Severity>,
    #[serde(default)]
    pub urgency: UrgencyMap,
    /// The impact of the incidents this route opens; with the urgency it
    /// sets their priority (the ITIL matrix), so a route for a
    /// customer-facing service can open P1s where an internal one opens P3s.
    #[serde(default = "default_incident_impact")]
    pub impact: Impact,
    #[serde(default)]
    pub group_by: GroupBy,
    /// See [`super::decide_group`]; `None` groups for as long as the incident
    /// stays open.
    #[serde(default)]
    pub group_window: Option<SignedDuration>,
    /// Resolve the incident when all its alerts have resolved.
    #[serde(default)]
    pub auto_resolve: bool,
}

/// What applies when no route matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallback {
    /// The integration's default service.
    pub service: ServiceId,
    #[serde(default = "default_fallback_action")]
    pub action: RouteAction,
    #[serde(default)]
    pub urgency: UrgencyMap,
    #[serde(default = "default_incident_impact")]
    pub impact: Impact,
    #[serde(default)]
    pub group_by: GroupBy,
    #[serde(default)]
    pub group_window: Option<SignedDuration>,
    #[serde(default)]
    pub auto_resolve: bool,
}

fn default_fallback_action() -> RouteAction {
    RouteAction::TicketOnly
}

impl Fallback {
    /// The default fallback for a service: ticket only, default urgencies,
    /// medium impact, grouped by `alertname`, no auto-resolve.
    pub fn new(service: ServiceId) -> Self {
        Fallback {
            service,
            action: default_fallback_action(),
            urgency: UrgencyMap::default(),
            impact: default_incident_impact(),
            group_by: GroupBy::default(),
            group_window: None,
            auto_resolve: false,
        }
    }
}

/// The outcome of routing one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingDecision {
    /// Index of the route that matched; `None` when the fallback applied.
    pub route: Option<usize>,
    pub service: ServiceId,
    /// The action after `page_min_severity` is applied.
    pub action: RouteAction,
    pub urgency: Urgency,
    pub impact: Impact,
    pub group_by: GroupBy,
    pub group_window: Option<SignedDuration>,
    pub auto_resolve: bool,
}

/// Incidents opened from alerts affect one service until a route says
/// otherwise.
pub fn default_incident_impact() -> Impact {
    Impact::Medium
}

/// Routes one alert: the first matching route, else the fallback.
pub fn route(routes: &[Route], fallback: &Fallback, signal: &AlertSignal) -> RoutingDecision {
    match routes
        .iter()
        .enumerate()
        .find(|(_, r)| r.matchers.matches(&signal.labels))
    {
        Some((i, r)) => {
            let action = match (r.action, r.page_min_severity) {
                (RouteAction::Page, Some(min)) if signal.severity < min => RouteAction::TicketOnly,
                (action, _) => action,
            };
            RoutingDecision {
                route: Some(i),
                service: r.service,
                action,
                urgency: r.urgency.urgency(signal.severity),
                impact: r.impact,
                group_by: r.group_by.clone(),
                group_window: r.group_window,
                auto_resolve: r.auto_resolve,
            }
        }
        None => RoutingDecision {
            route: None,
            service: fallback.service,
            action: fallback.action,
            urgency: fallback.urgency.urgency(signal.severity),
            impact: fallback.impact,
            group_by: fallback.group_by.clone(),
            group_window: fallback.group_window,
            auto_resolve: fallback.auto_resolve,
        },
    }
}

/// Every problem with a route list, fields named `routes[i].name` etc.
/// A catch-all route before the end is refused, because every route after it
/// could never match and that is always a mistake.
/// The fallback's grouping settings are checked as `fallback.group_by` and
/// `fallback.group_window`.
pub fn validate_routes(routes: &[Route], fallback: &Fallback) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if routes.len() > MAX_ROUTES {
        errors.push(FieldError::new(
            "routes",
            format!("has {} routes; the limit is {MAX_ROUTES}", routes.len()),
        ));
        return errors;
    }
    for (i, r) in routes.iter().enumerate() {
        if r.name.trim().is_empty() {
            errors.push(FieldError::new(
                format!("routes[{i}].name"),
                "must not be empty",
            ));
        }
        if r.matchers.is_empty() && i + 1 < routes.len() {
            errors.push(FieldError::new(
                format!("routes[{i}].matchers"),
                "an empty matcher list matches every alert, so the routes after it could never match",
            ));
        }
        if r.page_min_severity.is_some() && r.action != RouteAction::Page {
            errors.push(FieldError::new(
                format!("routes[{i}].page_min_severity"),
                "only applies to routes whose action is page",
            ));
        }
        check_group_settings(
            &format!("routes[{i}]"),
            &r.group_by,
            r.group_window,
            &mut errors,
        );
    }
    check_group_settings(
        "fallback",
        &fallback.group_by,
        fallback.group_window,
        &mut errors,
    );
    errors
}

pub(super) fn check_group_settings(
    prefix: &str,
    group_by: &GroupBy,
    window: Option<SignedDuration>,
    errors: &mut Vec<FieldError>,
) {
    if let GroupBy::Labels(names) = group_by {
        if names.len() > MAX_GROUP_BY_LABELS {
            errors.push(FieldError::new(
                format!("{prefix}.group_by"),
                format!(
                    "has {} labels; the limit is {MAX_GROUP_BY_LABELS}",
                    names.len()
                ),
            ));
        }
        for (j, n) in names.iter().enumerate() {
            if !is_label_name(n) {
                errors.push(FieldError::new(
                    format!("{prefix}.group_by[{j}]"),
                    format!("{n:?} is not a valid label name"),
                ));
            }
        }
    }
    if window.is_some_and(|w| !w.is_positive()) {
        errors.push(FieldError::new(
            format!("{prefix}.group_window"),
            "must be longer than zero",
        ));
    }
}
