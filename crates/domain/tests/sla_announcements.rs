//! The SLA worker's announcement rules, simulated: a worker that wakes at
//! each instant `next_announcement` names (and whenever the ticket changes)
//! announces every warning and breach exactly once, at its true instant,
//! never early, whatever the history of holds, stops and reopens.

use jiff::civil::time;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::TicketState;
use opsdesk_domain::calendar::{BusinessCalendar, WeeklyHours};
use opsdesk_domain::sla::{
    ClockEvent, ClockEventKind, ClockState, ClockStatus, SlaMetric, SlaTarget, due_announcements,
    evaluate, next_announcement, summarize,
};
use proptest::prelude::*;

fn calendars() -> Vec<BusinessCalendar> {
    let office = WeeklyHours::office(time(9, 0, 0, 0), time(17, 0, 0, 0));
    let berlin = BusinessCalendar::new("Europe/Berlin", office, vec![])
        .unwrap_or_else(|e| panic!("office calendar: {e:?}"));
    vec![BusinessCalendar::always(), berlin]
}

/// Monday 2026-03-02 00:00 UTC.
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

fn target(hours: i64, calendar: i64, warn: u8) -> SlaTarget {
    SlaTarget {
        warn_at_percent: warn,
        ..SlaTarget::new(
            SlaMetric::Resolution,
            SignedDuration::from_hours(hours),
            calendar,
        )
    }
}

#[derive(Debug, Default)]
struct Announced {
    warnings: Vec<Timestamp>,
    breaches: Vec<Timestamp>,
}

/// Runs a worker over `events` until `horizon`: it wakes at every event and
/// at every instant the clock says an announcement falls due.
fn simulate(target: &SlaTarget, events: &[ClockEvent], horizon: Timestamp) -> Announced {
    let mut announced = Announced::default();
    let mut now = events.first().map_or(horizon, |e| e.at);
    loop {
        let status = eval(target, events, now);
        let due = due_announcements(
            &status,
            !announced.warnings.is_empty(),
            !announced.breaches.is_empty(),
            now,
        );
        announced.warnings.extend(due.warning);
        announced.breaches.extend(due.breach);
        let next_change = events.iter().map(|e| e.at).filter(|t| *t > now).min();
        let wake = next_announcement(
            &status,
            !announced.warnings.is_empty(),
            !announced.breaches.is_empty(),
        )
        // A breach needs the clock to run past its due instant: look again
        // a second later, as the real worker's next pass would.
        .map(|t| {
            if t <= now {
                now + SignedDuration::from_secs(1)
            } else {
                t
            }
        });
        let Some(next) = [next_change, wake].into_iter().flatten().min() else {
            break;
        };
        if next > horizon {
            break;
        }
        now = next;
    }
    announced
}

#[derive(Debug, Clone)]
enum Step {
    Hold,
    Resume,
    Stop,
    Reopen,
}

fn kind(step: &Step) -> ClockEventKind {
    match step {
        Step::Hold => ClockEventKind::StateChanged(TicketState::OnHold),
        Step::Resume => ClockEventKind::StateChanged(TicketState::InProgress),
        Step::Stop => ClockEventKind::Stopped,
        Step::Reopen => ClockEventKind::Restarted,
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Hold),
        Just(Step::Resume),
        Just(Step::Stop),
        Just(Step::Reopen)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_announcement_is_made_once_at_its_true_instant(
        hours in 1i64..30,
        calendar in 0i64..2,
        warn in 1u8..100,
        start in 0i64..3000,
        steps in prop::collection::vec((0i64..1500, step()), 0..10),
        extra in 0i64..20_000,
    ) {
        let target = target(hours, calendar, warn);
        let mut events = vec![ClockEvent::new(at(start), ClockEventKind::Started)];
        let mut minute = start;
        for (gap, s) in &steps {
            minute += gap;
            events.push(ClockEvent::new(at(minute), kind(s)));
        }
        let horizon = at(minute + extra);
        let announced = simulate(&target, &events, horizon);
        let truth = eval(&target, &events, horizon);

        prop_assert!(announced.warnings.len() <= 1, "warned twice: {:?}", announced.warnings);
        prop_assert!(announced.breaches.len() <= 1, "breached twice: {:?}", announced.breaches);
        let true_warning = truth.warning_at.filter(|w| *w <= horizon);
        prop_assert_eq!(announced.warnings.first().copied(), true_warning);
        prop_assert_eq!(announced.breaches.first().copied(), truth.breached_at);
    }
}

