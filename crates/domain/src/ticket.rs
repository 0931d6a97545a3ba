//! Ticket kinds, states, numbers and links.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The four kinds of work share one model and one table; each kind has its own
/// state machine (see [`crate::transition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Incident,
    ServiceRequest,
    Problem,
    Change,
}

impl TicketKind {
    pub const ALL: [TicketKind; 4] = [
        TicketKind::Incident,
        TicketKind::ServiceRequest,
        TicketKind::Problem,
        TicketKind::Change,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Incident => "incident",
            TicketKind::ServiceRequest => "service_request",
            TicketKind::Problem => "problem",
            TicketKind::Change => "change",
        }
    }

    /// The prefix people say out loud: "INC-000123".
    pub fn number_prefix(self) -> &'static str {
        match self {
            TicketKind::Incident => "INC",
            TicketKind::ServiceRequest => "REQ",
            TicketKind::Problem => "PRB",
            TicketKind::Change => "CHG",
        }
    }

    /// Where a new ticket of this kind starts.
    pub fn initial_state(self) -> TicketState {
        match self {
            TicketKind::Change => TicketState::Draft,
            _ => TicketState::New,
        }
    }
}

/// Every state of every kind. Which states a kind may use, and how it moves
/// between them, is decided by [`crate::transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    New,
    InProgress,
    OnHold,
    Resolved,
    Closed,
    AwaitingApproval,
    Approved,
    Rejected,
    Fulfilled,
    Cancelled,
    Investigating,
    KnownError,
    Draft,
    Assessment,
    Scheduled,
    Implementing,
    Review,
}

impl TicketState {
    pub const ALL: [TicketState; 17] = [
        TicketState::New,
        TicketState::InProgress,
        TicketState::OnHold,
        TicketState::Resolved,
        TicketState::Closed,
        TicketState::AwaitingApproval,
        TicketState::Approved,
        TicketState::Rejected,
        TicketState::Fulfilled,
        TicketState::Cancelled,
        TicketState::Investigating,
        TicketState::KnownError,
        TicketState::Draft,
        TicketState::Assessment,
        TicketState::Scheduled,
        TicketState::Implementing,
        TicketState::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::New => "new",
            TicketState::InProgress => "in_progress",
            TicketState::OnHold => "on_hold",
            TicketState::Resolved => "resolved",
            TicketState::Closed => "closed",
            TicketState::AwaitingApproval => "awaiting_approval",
            TicketState::Approved => "approved",
            TicketState::Rejected => "rejected",
            TicketState::Fulfilled => "fulfilled",
            TicketState::Cancelled => "cancelled",
            TicketState::Investigating => "investigating",
            TicketState::KnownError => "known_error",
            TicketState::Draft => "draft",
            TicketState::Assessment => "assessment",
            TicketState::Scheduled => "scheduled",
            TicketState::Implementing => "implementing",
            TicketState::Review => "review",
        }
    }

    /// Terminal states: nothing leaves them.
    pub fn is_terminal(self) -> bool {
        matches!(self, TicketState::Closed | TicketState::Cancelled)
    }

    /// "Open" means somebody still owes work: used by queues ("all open") and
    /// counts. Resolved/fulfilled tickets wait only for confirmation or the
    /// reopen window, so they are not open.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            TicketState::Closed
                | TicketState::Cancelled
                | TicketState::Resolved
                | TicketState::Fulfilled
                | TicketState::Rejected
        )
    }
}

/// Why an incident or request waits on someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHoldReason {
    AwaitingCustomer,
    AwaitingVendor,
    AwaitingChange,
}

impl OnHoldReason {
    pub const ALL: [OnHoldReason; 3] = [
        OnHoldReason::AwaitingCustomer,
        OnHoldReason::AwaitingVendor,
        OnHoldReason::AwaitingChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OnHoldReason::AwaitingCustomer => "awaiting_customer",
            OnHoldReason::AwaitingVendor => "awaiting_vendor",
            OnHoldReason::AwaitingChange => "awaiting_change",
        }
    }
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOutcome {
    Successful,
    Failed,
    RolledBack,
}

impl ChangeOutcome {
    pub const ALL: [ChangeOutcome; 3] = [
        ChangeOutcome::Successful,
        ChangeOutcome::Failed,
        ChangeOutcome::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOutcome::Successful => "successful",
            ChangeOutcome::Failed => "failed",
            ChangeOutcome::RolledBack => "rolled_back",
        }
    }
}

/// How two tickets relate. Links are directed: `source <kind> target`, e.g.
/// "INC-7 duplicate_of INC-3", "INC-7 caused_by CHG-2", "PRB-1 parent_of INC-7".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    DuplicateOf,
    CausedBy,
    Related,
    ParentOf,
}

impl LinkKind {
    pub const ALL: [LinkKind; 4] = [
        LinkKind::DuplicateOf,
        LinkKind::CausedBy,
        LinkKind::Related,
        LinkKind::ParentOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::DuplicateOf => "duplicate_of",
            LinkKind::CausedBy => "caused_by",
            LinkKind::Related => "related",
            LinkKind::ParentOf => "parent_of",
        }
    }
}

str_names!(TicketKind, "ticket kind");
str_names!(TicketState, "ticket state");
str_names!(OnHoldReason, "on-hold reason");
str_names!(ChangeOutcome, "change outcome");
str_names!(LinkKind, "link kind");

/// The human ticket number: kind prefix and a per-kind sequence, "INC-000123".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TicketNumber {
    pub kind: TicketKind,
    pub seq: i64,
}

impl TicketNumber {
    /// Accepts "INC-000123" and "inc-123".
    pub fn parse(s: &str) -> Option<TicketNumber> {
        let (prefix, digits) = s.split_once('-')?;
        let kind = TicketKind::ALL
            .into_iter()
            .find(|k| k.number_prefix().eq_ignore_ascii_case(prefix))?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq = digits.parse().ok()?;
        Some(TicketNumber { kind, seq })
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.kind.number_prefix(), self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_zero_padded_per_kind() {
        let n = TicketNumber {
            kind: TicketKind::Incident,
            seq: 123,
        };
        assert_eq!(n.to_string(), "INC-000123");
        let n = TicketNumber {
            kind: TicketKind::ServiceRequest,
            seq: 1_234_567,
        };
        assert_eq!(n.to_string(), "REQ-1234567");
    }

    #[test]
    fn numbers_parse_loosely_but_strictly_enough() {
        assert_eq!(
            TicketNumber::parse("chg-42"),
            Some(TicketNumber {
                kind: TicketKind::Change,
                seq: 42
            })
        );
        assert_eq!(TicketNumber::parse("PRB-000007").map(|n| n.seq), Some(7));
        assert_eq!(TicketNumber::parse("XYZ-1"), None);
        assert_eq!(TicketNumber::parse("INC-"), None);
        assert_eq!(TicketNumber::parse("INC-12a"), None);
        assert_eq!(TicketNumber::parse("123"), None);
    }

    #[test]
    fn every_state_name_round_trips() {
        for s in TicketState::ALL {
            assert_eq!(s.as_str().parse::<TicketState>(), Ok(s));
        }
        for k in TicketKind::ALL {
            assert_eq!(k.as_str().parse::<TicketKind>(), Ok(k));
        }
    }
}
