//! The state machine of each ticket kind.
//!
//! Every legal move is one row of [`edges`]: `(from, action, to)`. Nothing else
//! changes a ticket's state except merging a duplicate, which closes it from
//! any open state because the work goes on in the survivor. So the tables
//! below are the whole truth, and `docs/state-machines.md` is generated from
//! them by [`markdown_table`] (a test keeps the two identical).

use crate::FieldError;
use crate::limits::{check_required_body, check_short_text};
use crate::ticket::{ChangeOutcome, OnHoldReason, TicketKind, TicketState};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The name of a step, without its data: what the API lists as "allowed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionName {
    Acknowledge,
    Start,
    Hold,
    Resume,
    Resolve,
    Reopen,
    Close,
    SubmitForApproval,
    Approve,
    Reject,
    Fulfill,
    Cancel,
    Investigate,
    RecordKnownError,
    SubmitForAssessment,
    RequestApproval,
    Implement,
    CompleteImplementation,
}

impl TransitionName {
    pub const ALL: [TransitionName; 18] = [
        TransitionName::Acknowledge,
        TransitionName::Start,
        TransitionName::Hold,
        TransitionName::Resume,
        TransitionName::Resolve,
        TransitionName::Reopen,
        TransitionName::Close,
        TransitionName::SubmitForApproval,
        TransitionName::Approve,
        TransitionName::Reject,
        TransitionName::Fulfill,
        TransitionName::Cancel,
        TransitionName::Investigate,
        TransitionName::RecordKnownError,
        TransitionName::SubmitForAssessment,
        TransitionName::RequestApproval,
        TransitionName::Implement,
        TransitionName::CompleteImplementation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransitionName::Acknowledge => "acknowledge",
            TransitionName::Start => "start",
            TransitionName::Hold => "hold",
            TransitionName::Resume => "resume",
            TransitionName::Resolve => "resolve",
            TransitionName::Reopen => "reopen",
            TransitionName::Close => "close",
            TransitionName::SubmitForApproval => "submit_for_approval",
            TransitionName::Approve => "approve",
            TransitionName::Reject => "reject",
            TransitionName::Fulfill => "fulfill",
            TransitionName::Cancel => "cancel",
            TransitionName::Investigate => "investigate",
            TransitionName::RecordKnownError => "record_known_error",
            TransitionName::SubmitForAssessment => "submit_for_assessment",
            TransitionName::RequestApproval => "request_approval",
            TransitionName::Implement => "implement",
            TransitionName::CompleteImplementation => "complete_implementation",
        }
    }

    /// What the data of this step must contain, for documentation and forms.
    pub fn required_fields(self, kind: TicketKind) -> &'static [&'static str] {
        match (self, kind) {
            (TransitionName::Hold, _) => &["reason"],
            (TransitionName::Resolve, _) => &["resolution_code", "resolution_note"],
            (TransitionName::Fulfill, _) => &["resolution_note"],
            (TransitionName::Reject, _) => &["note"],
            (TransitionName::Cancel, _) => &["reason"],
            (TransitionName::RecordKnownError, _) => &["workaround"],
            (TransitionName::Close, TicketKind::Change) => &["outcome"],
            _ => &[],
        }
    }
}

str_names!(TransitionName, "action");

/// A step somebody asks for, with the data that step needs. The JSON shape is
/// `{"action": "hold", "reason": "awaiting_customer"}`. Steps without data are
/// empty struct variants (`Acknowledge {}`), not unit variants, because serde
/// ignores unknown fields next to the tag of a unit variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transition {
    Acknowledge {},
    Start {},
    Hold {
        reason: OnHoldReason,
    },
    Resume {},
    Resolve {
        resolution_code: String,
        resolution_note: String,
    },
    Reopen {
        #[serde(default)]
        reason: Option<String>,
    },
    Close {
        #[serde(default)]
        outcome: Option<ChangeOutcome>,
    },
    SubmitForApproval {},
    Approve {
        #[serde(default)]
        note: Option<String>,
    },
    Reject {
        note: String,
    },
    Fulfill {
        resolution_note: String,
    },
    Cancel {
        reason: String,
    },
    Investigate {},
    RecordKnownError {
        workaround: String,
    },
    SubmitForAssessment {},
    RequestApproval {},
    Implement {},
    CompleteImplementation {},
}