#[test]
fn a_clock_stopped_in_time_owes_nothing() {
    let target = target(4, 0, 75);
    let events = [
        ClockEvent::new(at(0), ClockEventKind::Started),
        ClockEvent::new(at(60), ClockEventKind::Stopped),
    ];
    let status = eval(&target, &events, at(1000));
    assert_eq!(next_announcement(&status, false, false), None);
    assert!(due_announcements(&status, false, false, at(1000)).is_empty());
}

#[test]
fn a_server_down_through_warning_and_breach_announces_both_with_true_instants() {
    let target = target(4, 0, 75);
    let events = [ClockEvent::new(at(0), ClockEventKind::Started)];
    let status = eval(&target, &events, at(600));
    let due = due_announcements(&status, false, false, at(600));
    assert_eq!(due.warning, Some(at(180)));
    assert_eq!(due.breach, Some(at(240)));
    // Once announced, nothing more is owed, now or later.
    assert_eq!(next_announcement(&status, true, true), None);
    assert!(due_announcements(&status, true, true, at(600)).is_empty());
}

#[test]
fn a_running_clock_wakes_at_its_warning_then_at_its_due_instant() {
    let target = target(4, 0, 50);
    let events = [ClockEvent::new(at(0), ClockEventKind::Started)];
    let status = eval(&target, &events, at(10));
    assert_eq!(next_announcement(&status, false, false), Some(at(120)));
    assert_eq!(next_announcement(&status, true, false), Some(at(240)));
}

#[test]
fn a_paused_clock_does_not_wake_until_it_runs_again() {
    let target = target(4, 0, 75);
    let events = [
        ClockEvent::new(at(0), ClockEventKind::Started),
        ClockEvent::new(at(30), ClockEventKind::StateChanged(TicketState::OnHold)),
    ];
    let status = eval(&target, &events, at(500));
    assert_eq!(status.state, ClockState::Paused);
    assert_eq!(next_announcement(&status, false, false), None);
}

#[test]
fn a_ticket_reads_as_its_most_pressing_clock_and_earliest_due() {
    let target_short = target(1, 0, 75);
    let target_long = target(8, 0, 75);
    let running = [ClockEvent::new(at(0), ClockEventKind::Started)];
    let met = [
        ClockEvent::new(at(0), ClockEventKind::Started),
        ClockEvent::new(at(10), ClockEventKind::Stopped),
    ];
    let short_met = eval(&target_short, &met, at(30));
    let long_running = eval(&target_long, &running, at(30));
    let summary = summarize(&[short_met, long_running.clone()])
        .unwrap_or_else(|| panic!("a summary of two clocks"));
    assert_eq!(summary.status, ClockState::Running);
    assert_eq!(summary.due_at, Some(at(480)));

    let short_breached = eval(&target_short, &running, at(90));
    let summary = summarize(&[short_breached, eval(&target_long, &running, at(90))])
        .unwrap_or_else(|| panic!("a summary of two clocks"));
    assert_eq!(summary.status, ClockState::Breached);
    assert_eq!(summary.due_at, Some(at(60)));
    assert_eq!(summarize(&[]), None);
}

#[test]
fn clock_state_names_are_their_serialised_names() {
    for state in ClockState::ALL {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        assert_eq!(ClockState::parse(state.as_str()), Some(state));
    }
    for metric in SlaMetric::ALL {
        assert_eq!(serde_json::to_value(metric).unwrap(), metric.as_str());
        assert_eq!(SlaMetric::parse(metric.as_str()), Some(metric));
    }
    assert_eq!(ClockState::parse("late"), None);
}
