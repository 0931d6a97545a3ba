//! Golden, table-driven cases for SLA clocks and policy selection.
//!
//! Calendar 1 is 24x7 (UTC); calendar 2 is an office calendar, Mon–Fri
//! 09:00–17:00 Europe/Berlin. 2026-03-06 is a Friday; Berlin is at +01:00
//! until 2026-03-29. Instants are written with their offset so a reader can
//! check them against a wall clock.

use jiff::civil::time;
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{BusinessCalendar, WeeklyHours};
use opsdesk_domain::sla::{
    ClockError, ClockEvent, ClockEventKind, ClockState, ClockStatus, PolicyFacts, PolicyMatcher,
    SlaMetric, SlaPolicy, SlaPolicyId, SlaTarget, evaluate, select_policy, validate_policy,
};
use opsdesk_domain::{Priority, ServiceId, TicketKind, TicketState};

const ALWAYS: i64 = 1;
const OFFICE: i64 = 2;

fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn calendars() -> Vec<(i64, BusinessCalendar)> {
    let office = WeeklyHours::office(time(9, 0, 0, 0), time(17, 0, 0, 0));
    let berlin = BusinessCalendar::new("Europe/Berlin", office, vec![])
        .unwrap_or_else(|e| panic!("office calendar: {e:?}"));
    vec![(ALWAYS, BusinessCalendar::always()), (OFFICE, berlin)]
}

fn run(target: &SlaTarget, events: &[ClockEvent], now: &str) -> ClockStatus {
    let cals = calendars();
    let lookup = |id: i64| cals.iter().find(|(i, _)| *i == id).map(|(_, c)| c);
    evaluate(target, &lookup, events, ts(now)).unwrap_or_else(|e| panic!("evaluate: {e}"))
}

fn ev(at: &str, kind: ClockEventKind) -> ClockEvent {
    ClockEvent::new(ts(at), kind)
}
fn start(at: &str) -> ClockEvent {
    ev(at, ClockEventKind::Started)
}
fn hold(at: &str) -> ClockEvent {
    ev(at, ClockEventKind::StateChanged(TicketState::OnHold))
}
fn work(at: &str) -> ClockEvent {
    ev(at, ClockEventKind::StateChanged(TicketState::InProgress))
}
fn stop(at: &str) -> ClockEvent {
    ev(at, ClockEventKind::Stopped)
}
fn reopen(at: &str) -> ClockEvent {
    ev(at, ClockEventKind::Restarted)
}
fn change(at: &str, target_hours: i64, calendar_id: i64) -> ClockEvent {
    ev(
        at,
        ClockEventKind::PolicyChanged {
            target: hours(target_hours),
            calendar_id,
        },
    )
}

