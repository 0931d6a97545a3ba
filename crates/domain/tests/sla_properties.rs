//! Property tests for the SLA clock: random histories of holds, resumes,
//! stops, reopens and policy changes on a 24x7 and an office calendar.

use jiff::civil::time;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::TicketState;
use opsdesk_domain::calendar::{BusinessCalendar, WeeklyHours};
use opsdesk_domain::sla::{
    ClockEvent, ClockEventKind, ClockStatus, SlaMetric, SlaTarget, evaluate,
};
use proptest::prelude::*;

fn calendars() -> Vec<BusinessCalendar> {
    let office = WeeklyHours::office(time(9, 0, 0, 0), time(17, 0, 0, 0));
    let berlin = BusinessCalendar::new("Europe/Berlin", office, vec![])
        .unwrap_or_else(|e| panic!("office calendar: {e:?}"));
    vec![BusinessCalendar::always(), berlin]
}

/// Monday 2026-03-02 00:00 UTC; histories spread over a few weeks from here,
/// across the Berlin DST change of 2026-03-29.
fn base() -> Timestamp {
    Timestamp::from_second(1_772_409_600).unwrap_or_else(|e| panic!("base: {e}"))
}

fn at(minutes: i64) -> Timestamp {
    base() + SignedDuration::from_mins(minutes)
}

fn eval(target: &SlaTarget, events: &[ClockEvent], now: Timestamp) -> ClockStatus {
    let cals = calendars();
    let lookup = |id: i64| usize::try_from(id).ok().and_then(|i| cals.get(i));
    evaluate(target, &lookup, events, now).unwrap_or_else(|e| panic!("evaluate: {e}"))
}

/// A step of a random history: minutes after the previous event, and what.
#[derive(Debug, Clone)]
enum Step {
    Hold,
    Resume,
    Stop,
    Reopen,
    Policy { hours: i64, calendar: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Hold),
        Just(Step::Resume),
        Just(Step::Stop),
        Just(Step::Reopen),
        (1i64..48, 0i64..2).prop_map(|(hours, calendar)| Step::Policy { hours, calendar }),
    ]
}

fn kind(step: &Step) -> ClockEventKind {
    match step {
        Step::Hold => ClockEventKind::StateChanged(TicketState::OnHold),
        Step::Resume => ClockEventKind::StateChanged(TicketState::InProgress),
        Step::Stop => ClockEventKind::Stopped,
        Step::Reopen => ClockEventKind::Restarted,
        Step::Policy { hours, calendar } => ClockEventKind::PolicyChanged {
            target: SignedDuration::from_hours(*hours),
            calendar_id: *calendar,
        },
    }
}

/// Builds a history that starts at `at(start)`, keeping only the steps
/// `keep` accepts. Returns the events and the minute of the last one.
fn history(
    start: i64,
    steps: &[(i64, Step)],
    keep: impl Fn(&Step) -> bool,
) -> (Vec<ClockEvent>, i64) {
    let mut events = vec![ClockEvent::new(at(start), ClockEventKind::Started)];
    let mut minute = start;
    for (gap, step) in steps {
        minute += gap;
        if keep(step) {
            events.push(ClockEvent::new(at(minute), kind(step)));
        }
    }
    (events, minute)
}

fn target_strategy() -> impl Strategy<Value = SlaTarget> {
    (1i64..48, 0i64..2, 1u8..100).prop_map(|(hours, calendar, warn)| SlaTarget {
        warn_at_percent: warn,
        ..SlaTarget::new(
            SlaMetric::Resolution,
            SignedDuration::from_hours(hours),
            calendar,
        )
    })
}

fn steps_strategy() -> impl Strategy<Value = Vec<(i64, Step)>> {
    prop::collection::vec((0i64..2000, step()), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn elapsed_is_monotonic_in_now(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        a in 0i64..30_000,
        b in 0i64..30_000,
    ) {
        let (events, _) = history(start, &steps, |_| true);
        let (early, late) = (a.min(b), a.max(b));
        let x = eval(&target, &events, at(early));
        let y = eval(&target, &events, at(late));
        prop_assert!(x.elapsed <= y.elapsed);
        prop_assert!(x.paused_total <= y.paused_total);
    }

    #[test]
    fn elapsed_never_exceeds_wall_time(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        now in 0i64..30_000,
    ) {
        let (events, _) = history(start, &steps, |_| true);
        let now = at(now);
        let status = eval(&target, &events, now);
        let wall = if now > at(start) { now.duration_since(at(start)) } else { SignedDuration::ZERO };
        prop_assert!(status.elapsed + status.paused_total <= wall);
    }

    #[test]
    fn pausing_never_increases_elapsed(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        now in 0i64..30_000,
    ) {
        let not_a_pause = |s: &Step| !matches!(s, Step::Hold | Step::Resume);
        let (with_pauses, _) = history(start, &steps, |_| true);
        let (without, _) = history(start, &steps, not_a_pause);
        let paused = eval(&target, &with_pauses, at(now));
        let plain = eval(&target, &without, at(now));
        prop_assert!(paused.elapsed <= plain.elapsed);
        prop_assert!(plain.paused_total.is_zero());
    }

    #[test]
    fn business_time_is_elapsed_plus_paused(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        now in 0i64..30_000,
    ) {
        let hold_or_resume = |s: &Step| matches!(s, Step::Hold | Step::Resume);
        let (events, _) = history(start, &steps, hold_or_resume);
        let now = at(now);
        let status = eval(&target, &events, now);
        let cals = calendars();
        let calendar = usize::try_from(target.calendar_id).ok().and_then(|i| cals.get(i));
        let calendar = calendar.unwrap_or_else(|| panic!("calendar {}", target.calendar_id));
        let total = calendar.business_time_between(at(start), now);
        prop_assert_eq!(status.elapsed + status.paused_total, total);
    }

    #[test]
    fn breach_instant_is_where_elapsed_reaches_the_target(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        now in 0i64..30_000,
    ) {
        let no_policy_change = |s: &Step| !matches!(s, Step::Policy { .. });
        let (events, _) = history(start, &steps, no_policy_change);
        let status = eval(&target, &events, at(now));
        if let Some(breached_at) = status.breached_at {
            prop_assert!(status.elapsed >= target.target);
            let then = eval(&target, &events, breached_at);
            prop_assert_eq!(then.elapsed, target.target);
            prop_assert!(then.breached_at.is_none());
        } else {
            prop_assert!(status.elapsed <= target.target);
        }
    }

    #[test]
    fn a_stopped_clock_is_frozen(
        target in target_strategy(),
        start in 0i64..5000,
        steps in steps_strategy(),
        gap in 1i64..600,
        a in 0i64..20_000,
        b in 0i64..20_000,
    ) {
        let (mut events, last) = history(start, &steps, |_| true);
        let stop = last + gap;
        events.push(ClockEvent::new(at(stop), ClockEventKind::Stopped));
        let stopped = eval(&target, &events, at(stop));
        let x = eval(&target, &events, at(stop + a));
        let y = eval(&target, &events, at(stop + b));
        prop_assert_eq!(&x, &y);
        prop_assert_eq!(&x, &stopped);
        prop_assert!(x.stopped_at.is_some());
        prop_assert!(x.due_at.is_none());
    }
}
