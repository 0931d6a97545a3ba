//! The SLA clock: from a ticket's history to elapsed business time, due
//! instant, warning and breach.
//!
//! The clock is not stored; it is recomputed from the history each time, so
//! it can never drift from the events and a past state can be reproduced by
//! passing an earlier `now`. The rules (see also `docs/sla.md`):
//!
//! * Between two events the clock is in one mode: not started, running,
//!   paused (the ticket is in one of the target's pause states) or stopped
//!   (the metric was met). Running business time adds to `elapsed`, paused
//!   business time to `paused_total`; nothing is counted twice.
//! * Each interval is measured on the calendar in force during it. A policy
//!   change keeps the elapsed time and applies the new target and calendar
//!   from the change on.
//! * A reopen (`Restarted`) continues from the elapsed time at the stop.
//! * The clock breaches at the instant elapsed reaches the target, provided
//!   it then keeps running past that instant. Stopping exactly at the due
//!   instant is met, a paused clock cannot breach, and a breach is final.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::SlaTarget;
use crate::TicketState;
use crate::calendar::BusinessCalendar;

/// Something that happened to a ticket that matters to one SLA clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockEvent {
    pub at: Timestamp,
    pub kind: ClockEventKind,
}

impl ClockEvent {
    pub fn new(at: Timestamp, kind: ClockEventKind) -> Self {
        Self { at, kind }
    }
}

/// The kinds of [`ClockEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockEventKind {
    /// The clock starts (ticket opened, or the policy was first attached).
    /// Only the first one counts.
    Started,
    /// The ticket moved to `state`; the clock pauses while that state is one
    /// of the target's pause states. May come before `Started`.
    StateChanged(TicketState),
    /// The metric was met: the first public agent reply (first response) or
    /// the resolution. Ignored when the clock is not running or paused.
    Stopped,
    /// The ticket was reopened: a stopped clock continues from the elapsed
    /// time it had when it stopped. Ignored when the clock is not stopped.
    Restarted,
    /// Priority, service or policy changed: from this instant on the new
    /// target and calendar apply; elapsed and paused time are kept.
    PolicyChanged {
        target: SignedDuration,
        calendar_id: i64,
    },
}

/// Why a clock could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A target or policy change names a calendar the caller does not know.
    #[error("unknown business calendar {0}")]
    UnknownCalendar(i64),
}

/// A one-word summary of a clock, for lists and badges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// No `Started` event yet.
    NotStarted,
    Running,
    Paused,
    /// Stopped within the target.
    Met,
    /// The target was exceeded at `breached_at`. This wins over running,
    /// paused and stopped: `paused` and `stopped_at` tell which of those
    /// the clock is in.
    Breached,
}

impl ClockState {
    pub const ALL: [ClockState; 5] = [
        ClockState::NotStarted,
        ClockState::Running,
        ClockState::Paused,
        ClockState::Met,
        ClockState::Breached,
    ];

    /// The name used in the API and in storage (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::NotStarted => "not_started",
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::Breached => "breached",
        }
    }

    pub fn parse(name: &str) -> Option<ClockState> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The state of one SLA clock at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockStatus {
    pub state: ClockState,
    pub started_at: Option<Timestamp>,
    /// Business time the clock has run, pauses excluded.
    pub elapsed: SignedDuration,
    /// Whether the ticket is in a pause state right now (and not stopped).
    pub paused: bool,
    /// Business time spent paused, on the calendar in force at the time.
    pub paused_total: SignedDuration,
    /// When the clock stopped, while it is stopped (a reopen clears it).
    pub stopped_at: Option<Timestamp>,
    /// The target in force at `now` (after any policy change).
    pub target: SignedDuration,
    /// The calendar in force at `now`.
    pub calendar_id: i64,
    /// When the target is (or was) reached, while the clock runs. `None`
    /// while paused (the instant is unknown until the clock runs again; see
    /// [`ClockStatus::due_if_resumed_at`]), stopped or not started. When
    /// overdue it is the instant the clock became overdue.
    pub due_at: Option<Timestamp>,
    /// `target - elapsed`; negative when overdue.
    pub remaining: SignedDuration,
    /// When the warning threshold was reached (from the history) or, while
    /// running, will be reached. `None` if not reached and not running.
    pub warning_at: Option<Timestamp>,
    pub breached: bool,
    /// The true instant the clock crossed its target, from the history.
    pub breached_at: Option<Timestamp>,
}