struct Case {
    name: &'static str,
    metric: SlaMetric,
    target_hours: i64,
    calendar: i64,
    events: Vec<ClockEvent>,
    now: &'static str,
    state: ClockState,
    elapsed: SignedDuration,
    paused_total: SignedDuration,
    remaining: SignedDuration,
    due_at: Option<&'static str>,
    warning_at: Option<&'static str>,
    breached_at: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    use ClockState::*;
    use SlaMetric::*;
    vec![
        Case {
            name: "P1 resolution 4h on 24x7, running",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z")],
            now: "2026-03-06T12:00:00Z",
            state: Running,
            elapsed: hours(2),
            paused_total: hours(0),
            remaining: hours(2),
            due_at: Some("2026-03-06T14:00:00Z"),
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "P1 24x7 still running after due: breach at the due instant",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z")],
            now: "2026-03-06T15:00:00Z",
            state: Breached,
            elapsed: hours(5),
            paused_total: hours(0),
            remaining: hours(-1),
            due_at: Some("2026-03-06T14:00:00Z"),
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: Some("2026-03-06T14:00:00Z"),
        },
        Case {
            name: "met before the warning threshold",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T12:00:00Z")],
            now: "2026-03-07T00:00:00Z",
            state: Met,
            elapsed: hours(2),
            paused_total: hours(0),
            remaining: hours(2),
            due_at: None,
            warning_at: None,
            breached_at: None,
        },
        Case {
            name: "met after the warning, before due",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T13:30:00Z")],
            now: "2026-03-07T00:00:00Z",
            state: Met,
            elapsed: mins(210),
            paused_total: hours(0),
            remaining: mins(30),
            due_at: None,
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "stopped exactly at the due instant is met",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T14:00:00Z")],
            now: "2026-03-07T00:00:00Z",
            state: Met,
            elapsed: hours(4),
            paused_total: hours(0),
            remaining: hours(0),
            due_at: None,
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "breach before stop keeps the true breach instant",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T15:00:00Z")],
            now: "2026-03-08T00:00:00Z",
            state: Breached,
            elapsed: hours(5),
            paused_total: hours(0),
            remaining: hours(-1),
            due_at: None,
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: Some("2026-03-06T14:00:00Z"),
        },
        Case {
            name: "first response 1h met after 30 min",
            metric: FirstResponse,
            target_hours: 1,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T10:30:00Z")],
            now: "2026-03-06T15:00:00Z",
            state: Met,
            elapsed: mins(30),
            paused_total: hours(0),
            remaining: mins(30),
            due_at: None,
            warning_at: None,
            breached_at: None,
        },
        Case {
            name: "P3 8h office opened Friday 16:00: due Monday 16:00",
            metric: Resolution,
            target_hours: 8,
            calendar: OFFICE,
            events: vec![start("2026-03-06T16:00:00+01:00")],
            now: "2026-03-09T12:00:00+01:00",
            state: Running,
            elapsed: hours(4),
            paused_total: hours(0),
            remaining: hours(4),
            due_at: Some("2026-03-09T16:00:00+01:00"),
            warning_at: Some("2026-03-09T14:00:00+01:00"),
            breached_at: None,
        },
        Case {
            name: "office, on hold Monday 10:00-14:00, evaluated while paused",
            metric: Resolution,
            target_hours: 8,
            calendar: OFFICE,
            events: vec![
                start("2026-03-06T16:00:00+01:00"),
                hold("2026-03-09T10:00:00+01:00"),
            ],
            now: "2026-03-09T12:00:00+01:00",
            state: Paused,
            elapsed: hours(2),
            paused_total: hours(2),
            remaining: hours(6),
            due_at: None,
            warning_at: None,
            breached_at: None,
        },
        Case {
            name: "office, on hold Monday 10:00-14:00 shifts due to Tuesday 12:00",
            metric: Resolution,
            target_hours: 8,
            calendar: OFFICE,
            events: vec![
                start("2026-03-06T16:00:00+01:00"),
                hold("2026-03-09T10:00:00+01:00"),
                work("2026-03-09T14:00:00+01:00"),
            ],
            now: "2026-03-09T15:00:00+01:00",
            state: Running,
            elapsed: hours(3),
            paused_total: hours(4),
            remaining: hours(5),
            due_at: Some("2026-03-10T12:00:00+01:00"),
            warning_at: Some("2026-03-10T10:00:00+01:00"),
            breached_at: None,
        },
        Case {
            name: "priority raised mid-way: new 4h target counts the 2h elapsed",
            metric: Resolution,
            target_hours: 8,
            calendar: ALWAYS,
            events: vec![
                start("2026-03-06T10:00:00Z"),
                change("2026-03-06T12:00:00Z", 4, ALWAYS),
            ],
            now: "2026-03-06T13:00:00Z",
            state: Running,
            elapsed: hours(3),
            paused_total: hours(0),
            remaining: hours(1),
            due_at: Some("2026-03-06T14:00:00Z"),
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "priority raised past the elapsed time: breached at the change",
            metric: Resolution,
            target_hours: 8,
            calendar: ALWAYS,
            events: vec![
                start("2026-03-06T10:00:00Z"),
                change("2026-03-06T12:00:00Z", 1, ALWAYS),
            ],
            now: "2026-03-06T13:00:00Z",
            state: Breached,
            elapsed: hours(3),
            paused_total: hours(0),
            remaining: hours(-2),
            due_at: Some("2026-03-06T12:00:00Z"),
            warning_at: Some("2026-03-06T12:00:00Z"),
            breached_at: Some("2026-03-06T12:00:00Z"),
        },
        Case {
            name: "policy change from office to 24x7 keeps the office hour elapsed",
            metric: Resolution,
            target_hours: 8,
            calendar: OFFICE,
            events: vec![
                start("2026-03-06T16:00:00+01:00"),
                change("2026-03-07T10:00:00+01:00", 4, ALWAYS),
            ],
            now: "2026-03-07T11:00:00+01:00",
            state: Running,
            elapsed: hours(2),
            paused_total: hours(0),
            remaining: hours(2),
            due_at: Some("2026-03-07T13:00:00+01:00"),
            warning_at: Some("2026-03-07T12:00:00+01:00"),
            breached_at: None,
        },
        Case {
            name: "cannot breach while paused",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), hold("2026-03-06T13:00:00Z")],
            now: "2026-03-06T20:00:00Z",
            state: Paused,
            elapsed: hours(3),
            paused_total: hours(7),
            remaining: hours(1),
            due_at: None,
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "paused exactly at the due instant is not a breach",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), hold("2026-03-06T14:00:00Z")],
            now: "2026-03-06T20:00:00Z",
            state: Paused,
            elapsed: hours(4),
            paused_total: hours(6),
            remaining: hours(0),
            due_at: None,
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "breach after resuming from hold is exact",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![
                start("2026-03-06T10:00:00Z"),
                hold("2026-03-06T13:00:00Z"),
                work("2026-03-06T21:00:00Z"),
            ],
            now: "2026-03-06T23:00:00Z",
            state: Breached,
            elapsed: hours(5),
            paused_total: hours(8),
            remaining: hours(-1),
            due_at: Some("2026-03-06T22:00:00Z"),
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: Some("2026-03-06T22:00:00Z"),
        },
        Case {
            name: "reopen continues from the elapsed time at resolution",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![
                start("2026-03-06T10:00:00Z"),
                stop("2026-03-06T12:00:00Z"),
                reopen("2026-03-06T15:00:00Z"),
            ],
            now: "2026-03-06T16:00:00Z",
            state: Running,
            elapsed: hours(3),
            paused_total: hours(0),
            remaining: hours(1),
            due_at: Some("2026-03-06T17:00:00Z"),
            warning_at: Some("2026-03-06T16:00:00Z"),
            breached_at: None,
        },
        Case {
            name: "not started",
            metric: FirstResponse,
            target_hours: 1,
            calendar: ALWAYS,
            events: vec![],
            now: "2026-03-06T16:00:00Z",
            state: NotStarted,
            elapsed: hours(0),
            paused_total: hours(0),
            remaining: hours(1),
            due_at: None,
            warning_at: None,
            breached_at: None,
        },
        Case {
            name: "events after now are ignored",
            metric: Resolution,
            target_hours: 4,
            calendar: ALWAYS,
            events: vec![start("2026-03-06T10:00:00Z"), stop("2026-03-06T13:00:00Z")],
            now: "2026-03-06T11:00:00Z",
            state: Running,
            elapsed: hours(1),
            paused_total: hours(0),
            remaining: hours(3),
            due_at: Some("2026-03-06T14:00:00Z"),
            warning_at: Some("2026-03-06T13:00:00Z"),
            breached_at: None,
        },
    ]
}

