//! SLA policies and the SLA clock.
//!
//! A [`SlaPolicy`] says which tickets it covers (a [`PolicyMatcher`]) and what
//! is promised to them (one [`SlaTarget`] per [`SlaMetric`]). The first
//! matching policy wins; see [`select_policy`] for the order.
//!
//! The clock ([`evaluate`]) turns a ticket's history of [`ClockEvent`]s into a
//! [`ClockStatus`]: elapsed business time, pauses, due instant, warning and
//! breach. It is a pure function of the history and `now`, so the server can
//! recompute it at any time (after a restart, for a report, for a past
//! instant) and always get the same answer. The rules for pauses, policy
//! changes and reopening are written up in `docs/sla.md`.

mod announce;
mod clock;

use serde::{Deserialize, Serialize};
use std::fmt;

use jiff::SignedDuration;

use crate::{FieldError, Priority, ServiceId, TicketKind, TicketState};

pub use announce::{
    DueAnnouncements, TicketSlaSummary, due_announcements, next_announcement, summarize,
};
pub use clock::{ClockError, ClockEvent, ClockEventKind, ClockState, ClockStatus, evaluate};

/// Id of an SLA policy. Local to this module until the store needs it
/// elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlaPolicyId(pub i64);

impl fmt::Display for SlaPolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// Until the first public reply by an agent.
    FirstResponse,
    /// Until the ticket is resolved (or fulfilled).
    Resolution,
}

impl SlaMetric {
    pub const ALL: [SlaMetric; 2] = [SlaMetric::FirstResponse, SlaMetric::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaMetric::FirstResponse => "first_response",
            SlaMetric::Resolution => "resolution",
        }
    }

    pub fn parse(name: &str) -> Option<SlaMetric> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Default warning threshold: warn when 75 % of the target is used.
pub const DEFAULT_WARN_AT_PERCENT: u8 = 75;

fn default_pause_states() -> Vec<TicketState> {
    vec![TicketState::OnHold]
}

fn default_warn_at_percent() -> u8 {
    DEFAULT_WARN_AT_PERCENT
}

/// One promise of a policy: `metric` within `target` of business time on
/// calendar `calendar_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaTarget {
    pub metric: SlaMetric,
    /// Business time allowed; must be > 0.
    pub target: SignedDuration,
    /// The business calendar the clock runs on.
    pub calendar_id: i64,
    /// While the ticket is in one of these states the clock is paused.
    #[serde(default = "default_pause_states")]
    pub pause_states: Vec<TicketState>,
    /// Warn when this share of the target is used (1..=99).
    #[serde(default = "default_warn_at_percent")]
    pub warn_at_percent: u8,
}

impl SlaTarget {
    /// A target with the defaults: paused while on hold, warning at 75 %.
    pub fn new(metric: SlaMetric, target: SignedDuration, calendar_id: i64) -> Self {
        Self {
            metric,
            target,
            calendar_id,
            pause_states: default_pause_states(),
            warn_at_percent: DEFAULT_WARN_AT_PERCENT,
        }
    }

    /// Whether the clock is paused while the ticket is in `state`.
    pub fn pauses_in(&self, state: TicketState) -> bool {
        self.pause_states.contains(&state)
    }
}

/// Which tickets a policy covers. Each list is a set of accepted values;
/// an empty list accepts anything. All lists must accept for a match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyMatcher {
    #[serde(default)]
    pub kinds: Vec<TicketKind>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
    #[serde(default)]
    pub services: Vec<ServiceId>,
    /// Requester organisation names, compared exactly.
    #[serde(default)]
    pub organizations: Vec<String>,
}

/// The facts about a ticket that policies are matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyFacts<'a> {
    pub kind: TicketKind,
    pub priority: Priority,
    pub service: Option<ServiceId>,
    /// The requester's organisation, if any.
    pub organization: Option<&'a str>,
}

impl PolicyMatcher {
    /// Whether a ticket with `facts` is covered. A non-empty service or
    /// organisation list never matches a ticket that has none.
    pub fn matches(&self, facts: &PolicyFacts<'_>) -> bool {
        accepts(&self.kinds, Some(&facts.kind))
            && accepts(&self.priorities, Some(&facts.priority))
            && accepts(&self.services, facts.service.as_ref())
            && (self.organizations.is_empty()
                || facts
                    .organization
                    .is_some_and(|org| self.organizations.iter().any(|o| o == org)))
    }
}

fn accepts<T: PartialEq>(list: &[T], value: Option<&T>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.contains(v))
}