impl ClockStatus {
    /// When the target would be reached if the clock ran from `at` without
    /// further pauses, on `calendar` (the one named by `calendar_id`).
    /// Shown for paused clocks, whose `due_at` is `None`. Already overdue:
    /// `at` itself.
    pub fn due_if_resumed_at(&self, calendar: &BusinessCalendar, at: Timestamp) -> Timestamp {
        if self.remaining.is_positive() {
            calendar.add_business_time(at, self.remaining)
        } else {
            at
        }
    }
}

/// Evaluates one SLA clock at `now` from the ticket's history.
///
/// `target` gives the initial target and calendar, the pause states and the
/// warning threshold; `calendars` resolves calendar ids. Events after `now`
/// are ignored, so evaluating at an earlier instant replays the past. Events
/// are taken in order of `at` (stable: same-instant events keep their order).
pub fn evaluate<'c>(
    target: &SlaTarget,
    calendars: &impl Fn(i64) -> Option<&'c BusinessCalendar>,
    events: &[ClockEvent],
    now: Timestamp,
) -> Result<ClockStatus, ClockError> {
    let calendar = lookup(calendars, target.calendar_id)?;
    let mut walk = Walk::new(target, calendar);
    let mut ordered: Vec<&ClockEvent> = events.iter().filter(|e| e.at <= now).collect();
    ordered.sort_by_key(|e| e.at);
    let mut cursor: Option<Timestamp> = None;
    for event in ordered {
        if let Some(from) = cursor {
            walk.advance(from, event.at);
        }
        walk.apply(&event.kind, event.at, calendars)?;
        cursor = Some(event.at);
    }
    if let Some(from) = cursor {
        walk.advance(from, now);
    }
    Ok(walk.status(now))
}

fn lookup<'c>(
    calendars: &impl Fn(i64) -> Option<&'c BusinessCalendar>,
    id: i64,
) -> Result<&'c BusinessCalendar, ClockError> {
    calendars(id).ok_or(ClockError::UnknownCalendar(id))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    NotStarted,
    Running,
    Paused,
    Stopped,
}

/// The clock while the history is replayed.
struct Walk<'t, 'c> {
    spec: &'t SlaTarget,
    target: SignedDuration,
    calendar_id: i64,
    calendar: &'c BusinessCalendar,
    ticket_state: Option<TicketState>,
    started_at: Option<Timestamp>,
    stopped_at: Option<Timestamp>,
    elapsed: SignedDuration,
    paused_total: SignedDuration,
    warned_at: Option<Timestamp>,
    breached_at: Option<Timestamp>,
}

impl<'t, 'c> Walk<'t, 'c> {
    fn new(spec: &'t SlaTarget, calendar: &'c BusinessCalendar) -> Self {
        Self {
            spec,
            target: spec.target,
            calendar_id: spec.calendar_id,
            calendar,
            ticket_state: None,
            started_at: None,
            stopped_at: None,
            elapsed: SignedDuration::ZERO,
            paused_total: SignedDuration::ZERO,
            warned_at: None,
            breached_at: None,
        }
    }

    fn mode(&self) -> Mode {
        if self.started_at.is_none() {
            Mode::NotStarted
        } else if self.stopped_at.is_some() {
            Mode::Stopped
        } else if self.ticket_state.is_some_and(|s| self.spec.pauses_in(s)) {
            Mode::Paused
        } else {
            Mode::Running
        }
    }

    /// Counts `[from, to)` in the current mode.
    fn advance(&mut self, from: Timestamp, to: Timestamp) {
        if to <= from {
            return;
        }
        match self.mode() {
            Mode::Running => {
                let business = self.calendar.business_time_between(from, to);
                self.note_crossings(from, to, business);
                self.elapsed = self.elapsed.saturating_add(business);
            }
            Mode::Paused => {
                let business = self.calendar.business_time_between(from, to);
                self.paused_total = self.paused_total.saturating_add(business);
            }
            Mode::NotStarted | Mode::Stopped => {}
        }
    }