#[test]
fn golden_clock_cases() {
    for case in cases() {
        let target = SlaTarget::new(case.metric, hours(case.target_hours), case.calendar);
        let got = run(&target, &case.events, case.now);
        let name = case.name;
        assert_eq!(got.state, case.state, "{name}: state");
        assert_eq!(got.elapsed, case.elapsed, "{name}: elapsed");
        assert_eq!(got.paused_total, case.paused_total, "{name}: paused_total");
        assert_eq!(got.remaining, case.remaining, "{name}: remaining");
        assert_eq!(got.due_at, case.due_at.map(ts), "{name}: due_at");
        assert_eq!(
            got.warning_at,
            case.warning_at.map(ts),
            "{name}: warning_at"
        );
        assert_eq!(
            got.breached_at,
            case.breached_at.map(ts),
            "{name}: breached_at"
        );
        assert_eq!(got.breached, case.breached_at.is_some(), "{name}: breached");
        assert_eq!(
            got.paused,
            case.state == ClockState::Paused,
            "{name}: paused"
        );
    }
}

#[test]
fn office_due_agrees_with_the_calendar() {
    let cals = calendars();
    let office = &cals[1].1;
    let opened = ts("2026-03-06T16:00:00+01:00");
    assert_eq!(
        office.add_business_time(opened, hours(8)),
        ts("2026-03-09T16:00:00+01:00")
    );
}

#[test]
fn due_if_resumed_for_a_paused_clock() {
    let target = SlaTarget::new(SlaMetric::Resolution, hours(8), OFFICE);
    let events = [
        start("2026-03-06T16:00:00+01:00"),
        hold("2026-03-09T10:00:00+01:00"),
    ];
    let status = run(&target, &events, "2026-03-09T12:00:00+01:00");
    let cals = calendars();
    let resumed = status.due_if_resumed_at(&cals[1].1, ts("2026-03-09T12:00:00+01:00"));
    // 6h left: 12:00-17:00 Monday, then 09:00-10:00 Tuesday.
    assert_eq!(resumed, ts("2026-03-10T10:00:00+01:00"));
}