/// A named set of targets and the tickets they apply to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub id: SlaPolicyId,
    pub name: String,
    /// Lower is tried first; ties are broken by ascending id.
    pub order: i64,
    #[serde(default)]
    pub matcher: PolicyMatcher,
    pub targets: Vec<SlaTarget>,
}

impl SlaPolicy {
    /// The target for `metric`, if the policy promises one.
    pub fn target(&self, metric: SlaMetric) -> Option<&SlaTarget> {
        self.targets.iter().find(|t| t.metric == metric)
    }
}

/// The policy that applies to a ticket: the first matching policy by
/// ascending `order`, ties broken by ascending `id`. The order of the slice
/// does not matter, so the result is the same however the store sorts rows.
/// `None` when no policy matches (the ticket has no SLA).
pub fn select_policy<'a>(
    policies: &'a [SlaPolicy],
    facts: &PolicyFacts<'_>,
) -> Option<&'a SlaPolicy> {
    policies
        .iter()
        .filter(|p| p.matcher.matches(facts))
        .min_by_key(|p| (p.order, p.id))
}

/// Every problem with a policy, each naming its field (`name`, `targets`,
/// `targets[1].target`, ...), so the API can answer with one 4xx listing
/// them all. Empty means valid.
pub fn validate_policy(policy: &SlaPolicy) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if policy.name.trim().is_empty() {
        errors.push(FieldError::new("name", "must not be empty"));
    }
    if policy.targets.is_empty() {
        errors.push(FieldError::new("targets", "must have at least one target"));
    }
    for (i, target) in policy.targets.iter().enumerate() {
        validate_target(i, target, &mut errors);
        if policy.targets[..i]
            .iter()
            .any(|t| t.metric == target.metric)
        {
            errors.push(FieldError::new(
                format!("targets[{i}].metric"),
                format!("duplicate metric {}", target.metric.as_str()),
            ));
        }
    }
    errors
}

fn validate_target(i: usize, target: &SlaTarget, errors: &mut Vec<FieldError>) {
    if !target.target.is_positive() {
        errors.push(FieldError::new(
            format!("targets[{i}].target"),
            "must be longer than zero",
        ));
    }
    if !(1..=99).contains(&target.warn_at_percent) {
        errors.push(FieldError::new(
            format!("targets[{i}].warn_at_percent"),
            "must be between 1 and 99",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: i64, order: i64, matcher: PolicyMatcher) -> SlaPolicy {
        SlaPolicy {
            id: SlaPolicyId(id),
            name: format!("p{id}"),
            order,
            matcher,
            targets: vec![SlaTarget::new(
                SlaMetric::Resolution,
                SignedDuration::from_hours(4),
                1,
            )],
        }
    }

    fn facts(org: Option<&str>) -> PolicyFacts<'_> {
        PolicyFacts {
            kind: TicketKind::Incident,
            priority: Priority::P1,
            service: None,
            organization: org,
        }
    }

    #[test]
    fn first_match_by_order_then_id() {
        let policies = vec![
            policy(3, 5, PolicyMatcher::default()),
            policy(2, 1, PolicyMatcher::default()),
            policy(1, 1, PolicyMatcher::default()),
        ];
        let chosen = select_policy(&policies, &facts(None)).map(|p| p.id);
        assert_eq!(chosen, Some(SlaPolicyId(1)));
    }

    #[test]
    fn organisation_list_needs_an_organisation() {
        let m = PolicyMatcher {
            organizations: vec!["ACME".into()],
            ..Default::default()
        };
        assert!(!m.matches(&facts(None)));
        assert!(!m.matches(&facts(Some("Other"))));
        assert!(m.matches(&facts(Some("ACME"))));
    }

    #[test]
    fn default_target_pauses_on_hold_and_warns_at_75() {
        let t = SlaTarget::new(SlaMetric::FirstResponse, SignedDuration::from_hours(1), 1);
        assert!(t.pauses_in(TicketState::OnHold));
        assert!(!t.pauses_in(TicketState::InProgress));
        assert_eq!(t.warn_at_percent, 75);
    }

    #[test]
    fn serde_defaults_apply() {
        let json = r#"{"metric":"resolution","target":"PT8H","calendar_id":2}"#;
        let t: SlaTarget = serde_json::from_str(json).expect("valid target json");
        assert_eq!(t.pause_states, vec![TicketState::OnHold]);
        assert_eq!(t.warn_at_percent, 75);
        assert_eq!(t.target, SignedDuration::from_hours(8));
    }
}