    /// Records the first instants the warning threshold and the target are
    /// reached inside the running interval `[from, to)`. A breach needs the
    /// clock to run past the due instant, so a crossing exactly at `to`
    /// (where a stop or pause may follow) is not yet a breach.
    fn note_crossings(&mut self, from: Timestamp, to: Timestamp, business: SignedDuration) {
        if self.warned_at.is_none() {
            let threshold = self.warn_threshold();
            self.warned_at = self
                .crossing(from, business, threshold)
                .filter(|c| *c <= to);
        }
        if self.breached_at.is_none() {
            self.breached_at = self
                .crossing(from, business, self.target)
                .filter(|c| *c < to);
        }
    }

    /// The instant in a running interval starting at `from` (with
    /// `business` time in it) where elapsed reaches `threshold`, if it does.
    fn crossing(
        &self,
        from: Timestamp,
        business: SignedDuration,
        threshold: SignedDuration,
    ) -> Option<Timestamp> {
        if self.elapsed >= threshold {
            return Some(from);
        }
        let missing = threshold.saturating_sub(self.elapsed);
        (business >= missing).then(|| self.calendar.add_business_time(from, missing))
    }

    fn warn_threshold(&self) -> SignedDuration {
        let nanos = self.target.as_nanos() * i128::from(self.spec.warn_at_percent) / 100;
        SignedDuration::try_from_nanos_i128(nanos).unwrap_or(self.target)
    }

    fn apply(
        &mut self,
        kind: &ClockEventKind,
        at: Timestamp,
        calendars: &impl Fn(i64) -> Option<&'c BusinessCalendar>,
    ) -> Result<(), ClockError> {
        match kind {
            ClockEventKind::Started => {
                self.started_at.get_or_insert(at);
            }
            ClockEventKind::StateChanged(state) => self.ticket_state = Some(*state),
            ClockEventKind::Stopped => {
                if matches!(self.mode(), Mode::Running | Mode::Paused) {
                    self.stopped_at = Some(at);
                }
            }
            ClockEventKind::Restarted => self.stopped_at = None,
            ClockEventKind::PolicyChanged {
                target,
                calendar_id,
            } => {
                self.calendar = lookup(calendars, *calendar_id)?;
                self.calendar_id = *calendar_id;
                self.target = *target;
            }
        }
        Ok(())
    }

    fn status(&self, now: Timestamp) -> ClockStatus {
        let mode = self.mode();
        let remaining = self.target.saturating_sub(self.elapsed);
        ClockStatus {
            state: self.summary(mode),
            started_at: self.started_at,
            elapsed: self.elapsed,
            paused: mode == Mode::Paused,
            paused_total: self.paused_total,
            stopped_at: self.stopped_at,
            target: self.target,
            calendar_id: self.calendar_id,
            due_at: (mode == Mode::Running).then(|| self.due_at(now, remaining)),
            remaining,
            warning_at: self.warning_at(mode, now),
            breached: self.breached_at.is_some(),
            breached_at: self.breached_at,
        }
    }

    fn summary(&self, mode: Mode) -> ClockState {
        match mode {
            Mode::NotStarted => ClockState::NotStarted,
            _ if self.breached_at.is_some() => ClockState::Breached,
            Mode::Running => ClockState::Running,
            Mode::Paused => ClockState::Paused,
            Mode::Stopped => ClockState::Met,
        }
    }

    /// Due instant of a running clock: projected from `now` while time
    /// remains, otherwise the instant it became overdue (or `now`, when the
    /// target is reached exactly at `now`).
    fn due_at(&self, now: Timestamp, remaining: SignedDuration) -> Timestamp {
        if remaining.is_positive() {
            self.calendar.add_business_time(now, remaining)
        } else {
            self.breached_at.unwrap_or(now)
        }
    }

    fn warning_at(&self, mode: Mode, now: Timestamp) -> Option<Timestamp> {
        self.warned_at.or_else(|| {
            (mode == Mode::Running).then(|| {
                let missing = self.warn_threshold().saturating_sub(self.elapsed);
                self.calendar.add_business_time(now, missing)
            })
        })
    }
}