#[test]
fn unknown_calendar_is_an_error() {
    let target = SlaTarget::new(SlaMetric::Resolution, hours(4), 99);
    let cals = calendars();
    let lookup = |id: i64| cals.iter().find(|(i, _)| *i == id).map(|(_, c)| c);
    let got = evaluate(&target, &lookup, &[], ts("2026-03-06T10:00:00Z"));
    assert_eq!(got, Err(ClockError::UnknownCalendar(99)));

    let target = SlaTarget::new(SlaMetric::Resolution, hours(4), ALWAYS);
    let events = [
        start("2026-03-06T10:00:00Z"),
        change("2026-03-06T11:00:00Z", 2, 42),
    ];
    let got = evaluate(&target, &lookup, &events, ts("2026-03-06T12:00:00Z"));
    assert_eq!(got, Err(ClockError::UnknownCalendar(42)));
}

fn policy(id: i64, order: i64, matcher: PolicyMatcher) -> SlaPolicy {
    SlaPolicy {
        id: SlaPolicyId(id),
        name: format!("policy {id}"),
        order,
        matcher,
        targets: vec![SlaTarget::new(SlaMetric::Resolution, hours(8), ALWAYS)],
    }
}

#[test]
fn golden_policy_selection() {
    let p1_incidents = PolicyMatcher {
        kinds: vec![TicketKind::Incident],
        priorities: vec![Priority::P1],
        ..Default::default()
    };
    let acme_payroll = PolicyMatcher {
        services: vec![ServiceId(7)],
        organizations: vec!["ACME".into()],
        ..Default::default()
    };
    let policies = vec![
        policy(10, 100, PolicyMatcher::default()),
        policy(20, 10, p1_incidents),
        policy(30, 20, acme_payroll),
        policy(5, 100, PolicyMatcher::default()),
    ];
    let facts = |kind, priority, service, organization| PolicyFacts {
        kind,
        priority,
        service,
        organization,
    };
    let table: Vec<(&str, PolicyFacts<'_>, i64)> = vec![
        (
            "P1 incident",
            facts(TicketKind::Incident, Priority::P1, None, None),
            20,
        ),
        (
            "P1 incident for ACME payroll: lower order wins",
            facts(
                TicketKind::Incident,
                Priority::P1,
                Some(ServiceId(7)),
                Some("ACME"),
            ),
            20,
        ),
        (
            "P3 request for ACME payroll",
            facts(
                TicketKind::ServiceRequest,
                Priority::P3,
                Some(ServiceId(7)),
                Some("ACME"),
            ),
            30,
        ),
        (
            "ACME without a service falls through; equal order: lower id",
            facts(TicketKind::Incident, Priority::P3, None, Some("ACME")),
            5,
        ),
    ];
    for (name, f, want) in table {
        let got = select_policy(&policies, &f).map(|p| p.id);
        assert_eq!(got, Some(SlaPolicyId(want)), "{name}");
    }
    let narrow = [policy(
        1,
        1,
        PolicyMatcher {
            kinds: vec![TicketKind::Change],
            ..Default::default()
        },
    )];
    let f = facts(TicketKind::Incident, Priority::P1, None, None);
    assert!(select_policy(&narrow, &f).is_none());
}

#[test]
fn golden_policy_validation() {
    let mut bad = policy(1, 1, PolicyMatcher::default());
    bad.name = " ".into();
    bad.targets = vec![
        SlaTarget::new(SlaMetric::Resolution, hours(0), ALWAYS),
        SlaTarget {
            warn_at_percent: 100,
            ..SlaTarget::new(SlaMetric::FirstResponse, hours(-1), ALWAYS)
        },
        SlaTarget {
            warn_at_percent: 0,
            ..SlaTarget::new(SlaMetric::Resolution, hours(2), ALWAYS)
        },
    ];
    let fields: Vec<String> = validate_policy(&bad).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "name",
            "targets[0].target",
            "targets[1].target",
            "targets[1].warn_at_percent",
            "targets[2].warn_at_percent",
            "targets[2].metric",
        ]
    );

    let mut empty = policy(2, 1, PolicyMatcher::default());
    empty.targets.clear();
    let fields: Vec<String> = validate_policy(&empty)
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["targets"]);

    assert!(validate_policy(&policy(3, 1, PolicyMatcher::default())).is_empty());
}
