//! Flap detection: an alert that keeps flipping between firing and resolved
//! stops paging until it calms down.
//!
//! The rule, with hysteresis so the verdict does not itself flap:
//!
//! * every change of state (firing → resolved, resolved → firing, including
//!   the first firing) is a *transition*, recorded with its time;
//! * an alert **starts flapping** when more than `max_transitions`
//!   transitions lie in the last `window` (`(now - window, now]`);
//! * it **stops flapping** when at most `max_transitions / 2` do;
//! * a transition to firing pages only when the alert is not flapping
//!   (counting that transition). So while an alert flaps, it never pages.
//!
//! The state keeps only the newest `max_transitions + 1` transition times,
//! which is all either threshold needs, so its size is bounded however long
//! the alert flaps.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::AlertStatus;
use crate::FieldError;

/// The flap thresholds of a service (or the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlapPolicy {
    /// More transitions than this within `window` is flapping; at least 1.
    pub max_transitions: u32,
    pub window: SignedDuration,
}

impl Default for FlapPolicy {
    /// More than 6 transitions (3 fire/resolve cycles) in an hour.
    fn default() -> Self {
        FlapPolicy {
            max_transitions: 6,
            window: SignedDuration::from_hours(1),
        }
    }
}

impl FlapPolicy {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.max_transitions == 0 {
            errors.push(FieldError::new("max_transitions", "must be at least 1"));
        }
        if !self.window.is_positive() {
            errors.push(FieldError::new("window", "must be longer than zero"));
        }
        errors
    }
}

/// Per-alert flap state; start from `FlapState::default()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlapState {
    /// Newest transition times, ascending, at most `max_transitions + 1`.
    transitions: Vec<Timestamp>,
    /// The verdict at the last recorded transition (for the hysteresis).
    flapping: bool,
}

/// What one transition means for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlapOutcome {
    /// Flapping after this transition.
    pub flapping: bool,
    /// Flapping now, and not at the previous transition: note it on the
    /// incident once.
    pub started: bool,
    /// Flapping at the previous transition, not any more. `started` and
    /// `stopped` strictly alternate.
    pub stopped: bool,
    /// A transition to firing that may page.
    pub page: bool,
}

impl FlapState {
    /// Transitions in `(now - window, now]`.
    fn count(&self, policy: &FlapPolicy, now: Timestamp) -> usize {
        let since = now.checked_sub(policy.window).unwrap_or(Timestamp::MIN);
        self.transitions
            .iter()
            .filter(|&&t| t > since && t <= now)
            .count()
    }

    fn verdict(&self, was_flapping: bool, policy: &FlapPolicy, now: Timestamp) -> bool {
        let n = self.count(policy, now);
        let max = policy.max_transitions as usize;
        if was_flapping { n > max / 2 } else { n > max }
    }

    /// Whether the alert is flapping at `now` (it may have calmed down since
    /// the last transition).
    pub fn is_flapping(&self, policy: &FlapPolicy, now: Timestamp) -> bool {
        self.verdict(self.flapping, policy, now)
    }

    /// Records a transition to `to` at `now` and says whether it may page.
    /// `to` is the new status; acknowledged counts as firing (it is not a
    /// change of state worth counting, so callers usually do not record it).
    pub fn record_transition(
        &mut self,
        policy: &FlapPolicy,
        to: AlertStatus,
        now: Timestamp,
    ) -> FlapOutcome {
        let before = self.is_flapping(policy, now);
        // Keep ascending even if a caller's `now` went backwards.
        let at = self.transitions.partition_point(|&t| t <= now);
        self.transitions.insert(at, now);
        let keep = policy.max_transitions.saturating_add(1) as usize;
        if self.transitions.len() > keep {
            let excess = self.transitions.len() - keep;
            self.transitions.drain(..excess);
        }
        let after = self.verdict(before, policy, now);
        // Episodes are reported against the verdict of the last transition,
        // so `started` and `stopped` strictly alternate even when an episode
        // ended quietly between two transitions.
        let reported = self.flapping;
        self.flapping = after;
        FlapOutcome {
            flapping: after,
            started: after && !reported,
            stopped: reported && !after,
            page: to != AlertStatus::Resolved && !after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded() {
        let policy = FlapPolicy {
            max_transitions: 3,
            window: SignedDuration::from_hours(1),
        };
        let mut s = FlapState::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid");
        for i in 0..100 {
            let now = t0 + SignedDuration::from_secs(i);
            s.record_transition(&policy, AlertStatus::Firing, now);
        }
        assert_eq!(s.transitions.len(), 4);
    }
}
