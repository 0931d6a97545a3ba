//! When the SLA worker announces a clock's warning and breach, and how a
//! ticket's clocks sum up in a queue.
//!
//! Each clock is announced at most once per kind: a warning when the
//! warning threshold is crossed, a breach when the target is exceeded. The
//! worker remembers what it announced (`warned`, `breach_announced`) beside
//! the clock; these functions say what is still owed at `now` and when the
//! next announcement falls due, so a server that was down catches up on
//! start and stamps each announcement with the instant it really happened.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ClockState, ClockStatus};

/// What one clock still owes at `now`: the true instants of a warning and a
/// breach that have happened and were not announced yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueAnnouncements {
    pub warning: Option<Timestamp>,
    pub breach: Option<Timestamp>,
}

impl DueAnnouncements {
    pub fn is_empty(&self) -> bool {
        self.warning.is_none() && self.breach.is_none()
    }
}

/// The announcements of `status` that are due at `now` and not yet made.
///
/// A warning is owed once its threshold was crossed, even when the breach
/// followed before anyone announced it (a server that was down announces
/// both, warning first). A clock that stopped or paused before its
/// threshold has no warning instant, so it does not warn.
pub fn due_announcements(
    status: &ClockStatus,
    warned: bool,
    breach_announced: bool,
    now: Timestamp,
) -> DueAnnouncements {
    let owed = |done: bool, at: Option<Timestamp>| at.filter(|at| !done && *at <= now);
    DueAnnouncements {
        warning: owed(warned, status.warning_at),
        breach: owed(breach_announced, status.breached_at),
    }
}

/// The next instant at which `status` owes an announcement not made yet,
/// if the clock keeps running as it does; `None` when nothing is pending.
/// The worker wakes the clock at this instant; any change to the ticket
/// recomputes it.
///
/// `warning_at` of a running clock may be a projection; of a paused or
/// stopped one it is the instant the threshold was really crossed (or
/// `None`), so both are owed at that instant. The breach is owed at its
/// true instant, or for a running clock at the projected due instant.
pub fn next_announcement(
    status: &ClockStatus,
    warned: bool,
    breach_announced: bool,
) -> Option<Timestamp> {
    let warning = status.warning_at.filter(|_| !warned);
    let breach = if breach_announced {
        None
    } else if status.breached_at.is_some() {
        status.breached_at
    } else if status.state == ClockState::Running {
        status.due_at
    } else {
        None
    };
    match (warning, breach) {
        (Some(w), Some(b)) => Some(w.min(b)),
        (w, b) => w.or(b),
    }
}

/// How a ticket's clocks read together in a queue: the most pressing state
/// and the earliest instant a running clock is (or was) due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSlaSummary {
    pub status: ClockState,
    pub due_at: Option<Timestamp>,
}

/// Sums up a ticket's clocks: breached over running over paused over met
/// over not started; `None` when no policy covers the ticket.
pub fn summarize(clocks: &[ClockStatus]) -> Option<TicketSlaSummary> {
    let status = clocks
        .iter()
        .map(|c| c.state)
        .max_by_key(|s| pressure(*s))?;
    let due_at = clocks.iter().filter_map(|c| c.due_at).min();
    Some(TicketSlaSummary { status, due_at })
}

/// Higher is more pressing.
fn pressure(state: ClockState) -> u8 {
    match state {
        ClockState::NotStarted => 0,
        ClockState::Met => 1,
        ClockState::Paused => 2,
        ClockState::Running => 3,
        ClockState::Breached => 4,
    }
}