impl Transition {
    pub fn name(&self) -> TransitionName {
        match self {
            Transition::Acknowledge {} => TransitionName::Acknowledge,
            Transition::Start {} => TransitionName::Start,
            Transition::Hold { .. } => TransitionName::Hold,
            Transition::Resume {} => TransitionName::Resume,
            Transition::Resolve { .. } => TransitionName::Resolve,
            Transition::Reopen { .. } => TransitionName::Reopen,
            Transition::Close { .. } => TransitionName::Close,
            Transition::SubmitForApproval {} => TransitionName::SubmitForApproval,
            Transition::Approve { .. } => TransitionName::Approve,
            Transition::Reject { .. } => TransitionName::Reject,
            Transition::Fulfill { .. } => TransitionName::Fulfill,
            Transition::Cancel { .. } => TransitionName::Cancel,
            Transition::Investigate {} => TransitionName::Investigate,
            Transition::RecordKnownError { .. } => TransitionName::RecordKnownError,
            Transition::SubmitForAssessment {} => TransitionName::SubmitForAssessment,
            Transition::RequestApproval {} => TransitionName::RequestApproval,
            Transition::Implement {} => TransitionName::Implement,
            Transition::CompleteImplementation {} => TransitionName::CompleteImplementation,
        }
    }
}

use TicketState as S;
use TransitionName as T;

const INCIDENT: &[(TicketState, TransitionName, TicketState)] = &[
    (S::New, T::Acknowledge, S::InProgress),
    (S::New, T::Resolve, S::Resolved),
    (S::InProgress, T::Hold, S::OnHold),
    (S::InProgress, T::Resolve, S::Resolved),
    (S::OnHold, T::Resume, S::InProgress),
    (S::OnHold, T::Resolve, S::Resolved),
    (S::Resolved, T::Reopen, S::InProgress),
    (S::Resolved, T::Close, S::Closed),
];

const SERVICE_REQUEST: &[(TicketState, TransitionName, TicketState)] = &[
    (S::New, T::SubmitForApproval, S::AwaitingApproval),
    (S::New, T::Start, S::InProgress),
    (S::New, T::Cancel, S::Cancelled),
    (S::AwaitingApproval, T::Approve, S::Approved),
    (S::AwaitingApproval, T::Reject, S::Rejected),
    (S::AwaitingApproval, T::Cancel, S::Cancelled),
    (S::Approved, T::Start, S::InProgress),
    (S::Approved, T::Cancel, S::Cancelled),
    (S::InProgress, T::Hold, S::OnHold),
    (S::InProgress, T::Fulfill, S::Fulfilled),
    (S::InProgress, T::Cancel, S::Cancelled),
    (S::OnHold, T::Resume, S::InProgress),
    (S::OnHold, T::Cancel, S::Cancelled),
    (S::Fulfilled, T::Reopen, S::InProgress),
    (S::Fulfilled, T::Close, S::Closed),
    (S::Rejected, T::Close, S::Closed),
];

const PROBLEM: &[(TicketState, TransitionName, TicketState)] = &[
    (S::New, T::Investigate, S::Investigating),
    (S::Investigating, T::RecordKnownError, S::KnownError),
    (S::Investigating, T::Resolve, S::Resolved),
    (S::KnownError, T::RecordKnownError, S::KnownError),
    (S::KnownError, T::Resolve, S::Resolved),
    (S::Resolved, T::Reopen, S::Investigating),
    (S::Resolved, T::Close, S::Closed),
];

const CHANGE: &[(TicketState, TransitionName, TicketState)] = &[
    (S::Draft, T::SubmitForAssessment, S::Assessment),
    (S::Draft, T::Cancel, S::Cancelled),
    (S::Assessment, T::RequestApproval, S::AwaitingApproval),
    (S::Assessment, T::Cancel, S::Cancelled),
    (S::AwaitingApproval, T::Approve, S::Scheduled),
    (S::AwaitingApproval, T::Reject, S::Draft),
    (S::AwaitingApproval, T::Cancel, S::Cancelled),
    (S::Scheduled, T::Implement, S::Implementing),
    (S::Scheduled, T::Cancel, S::Cancelled),
    (S::Implementing, T::CompleteImplementation, S::Review),
    (S::Implementing, T::Cancel, S::Cancelled),
    (S::Review, T::Close, S::Closed),
    (S::Review, T::Cancel, S::Cancelled),
];

/// Every legal `(from, action, to)` of a kind.
pub fn edges(kind: TicketKind) -> &'static [(TicketState, TransitionName, TicketState)] {
    match kind {
        TicketKind::Incident => INCIDENT,
        TicketKind::ServiceRequest => SERVICE_REQUEST,
        TicketKind::Problem => PROBLEM,
        TicketKind::Change => CHANGE,
    }
}

/// The states a kind can be in.
pub fn states(kind: TicketKind) -> Vec<TicketState> {
    let mut out = vec![kind.initial_state()];
    for &(from, _, to) in edges(kind) {
        for s in [from, to] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The actions legal from `state`, in table order.
pub fn allowed(kind: TicketKind, state: TicketState) -> Vec<TransitionName> {
    let mut out = Vec::new();
    for &(from, name, _) in edges(kind) {
        if from == state && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn target(kind: TicketKind, state: TicketState, name: TransitionName) -> Option<TicketState> {
    edges(kind)
        .iter()
        .find(|&&(from, n, _)| from == state && n == name)
        .map(|&(_, _, to)| to)
}

/// The facts about a ticket that decide whether a step is legal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketFacts {
    pub kind: TicketKind,
    pub state: TicketState,
    /// When it was last resolved or fulfilled; the reopen window starts here.
    pub resolved_at: Option<Timestamp>,
}

/// How long after resolution a requester may still reopen; after it the
/// ticket is closed for good (the server's auto-close timer does it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReopenPolicy {
    pub window: SignedDuration,
}

impl Default for ReopenPolicy {
    /// Seven days: long enough to notice the fix did not hold.
    fn default() -> Self {
        ReopenPolicy {
            window: SignedDuration::from_hours(7 * 24),
        }
    }
}

impl ReopenPolicy {
    /// When a ticket resolved at `resolved_at` is closed for good.
    pub fn closes_at(&self, resolved_at: Timestamp) -> Timestamp {
        resolved_at
            .saturating_add(self.window)
            .unwrap_or(Timestamp::MAX)
    }
}

/// A milestone timestamp that a step stamps on the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Acknowledged,
    Resolved,
    Closed,
    Reopened,
}

/// Everything a legal step changes on the ticket. The store applies it and
/// records it as the event's before/after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: TransitionName,
    pub from: TicketState,
    pub to: TicketState,
    pub milestone: Option<Milestone>,
    /// The on-hold reason after the step (`None` clears it).
    pub on_hold_reason: Option<OnHoldReason>,
    /// Resolution code and note to record, if this step resolves.
    pub resolution: Option<(String, String)>,
    pub workaround: Option<String>,
    pub change_outcome: Option<ChangeOutcome>,
    /// A reopen adds one to the ticket's reopen count; nothing else does.
    pub reopens: bool,
    /// Acknowledging an unassigned ticket makes the actor its assignee.
    pub takes_ownership: bool,
    /// Free text explaining the step (reject note, cancel reason, ...).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a {kind} in state '{from}' cannot '{action}'; allowed: {}", list(.allowed))]
    Illegal {
        kind: TicketKind,
        from: TicketState,
        action: TransitionName,
        allowed: Vec<TransitionName>,
    },
    #[error("the reopen window closed at {closed_at}; open a new ticket instead")]
    ReopenWindowClosed { closed_at: Timestamp },
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

fn list(names: &[TransitionName]) -> String {
    if names.is_empty() {
        return "none (the ticket is closed)".into();
    }
    names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides whether `step` is legal for the ticket now and what it changes.
pub fn plan(
    facts: TicketFacts,
    step: &Transition,
    now: Timestamp,
    reopen: ReopenPolicy,
) -> Result<Planned, TransitionError> {
    let name = step.name();
    let to = target(facts.kind, facts.state, name).ok_or_else(|| TransitionError::Illegal {
        kind: facts.kind,
        from: facts.state,
        action: name,
        allowed: allowed(facts.kind, facts.state),
    })?;
    let mut planned = Planned {
        name,
        from: facts.state,
        to,
        milestone: None,
        on_hold_reason: None,
        resolution: None,
        workaround: None,
        change_outcome: None,
        reopens: false,
        takes_ownership: false,
        note: None,
    };
    match step {
        Transition::Acknowledge {} => {
            planned.milestone = Some(Milestone::Acknowledged);
            planned.takes_ownership = true;
        }
        Transition::Hold { reason } => planned.on_hold_reason = Some(*reason),
        Transition::Resolve {
            resolution_code,
            resolution_note,
        } => {
            check_short_text("resolution_code", resolution_code)?;
            check_required_body("resolution_note", resolution_note)?;
            planned.milestone = Some(Milestone::Resolved);
            planned.resolution =
                Some((resolution_code.trim().to_string(), resolution_note.clone()));
        }
        Transition::Fulfill { resolution_note } => {
            check_required_body("resolution_note", resolution_note)?;
            planned.milestone = Some(Milestone::Resolved);
            planned.resolution = Some(("fulfilled".to_string(), resolution_note.clone()));
        }
        Transition::Reopen { reason } => {
            if let Some(reason) = reason {
                check_required_body("reason", reason)?;
            }
            if let Some(resolved_at) = facts.resolved_at {
                let closed_at = reopen.closes_at(resolved_at);
                if now >= closed_at {
                    return Err(TransitionError::ReopenWindowClosed { closed_at });
                }
            }
            planned.milestone = Some(Milestone::Reopened);
            planned.reopens = true;
            planned.note = reason.clone();
        }
        Transition::Close { outcome } => {
            match (facts.kind, outcome) {
                (TicketKind::Change, None) => {
                    return Err(FieldError::new(
                        "outcome",
                        "is required to close a change: successful, failed or rolled_back",
                    )
                    .into());
                }
                (TicketKind::Change, Some(o)) => planned.change_outcome = Some(*o),
                (_, Some(_)) => {
                    return Err(FieldError::new("outcome", "only changes have an outcome").into());
                }
                (_, None) => {}
            }
            planned.milestone = Some(Milestone::Closed);
        }
        Transition::Reject { note } => {
            check_required_body("note", note)?;
            planned.note = Some(note.clone());
        }
        Transition::Approve { note } => {
            if let Some(note) = note {
                check_required_body("note", note)?;
            }
            planned.note = note.clone();
        }
        Transition::Cancel { reason } => {
            check_required_body("reason", reason)?;
            planned.milestone = Some(Milestone::Closed);
            planned.note = Some(reason.clone());
        }
        Transition::RecordKnownError { workaround } => {
            check_required_body("workaround", workaround)?;
            planned.workaround = Some(workaround.clone());
        }
        Transition::Start {}
        | Transition::Resume {}
        | Transition::SubmitForApproval {}
        | Transition::Investigate {}
        | Transition::SubmitForAssessment {}
        | Transition::RequestApproval {}
        | Transition::Implement {}
        | Transition::CompleteImplementation {} => {}
    }
    Ok(planned)
}

/// The state machine of a kind as a Markdown table, for docs/state-machines.md.
pub fn markdown_table(kind: TicketKind) -> String {
    let mut out = String::from("| from | action | to | required data |\n|---|---|---|---|\n");
    for &(from, name, to) in edges(kind) {
        let required = name.required_fields(kind);
        let required = if required.is_empty() {
            "-".to_string()
        } else {
            required
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("| {from} | `{name}` | {to} | {required} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts(kind: TicketKind, state: TicketState) -> TicketFacts {
        TicketFacts {
            kind,
            state,
            resolved_at: None,
        }
    }

    #[test]
    fn illegal_step_lists_what_is_allowed() {
        let err = plan(
            facts(TicketKind::Incident, TicketState::New),
            &Transition::Hold {
                reason: OnHoldReason::AwaitingCustomer,
            },
            at("2026-01-01T00:00:00Z"),
            ReopenPolicy::default(),
        )
        .unwrap_err();
        match err {
            TransitionError::Illegal { allowed, .. } => {
                assert_eq!(
                    allowed,
                    vec![TransitionName::Acknowledge, TransitionName::Resolve]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn resolve_requires_code_and_note() {
        let err = plan(
            facts(TicketKind::Incident, TicketState::InProgress),
            &Transition::Resolve {
                resolution_code: "fixed".into(),
                resolution_note: " ".into(),
            },
            at("2026-01-01T00:00:00Z"),
            ReopenPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid(FieldError::new("resolution_note", "must not be empty"))
        );
    }

    #[test]
    fn reopen_only_within_the_window() {
        let policy = ReopenPolicy {
            window: SignedDuration::from_hours(24),
        };
        let resolved = facts(TicketKind::Incident, TicketState::Resolved);
        let resolved = TicketFacts {
            resolved_at: Some(at("2026-03-01T10:00:00Z")),
            ..resolved
        };
        let step = Transition::Reopen { reason: None };
        let ok = plan(resolved, &step, at("2026-03-02T09:59:59Z"), policy).unwrap();
        assert!(ok.reopens);
        assert_eq!(ok.to, TicketState::InProgress);
        let late = plan(resolved, &step, at("2026-03-02T10:00:00Z"), policy).unwrap_err();
        assert!(matches!(late, TransitionError::ReopenWindowClosed { .. }));
    }

    #[test]
    fn change_close_needs_an_outcome_and_others_refuse_one() {
        let now = at("2026-01-01T00:00:00Z");
        let review = facts(TicketKind::Change, TicketState::Review);
        let err = plan(
            review,
            &Transition::Close { outcome: None },
            now,
            ReopenPolicy::default(),
        )
        .unwrap_err();
        assert!(matches!(err, TransitionError::Invalid(ref f) if f.field == "outcome"));
        let ok = plan(
            review,
            &Transition::Close {
                outcome: Some(ChangeOutcome::RolledBack),
            },
            now,
            ReopenPolicy::default(),
        )
        .unwrap();
        assert_eq!(ok.change_outcome, Some(ChangeOutcome::RolledBack));
        let resolved = facts(TicketKind::Incident, TicketState::Resolved);
        let err = plan(
            resolved,
            &Transition::Close {
                outcome: Some(ChangeOutcome::Failed),
            },
            now,
            ReopenPolicy::default(),
        )
        .unwrap_err();
        assert!(matches!(err, TransitionError::Invalid(ref f) if f.field == "outcome"));
    }

    #[test]
    fn approve_means_scheduled_for_changes_and_approved_for_requests() {
        let now = at("2026-01-01T00:00:00Z");
        let step = Transition::Approve { note: None };
        let change = plan(
            facts(TicketKind::Change, TicketState::AwaitingApproval),
            &step,
            now,
            ReopenPolicy::default(),
        )
        .unwrap();
        assert_eq!(change.to, TicketState::Scheduled);
        let request = plan(
            facts(TicketKind::ServiceRequest, TicketState::AwaitingApproval),
            &step,
            now,
            ReopenPolicy::default(),
        )
        .unwrap();
        assert_eq!(request.to, TicketState::Approved);
    }

    #[test]
    fn json_shape_is_action_tagged_and_strict() {
        let t: Transition =
            serde_json::from_str(r#"{"action":"hold","reason":"awaiting_vendor"}"#).unwrap();
        assert_eq!(
            t,
            Transition::Hold {
                reason: OnHoldReason::AwaitingVendor
            }
        );
        assert!(serde_json::from_str::<Transition>(r#"{"action":"hold"}"#).is_err());
        assert!(
            serde_json::from_str::<Transition>(r#"{"action":"acknowledge","extra":1}"#).is_err()
        );
        assert!(serde_json::from_str::<Transition>(r#"{"action":"teleport"}"#).is_err());
    }

    #[test]
    fn every_kind_starts_in_its_initial_state_and_terminal_states_have_no_exit() {
        for kind in TicketKind::ALL {
            assert!(states(kind).contains(&kind.initial_state()));
            for &(from, _, _) in edges(kind) {
                assert!(!from.is_terminal(), "{kind}: edge out of terminal {from}");
            }
        }
    }
}
