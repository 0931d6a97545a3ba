//! Golden, table-driven cases for the alert rules: matcher syntax and its
//! errors, fingerprints (pinned: they must never change), routing, grouping,
//! silences and maintenance windows at their boundaries (including both DST
//! changes of 2026 in Europe/Berlin), inhibition, and the per-alert state
//! machine.
//!
//! Expected instants are written with their local offset where a wall clock
//! matters, so a reader can check them.

use jiff::civil::{Weekday, time};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::alerts::{
    AcknowledgeRefused, AlertSignal, AlertStatus, AlertUpdate, AlertView, Fallback, Fingerprint,
    GroupBy, GroupDecision, GroupKey, IgnoreReason, InhibitRule, Labels, MaintenanceSchedule,
    MaintenanceWindow, MaintenanceWindowId, MatchOp, Matcher, Matchers, OpenGroup, Route,
    RouteAction, Severity, SignalSource, Silence, SilenceId, SilenceState, SuppressedBy,
    Suppressor, UrgencyMap, acknowledge, apply_signal, decide_group, group_key, route,
    should_auto_resolve, suppression, validate_inhibit_rule, validate_maintenance_window,
    validate_routes, validate_silence,
};
use opsdesk_domain::{Impact, ServiceId, TicketId, Urgency, UserId};

fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn matchers(s: &str) -> Matchers {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test matchers {s}: {e}"))
}

// ---------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------

#[test]
fn matcher_lists_parse_and_display() {
    // (input, canonical display, [(name, op, value)])
    type Parts<'a> = &'a [(&'a str, MatchOp, &'a str)];
    let cases: &[(&str, &str, Parts)] = &[
        ("", "{}", &[]),
        ("{}", "{}", &[]),
        ("  { }  ", "{}", &[]),
        (
            r#"{foo="bar"}"#,
            r#"{foo="bar"}"#,
            &[("foo", MatchOp::Equal, "bar")],
        ),
        (
            "foo=bar",
            r#"{foo="bar"}"#,
            &[("foo", MatchOp::Equal, "bar")],
        ),
        (
            r#" { foo = "bar" , baz !~ "q.*" , } "#,
            r#"{foo="bar", baz!~"q.*"}"#,
            &[
                ("foo", MatchOp::Equal, "bar"),
                ("baz", MatchOp::NotRegex, "q.*"),
            ],
        ),
        (
            r#"a!="x",b=~"y|z",c!~"",_d="""#,
            r#"{a!="x", b=~"y|z", c!~"", _d=""}"#,
            &[
                ("a", MatchOp::NotEqual, "x"),
                ("b", MatchOp::Regex, "y|z"),
                ("c", MatchOp::NotRegex, ""),
                ("_d", MatchOp::Equal, ""),
            ],
        ),
        (
            r#"a="quote \" here""#,
            r#"{a="quote \" here"}"#,
            &[("a", MatchOp::Equal, "quote \" here")],
        ),
        (
            r#"a="back\\slash""#,
            r#"{a="back\\slash"}"#,
            &[("a", MatchOp::Equal, "back\\slash")],
        ),
        (
            r#"a="new\nline""#,
            r#"{a="new\nline"}"#,
            &[("a", MatchOp::Equal, "new\nline")],
        ),
        // Unknown escapes keep their backslash, so regexes read naturally;
        // display then escapes that backslash.
        (
            r#"a=~"x\.y""#,
            r#"{a=~"x\\.y"}"#,
            &[("a", MatchOp::Regex, "x\\.y")],
        ),
        (
            r#"team="dbä, ops""#,
            r#"{team="dbä, ops"}"#,
            &[("team", MatchOp::Equal, "dbä, ops")],
        ),
        (
            r#"path="/api/{v1,v2}""#,
            r#"{path="/api/{v1,v2}"}"#,
            &[("path", MatchOp::Equal, "/api/{v1,v2}")],
        ),
    ];
    for (input, display, expected) in cases {
        let parsed: Matchers = input
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        let got: Vec<(&str, MatchOp, &str)> = parsed
            .iter()
            .map(|m| (m.name(), m.op(), m.value()))
            .collect();
        assert_eq!(&got, expected, "{input:?}");
        assert_eq!(parsed.to_string(), *display, "{input:?}");
        let again: Matchers = display.parse().expect("display parses");
        assert_eq!(again, parsed, "{input:?} round trip");
    }
}

#[test]
fn matcher_parse_errors_point_at_the_problem() {
    // (input, column, message fragment)
    let cases: &[(&str, usize, &str)] = &[
        (r#"{foo="bar""#, 11, "missing closing '}'"),
        ("foo", 4, "expected an operator"),
        (r#"9foo="x""#, 1, "must not start with a digit"),
        (r#"foo=~"(""#, 6, "invalid regular expression"),
        (r#"foo="bar"#, 5, "unterminated quoted value"),
        ("foo=", 5, "expected a value"),
        (r#"foo="a" bar="b""#, 9, "expected ',' after a matcher"),
        (r#"{foo="a"} x"#, 11, "unexpected text after '}'"),
        (r#"foo-bar="x""#, 4, "expected an operator"),
        ("foo=~ba{r", 8, "expected ',' after a matcher"),
        (r#"{a="1",,}"#, 8, "expected a label name"),
        (r#"{a="1" b="2"}"#, 8, "expected ',' or '}'"),
        (r#"ä="x""#, 1, "expected a label name"),
        (r#"foo=!"x""#, 5, "cannot start an unquoted value"),
        (r#"{é="x", 9="y"}"#, 2, "expected a label name"),
        (r#"x="é", 9="y""#, 8, "must not start with a digit"),
    ];
    for (input, column, fragment) in cases {
        let err = input
            .parse::<Matchers>()
            .expect_err(&format!("{input:?} should fail"));
        assert!(
            err.message.contains(fragment),
            "{input:?}: {err} does not mention {fragment:?}"
        );
        assert_eq!(err.column, *column, "{input:?}: {err}");
    }
}

#[test]
fn single_matcher_parse_and_limits() {
    let m: Matcher = r#"  job =~ "node|blackbox" "#.parse().expect("valid");
    assert_eq!(m.to_string(), r#"job=~"node|blackbox""#);
    assert!(r#"{job="x"}"#.parse::<Matcher>().is_err());
    assert!(r#"a="1", b="2""#.parse::<Matcher>().is_err());
    assert!(Matcher::new("bad-name", MatchOp::Equal, "x").is_err());
    let too_long = format!(r#"a="{}""#, "x".repeat(2000));
    assert!(too_long.parse::<Matcher>().is_err());
    let many = (0..40)
        .map(|i| format!("l{i}=\"v\""))
        .collect::<Vec<_>>()
        .join(",");
    let err = many.parse::<Matchers>().expect_err("too many matchers");
    assert!(err.message.contains("more than"), "{err}");
}

#[test]
fn matchers_match_like_alertmanager() {
    let alert = labels(&[
        ("alertname", "HighLatency"),
        ("instance", "db-12:9100"),
        ("env", "prod"),
    ]);
    // (matchers, matches the alert)
    let cases: &[(&str, bool)] = &[
        ("", true),
        (r#"alertname="HighLatency""#, true),
        (r#"alertname="highlatency""#, false),
        (r#"instance=~"db-[0-9]+:9100""#, true),
        (r#"instance=~"db-[0-9]+""#, false), // anchored: the port is left over
        (r#"instance=~".*db.*""#, true),
        (r#"instance!~"web-.*""#, true),
        (r#"env!="prod""#, false),
        (r#"team="""#, true), // missing label reads as ""
        (r#"team!="""#, false),
        (r#"team=~".*""#, true),
        (r#"team=~".+""#, false),
        (r#"env=~"prod|staging",alertname!="Watchdog""#, true),
        (r#"env=~"prod|staging",alertname="Watchdog""#, false),
        (r#"env=~"pro""#, false),
        (r#"env=~"prod|x""#, true),
        (r#"env=~"p|x""#, false), // ^(?:p|x)$, not ^p|x$
    ];
    for (text, expected) in cases {
        assert_eq!(matchers(text).matches(&alert), *expected, "{text}");
    }
}

// ---------------------------------------------------------------------------
// Fingerprints
// ---------------------------------------------------------------------------

#[test]
fn fingerprint_goldens_never_change() {
    // Computed once, independently of this code, as the first 8 bytes of
    // SHA-256 over `name 0xFF value 0xFF ...` (sorted) or `0xFE key`.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "e3b0c44298fc1c14"),
        (&[("alertname", "HighLatency")], "7cc2145c98b02cb2"),
        (
            &[
                ("severity", "critical"),
                ("job", "node"),
                ("alertname", "HighLatency"),
                ("instance", "db-1:9100"),
            ],
            "f6c4c1ecd9fc1b8b",
        ),
        (
            &[
                ("team", "dbä"),
                ("alertname", "DiskFull"),
                ("mountpoint", "/var"),
            ],
            "e1d9da0f8e447b3b",
        ),
    ];
    for (pairs, hex) in cases {
        let set = labels(pairs);
        assert_eq!(Fingerprint::of_labels(&set).to_string(), *hex, "{pairs:?}");
        assert_eq!(
            Fingerprint::of_pairs(pairs.iter().copied()).to_string(),
            *hex,
            "{pairs:?}"
        );
    }
    assert_eq!(
        Fingerprint::of_dedup_key("srv01/mysql").to_string(),
        "27c5153d04fefd7c"
    );
    assert_eq!(
        Fingerprint::of_dedup_key("").to_string(),
        "aa687b58b0e73e2e"
    );
}

#[test]
fn dedup_key_wins_over_labels() {
    let mut s = firing(&[("alertname", "A")], None);
    let by_labels = s.fingerprint();
    assert_eq!(by_labels, Fingerprint::of_labels(&s.labels));
    s.dedup_key = Some("srv01/mysql".into());
    assert_eq!(s.fingerprint().to_string(), "27c5153d04fefd7c");
    // Different labels, same key: same alert.
    std::sync::Arc::make_mut(&mut s.labels).insert("extra".into(), "x".into());
    assert_eq!(s.fingerprint().to_string(), "27c5153d04fefd7c");
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

fn routes() -> Vec<Route> {
    let r = |name: &str, m: &str, svc: i64, action: RouteAction| Route {
        name: name.into(),
        matchers: matchers(m),
        service: ServiceId(svc),
        action,
        page_min_severity: None,
        urgency: UrgencyMap::default(),
        impact: Impact::Medium,
        group_by: GroupBy::default(),
        group_window: None,
        auto_resolve: false,
    };
    let mut prod = r("prod", r#"env="prod""#, 3, RouteAction::Page);
    prod.page_min_severity = Some(Severity::Error);
    prod.urgency.warning = Urgency::Low;
    prod.impact = Impact::High;
    vec![
        r(
            "db critical",
            r#"{team="db", severity="critical"}"#,
            1,
            RouteAction::Page,
        ),
        r("db", r#"team="db""#, 1, RouteAction::TicketOnly),
        r(
            "heartbeats",
            r#"alertname=~"Watchdog|InfoInhibitor""#,
            2,
            RouteAction::RecordOnly,
        ),
        prod,
    ]
}

#[test]
fn routing_first_match_wins_with_fallback() {
    let routes = routes();
    let fallback = Fallback::new(ServiceId(9));
    assert!(validate_routes(&routes, &fallback).is_empty());
    // (labels, severity, route index, service, action, urgency)
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        Severity,
        Option<usize>,
        i64,
        RouteAction,
        Urgency,
    );
    let cases: &[Case] = &[
        (
            &[("team", "db"), ("severity", "critical"), ("env", "prod")],
            Severity::Critical,
            Some(0),
            1,
            RouteAction::Page,
            Urgency::High,
        ),
        (
            &[("team", "db"), ("severity", "warning")],
            Severity::Warning,
            Some(1),
            1,
            RouteAction::TicketOnly,
            Urgency::Medium,
        ),
        (
            &[("alertname", "Watchdog"), ("env", "prod")],
            Severity::Info,
            Some(2),
            2,
            RouteAction::RecordOnly,
            Urgency::Low,
        ),
        (
            &[("alertname", "Watchdogs"), ("env", "prod")],
            Severity::Error,
            Some(3),
            3,
            RouteAction::Page,
            Urgency::High,
        ),
        // Below the route's page_min_severity: a ticket, not a page.
        (
            &[("alertname", "SlowDisk"), ("env", "prod")],
            Severity::Warning,
            Some(3),
            3,
            RouteAction::TicketOnly,
            Urgency::Low,
        ),
        // Nothing matches: the fallback (ticket only on the default service).
        (
            &[("alertname", "Other"), ("env", "staging")],
            Severity::Critical,
            None,
            9,
            RouteAction::TicketOnly,
            Urgency::High,
        ),
    ];
    for (pairs, severity, index, service, action, urgency) in cases {
        let mut s = firing(pairs, None);
        s.severity = *severity;
        let d = route(&routes, &fallback, &s);
        assert_eq!(d.route, *index, "{pairs:?}");
        assert_eq!(d.service, ServiceId(*service), "{pairs:?}");
        assert_eq!(d.action, *action, "{pairs:?}");
        assert_eq!(d.urgency, *urgency, "{pairs:?}");
    }
    // Impact comes from the route that matched, medium from the fallback.
    let impact = |pairs: &[(&str, &str)]| route(&routes, &fallback, &firing(pairs, None)).impact;
    assert_eq!(
        impact(&[("alertname", "Watchdogs"), ("env", "prod")]),
        Impact::High
    );
    assert_eq!(impact(&[("team", "db")]), Impact::Medium);
    assert_eq!(impact(&[("alertname", "Other")]), Impact::Medium);
}

#[test]
fn route_validation_names_fields() {
    let mut rs = routes();
    rs[1].matchers = Matchers::default();
    rs[1].name = " ".into();
    rs[2].page_min_severity = Some(Severity::Critical);
    rs[3].group_by = GroupBy::Labels(vec!["ok".into(), "not ok".into()]);
    rs[3].group_window = Some(SignedDuration::ZERO);
    let fields: Vec<String> = validate_routes(&rs, &Fallback::new(ServiceId(1)))
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        vec![
            "routes[1].name",
            "routes[1].matchers",
            "routes[2].page_min_severity",
            "routes[3].group_by[1]",
            "routes[3].group_window",
        ]
    );
    // A catch-all as the last route is fine.
    let mut last = routes();
    last[3].matchers = Matchers::default();
    assert!(validate_routes(&last, &Fallback::new(ServiceId(1))).is_empty());
}

// ---------------------------------------------------------------------------
// Grouping
// ---------------------------------------------------------------------------

#[test]
fn group_keys() {
    let l = labels(&[
        ("alertname", "PodDown"),
        ("cluster", "eu"),
        ("pod", "api-7"),
        ("note", "say \"hi\""),
        ("empty", ""),
    ]);
    let by = |names: &[&str]| GroupBy::Labels(names.iter().map(|s| s.to_string()).collect());
    let cases: &[(GroupBy, &str)] = &[
        (GroupBy::default(), r#"service=7 {alertname="PodDown"}"#),
        (
            by(&["cluster", "alertname", "cluster"]),
            r#"service=7 {alertname="PodDown", cluster="eu"}"#,
        ),
        // Missing and empty labels are left out.
        (
            by(&["zone", "empty", "cluster"]),
            r#"service=7 {cluster="eu"}"#,
        ),
        (by(&[]), "service=7 {}"),
        (by(&["note"]), r#"service=7 {note="say \"hi\""}"#),
        (
            GroupBy::All,
            r#"service=7 {alertname="PodDown", cluster="eu", note="say \"hi\"", pod="api-7"}"#,
        ),
    ];
    for (group_by, expected) in cases {
        assert_eq!(group_key(ServiceId(7), group_by, &l).0, *expected);
    }
    assert_ne!(
        group_key(ServiceId(7), &GroupBy::default(), &l),
        group_key(ServiceId(8), &GroupBy::default(), &l)
    );
}

#[test]
fn group_by_serde_uses_alertmanager_ellipsis() {
    let all: GroupBy = serde_json::from_str(r#"["..."]"#).expect("valid");
    assert_eq!(all, GroupBy::All);
    assert_eq!(serde_json::to_string(&all).expect("ser"), r#"["..."]"#);
    let some: GroupBy = serde_json::from_str(r#"["a","b"]"#).expect("valid");
    assert_eq!(some, GroupBy::Labels(vec!["a".into(), "b".into()]));
    assert!(serde_json::from_str::<GroupBy>(r#"["...","a"]"#).is_err());
}

#[test]
fn group_decisions() {
    let key = GroupKey("service=1 {alertname=\"A\"}".into());
    let other = GroupKey("service=1 {alertname=\"B\"}".into());
    let g = |k: &GroupKey, id: i64, opened: &str, resolved: bool| OpenGroup {
        key: k.clone(),
        incident: TicketId(id),
        opened_at: ts(opened),
        resolved,
    };
    let now = ts("2026-05-01T12:00:00Z");
    let window = Some(SignedDuration::from_mins(30));
    // (groups, window, expected)
    let cases: Vec<(Vec<OpenGroup>, Option<SignedDuration>, GroupDecision)> = vec![
        (vec![], None, GroupDecision::OpenNew),
        (
            vec![g(&other, 1, "2026-05-01T11:59:00Z", false)],
            None,
            GroupDecision::OpenNew,
        ),
        (
            vec![g(&key, 1, "2026-05-01T11:00:00Z", false)],
            None,
            GroupDecision::Join(TicketId(1)),
        ),
        // A resolved incident never swallows new alerts.
        (
            vec![g(&key, 1, "2026-05-01T11:59:00Z", true)],
            None,
            GroupDecision::OpenNew,
        ),
        // Window: open until opened_at + 30 min, exclusive.
        (
            vec![g(&key, 1, "2026-05-01T11:30:01Z", false)],
            window,
            GroupDecision::Join(TicketId(1)),
        ),
        (
            vec![g(&key, 1, "2026-05-01T11:30:00Z", false)],
            window,
            GroupDecision::OpenNew,
        ),
        // Newest candidate wins whatever the order; ties by higher id.
        (
            vec![
                g(&key, 5, "2026-05-01T10:00:00Z", false),
                g(&key, 7, "2026-05-01T11:00:00Z", false),
                g(&key, 6, "2026-05-01T10:30:00Z", false),
            ],
            None,
            GroupDecision::Join(TicketId(7)),
        ),
        (
            vec![
                g(&key, 8, "2026-05-01T11:00:00Z", false),
                g(&key, 9, "2026-05-01T11:00:00Z", false),
            ],
            None,
            GroupDecision::Join(TicketId(9)),
        ),
        (
            vec![
                g(&key, 3, "2026-05-01T11:50:00Z", true),
                g(&key, 2, "2026-05-01T09:00:00Z", false),
            ],
            None,
            GroupDecision::Join(TicketId(2)),
        ),
    ];
    for (i, (groups, window, expected)) in cases.iter().enumerate() {
        assert_eq!(
            decide_group(&key, *window, groups, now),
            *expected,
            "case {i}"
        );
    }
}

#[test]
fn auto_resolve_needs_opt_in_and_all_resolved() {
    use AlertStatus::*;
    let cases: &[(bool, &[AlertStatus], bool)] = &[
        (true, &[Resolved, Resolved], true),
        (true, &[Resolved, Firing], false),
        (true, &[Resolved, Acknowledged], false),
        (true, &[], false),
        (false, &[Resolved], false),
    ];
    for (enabled, statuses, expected) in cases {
        assert_eq!(
            should_auto_resolve(*enabled, statuses.iter().copied()),
            *expected,
            "{enabled} {statuses:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Silences
// ---------------------------------------------------------------------------

fn silence(id: i64, m: &str, start: &str, end: &str) -> Silence {
    Silence {
        id: SilenceId(id),
        matchers: matchers(m),
        starts_at: ts(start),
        ends_at: ts(end),
        created_by: UserId(1),
        comment: "db migration".into(),
    }
}

#[test]
fn silences_are_half_open_and_expire_by_themselves() {
    let s = silence(
        1,
        r#"alertname="DiskFull""#,
        "2026-06-01T10:00:00Z",
        "2026-06-01T12:00:00Z",
    );
    let disk = labels(&[("alertname", "DiskFull")]);
    let cases: &[(&str, SilenceState)] = &[
        ("2026-06-01T09:59:59.999999999Z", SilenceState::Pending),
        ("2026-06-01T10:00:00Z", SilenceState::Active),
        ("2026-06-01T11:59:59.999999999Z", SilenceState::Active),
        ("2026-06-01T12:00:00Z", SilenceState::Expired),
        ("2027-01-01T00:00:00Z", SilenceState::Expired),
    ];
    for (at, state) in cases {
        assert_eq!(s.state(ts(at)), *state, "{at}");
        assert_eq!(
            s.mutes(&disk, ts(at)),
            *state == SilenceState::Active,
            "{at}"
        );
    }
    assert!(!s.mutes(
        &labels(&[("alertname", "Other")]),
        ts("2026-06-01T11:00:00Z")
    ));
}

#[test]
fn silence_validation() {
    let now = ts("2026-06-01T11:00:00Z");
    let ok = silence(
        1,
        r#"alertname="A""#,
        "2026-06-01T10:00:00Z",
        "2026-06-01T12:00:00Z",
    );
    assert!(validate_silence(&ok, now).is_empty());
    let cases: &[(Silence, &[&str])] = &[
        (
            silence(1, "", "2026-06-01T10:00:00Z", "2026-06-01T12:00:00Z"),
            &["matchers"],
        ),
        // Every matcher accepts "": it would mute everything.
        (
            silence(
                1,
                r#"team=~".*",env!="x""#,
                "2026-06-01T10:00:00Z",
                "2026-06-01T12:00:00Z",
            ),
            &["matchers"],
        ),
        (
            silence(
                1,
                r#"a="b""#,
                "2026-06-01T12:00:00Z",
                "2026-06-01T12:00:00Z",
            ),
            &["ends_at"],
        ),
        (
            silence(
                1,
                r#"a="b""#,
                "2026-06-01T09:00:00Z",
                "2026-06-01T11:00:00Z",
            ),
            &["ends_at"],
        ),
        (
            Silence {
                comment: String::new(),
                ..silence(1, "", "2026-06-01T10:00:00Z", "2026-06-01T12:00:00Z")
            },
            &["matchers", "comment"],
        ),
    ];
    for (s, fields) in cases {
        let got: Vec<String> = validate_silence(s, now)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(got, *fields, "{}", s.matchers);
    }
}

// ---------------------------------------------------------------------------
// Maintenance windows
// ---------------------------------------------------------------------------

fn weekly(days: &[Weekday], h: i8, m: i8, hours: i64) -> MaintenanceSchedule {
    MaintenanceSchedule::Weekly {
        time_zone: "Europe/Berlin".into(),
        days: days.to_vec(),
        start: time(h, m, 0, 0),
        duration: SignedDuration::from_hours(hours),
    }
}

#[test]
fn weekly_windows_across_berlin_dst_changes() {
    // 2026-03-29: 02:00 CET → 03:00 CEST (01:00Z). 2026-10-25: 03:00 CEST →
    // 02:00 CET (01:00Z). Each case: schedule, instant, expected occurrence.
    type Case = (
        MaintenanceSchedule,
        &'static str,
        Option<(&'static str, &'static str)>,
    );
    let sun_01_3h = weekly(&[Weekday::Sunday], 1, 0, 3);
    let sun_0230_1h = weekly(&[Weekday::Sunday], 2, 30, 1);
    let daily_23_2h = weekly(
        &[
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ],
        23,
        0,
        2,
    );
    let cases: Vec<Case> = vec![
        // A plain winter Sunday: 01:00–04:00 CET.
        (
            sun_01_3h.clone(),
            "2026-03-22T03:59:59+01:00",
            Some(("2026-03-22T01:00:00+01:00", "2026-03-22T04:00:00+01:00")),
        ),
        (sun_01_3h.clone(), "2026-03-22T04:00:00+01:00", None),
        (sun_01_3h.clone(), "2026-03-22T00:59:59+01:00", None),
        // Spring forward: 3 elapsed hours from 01:00 CET end at 05:00 CEST.
        (
            sun_01_3h.clone(),
            "2026-03-29T04:30:00+02:00",
            Some(("2026-03-29T01:00:00+01:00", "2026-03-29T05:00:00+02:00")),
        ),
        (sun_01_3h.clone(), "2026-03-29T05:00:00+02:00", None),
        // The first summer Sunday: 01:00–04:00 CEST.
        (
            sun_01_3h.clone(),
            "2026-04-05T01:00:00+02:00",
            Some(("2026-04-05T01:00:00+02:00", "2026-04-05T04:00:00+02:00")),
        ),
        (sun_01_3h.clone(), "2026-04-05T00:59:59+02:00", None),
        // Fall back: 01:00 CEST + 3 h = 03:00 CET (02:00–03:00 happens twice).
        (
            sun_01_3h.clone(),
            "2026-10-25T02:59:59+01:00",
            Some(("2026-10-25T01:00:00+02:00", "2026-10-25T03:00:00+01:00")),
        ),
        (sun_01_3h.clone(), "2026-10-25T03:00:00+01:00", None),
        // 02:30 does not exist on 29 March: the window starts at the
        // transition, 03:00 CEST, and lasts one hour.
        (sun_0230_1h.clone(), "2026-03-29T02:59:59+02:00", None),
        (
            sun_0230_1h.clone(),
            "2026-03-29T03:00:00+02:00",
            Some(("2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00")),
        ),
        (sun_0230_1h.clone(), "2026-03-29T04:00:00+02:00", None),
        // 02:30 happens twice on 25 October: the first one counts.
        (
            sun_0230_1h.clone(),
            "2026-10-25T02:30:00+02:00",
            Some(("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00")),
        ),
        (sun_0230_1h.clone(), "2026-10-25T02:30:00+01:00", None),
        (sun_0230_1h.clone(), "2026-10-25T02:29:59+02:00", None),
        // Across midnight: Monday 23:00 → Tuesday 01:00.
        (
            daily_23_2h.clone(),
            "2026-11-03T00:30:00+01:00",
            Some(("2026-11-02T23:00:00+01:00", "2026-11-03T01:00:00+01:00")),
        ),
        (daily_23_2h.clone(), "2026-11-03T01:00:00+01:00", None),
        // Not on the listed day.
        (sun_01_3h.clone(), "2026-03-23T02:00:00+01:00", None),
        // One-off windows: half open.
        (
            MaintenanceSchedule::OneOff {
                starts_at: ts("2026-07-01T20:00:00Z"),
                ends_at: ts("2026-07-01T22:00:00Z"),
            },
            "2026-07-01T20:00:00Z",
            Some(("2026-07-01T20:00:00Z", "2026-07-01T22:00:00Z")),
        ),
        (
            MaintenanceSchedule::OneOff {
                starts_at: ts("2026-07-01T20:00:00Z"),
                ends_at: ts("2026-07-01T22:00:00Z"),
            },
            "2026-07-01T22:00:00Z",
            None,
        ),
    ];
    for (i, (schedule, at, expected)) in cases.iter().enumerate() {
        let got = schedule.occurrence_at(ts(at));
        let expected = expected.map(|(s, e)| (ts(s), ts(e)));
        assert_eq!(got, expected, "case {i} at {at}");
        assert_eq!(schedule.is_active(ts(at)), expected.is_some(), "case {i}");
    }
}

#[test]
fn maintenance_validation() {
    let w = |schedule: MaintenanceSchedule| MaintenanceWindow {
        id: MaintenanceWindowId(1),
        service: ServiceId(1),
        schedule,
        comment: String::new(),
    };
    assert!(validate_maintenance_window(&w(weekly(&[Weekday::Sunday], 1, 0, 3))).is_empty());
    let bad_zone = MaintenanceSchedule::Weekly {
        time_zone: "Mars/Olympus".into(),
        days: vec![Weekday::Monday, Weekday::Monday],
        start: time(1, 0, 0, 0),
        duration: SignedDuration::from_hours(24 * 8),
    };
    let fields: Vec<String> = validate_maintenance_window(&w(bad_zone))
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        vec![
            "schedule.time_zone",
            "schedule.days[1]",
            "schedule.duration"
        ]
    );
    let backwards = MaintenanceSchedule::OneOff {
        starts_at: ts("2026-07-01T22:00:00Z"),
        ends_at: ts("2026-07-01T20:00:00Z"),
    };
    let fields: Vec<String> = validate_maintenance_window(&w(backwards))
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, vec!["schedule.ends_at"]);
}

#[test]
fn maintenance_window_serde() {
    let json = r#"{"id":4,"service":2,"comment":"patching",
        "schedule":{"kind":"weekly","time_zone":"Europe/Berlin","days":["saturday","sunday"],
                    "start":"02:00:00","duration":"PT4H"}}"#;
    let w: MaintenanceWindow = serde_json::from_str(json).expect("valid window");
    assert_eq!(
        w.schedule,
        MaintenanceSchedule::Weekly {
            time_zone: "Europe/Berlin".into(),
            days: vec![Weekday::Saturday, Weekday::Sunday],
            start: time(2, 0, 0, 0),
            duration: SignedDuration::from_hours(4),
        }
    );
    let back: MaintenanceWindow =
        serde_json::from_str(&serde_json::to_string(&w).expect("ser")).expect("de");
    assert_eq!(back, w);
    assert!(serde_json::from_str::<MaintenanceWindow>(&json.replace("sunday", "sundae")).is_err());
}

// ---------------------------------------------------------------------------
// Inhibition and suppression precedence
// ---------------------------------------------------------------------------

fn view<'a>(l: &'a Labels, service: Option<i64>) -> AlertView<'a> {
    AlertView {
        fingerprint: Fingerprint::of_labels(l),
        labels: l,
        service: service.map(ServiceId),
    }
}

#[test]
fn inhibition_rules() {
    let node_down = InhibitRule {
        source: matchers(r#"alertname="NodeDown""#),
        target: matchers(r#"severity=~"warning|critical""#),
        equal: vec!["instance".into(), "cluster".into()],
    };
    let crit_over_warn = InhibitRule {
        source: matchers(r#"severity="critical""#),
        target: matchers(r#"severity=~"critical|warning""#),
        equal: vec!["alertname".into()],
    };
    assert!(validate_inhibit_rule(&node_down).is_empty());

    let nd = labels(&[
        ("alertname", "NodeDown"),
        ("instance", "n1"),
        ("severity", "critical"),
    ]);
    let svc_n1 = labels(&[
        ("alertname", "SvcDown"),
        ("instance", "n1"),
        ("severity", "warning"),
    ]);
    let svc_n2 = labels(&[
        ("alertname", "SvcDown"),
        ("instance", "n2"),
        ("severity", "warning"),
    ]);
    let svc_info = labels(&[
        ("alertname", "SvcDown"),
        ("instance", "n1"),
        ("severity", "info"),
    ]);
    let crit = labels(&[("alertname", "Latency"), ("severity", "critical")]);
    let warn = labels(&[("alertname", "Latency"), ("severity", "warning")]);

    // (rule, source, target, inhibits)
    let cases: &[(&InhibitRule, &Labels, &Labels, bool)] = &[
        (&node_down, &nd, &svc_n1, true),
        (&node_down, &nd, &svc_n2, false),   // `instance` differs
        (&node_down, &nd, &svc_info, false), // target matchers fail
        (&node_down, &svc_n1, &nd, false),   // source matchers fail
        // `cluster` missing on both sides counts as equal; NodeDown is
        // critical, so it matches the target side too, but not itself.
        (&node_down, &nd, &nd, false),
        (&crit_over_warn, &crit, &warn, true),
        (&crit_over_warn, &crit, &crit, false), // never itself
        (&crit_over_warn, &warn, &crit, false),
    ];
    for (i, (rule, src, tgt, expected)) in cases.iter().enumerate() {
        assert_eq!(
            rule.inhibits(&view(src, None), &view(tgt, None)),
            *expected,
            "case {i}"
        );
    }

    // Through `suppression`: the alert itself in the firing list is not a
    // source; another alert is.
    let rules = [crit_over_warn.clone(), node_down.clone()];
    let now = ts("2026-06-01T00:00:00Z");
    let alone = [view(&nd, None)];
    assert_eq!(both(&view(&nd, None), &[], &[], &rules, &alone, now), None);
    let with_source = [view(&svc_n1, None), view(&nd, None)];
    assert_eq!(
        both(&view(&svc_n1, None), &[], &[], &rules, &with_source, now),
        Some(SuppressedBy::Inhibition {
            rule: 1,
            source: Fingerprint::of_labels(&nd),
        })
    );
    let bad = InhibitRule {
        source: Matchers::default(),
        target: Matchers::default(),
        equal: vec!["a-b".into()],
    };
    let fields: Vec<String> = validate_inhibit_rule(&bad)
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, vec!["source", "target", "equal[0]"]);
}

/// `suppression` and the prepared `Suppressor` must agree; returns the answer.
fn both(
    alert: &AlertView<'_>,
    silences: &[Silence],
    windows: &[MaintenanceWindow],
    rules: &[InhibitRule],
    firing: &[AlertView<'_>],
    now: Timestamp,
) -> Option<SuppressedBy> {
    let plain = suppression(alert, silences, windows, rules, firing, now);
    let prepared = Suppressor::new(silences, windows, rules, firing, now).check(alert);
    assert_eq!(prepared, plain, "Suppressor disagrees with suppression");
    plain
}

#[test]
fn suppression_precedence_window_then_silence_then_inhibition() {
    let now = ts("2026-06-01T11:00:00Z");
    let target = labels(&[
        ("alertname", "SvcDown"),
        ("instance", "n1"),
        ("severity", "warning"),
    ]);
    let source = labels(&[("alertname", "NodeDown"), ("instance", "n1")]);
    let firing = [view(&source, Some(1)), view(&target, Some(1))];
    let rule = [InhibitRule {
        source: matchers(r#"alertname="NodeDown""#),
        target: matchers(r#"alertname="SvcDown""#),
        equal: vec!["instance".into()],
    }];
    let silences = [
        silence(
            3,
            r#"instance="n1""#,
            "2026-06-01T10:00:00Z",
            "2026-06-01T12:00:00Z",
        ),
        silence(
            2,
            r#"alertname="SvcDown""#,
            "2026-06-01T10:00:00Z",
            "2026-06-01T13:00:00Z",
        ),
        silence(
            1,
            r#"alertname="SvcDown""#,
            "2026-06-01T10:00:00Z",
            "2026-06-01T13:00:00Z",
        ),
        silence(
            9,
            r#"alertname="SvcDown""#,
            "2026-06-01T12:00:00Z",
            "2026-06-01T14:00:00Z",
        ),
    ];
    let window = |id: i64, service: i64, end: &str| MaintenanceWindow {
        id: MaintenanceWindowId(id),
        service: ServiceId(service),
        schedule: MaintenanceSchedule::OneOff {
            starts_at: ts("2026-06-01T10:00:00Z"),
            ends_at: ts(end),
        },
        comment: String::new(),
    };
    let windows = [
        window(1, 2, "2026-06-01T18:00:00Z"), // another service
        window(2, 1, "2026-06-01T11:30:00Z"),
        window(4, 1, "2026-06-01T11:45:00Z"), // same end as 3: lower id wins
        window(3, 1, "2026-06-01T11:45:00Z"),
    ];
    let alert = view(&target, Some(1));

    assert_eq!(
        both(&alert, &silences, &windows, &rule, &firing, now),
        Some(SuppressedBy::Maintenance {
            window: MaintenanceWindowId(3),
            until: ts("2026-06-01T11:45:00Z"),
        })
    );
    // Without windows: the active silence ending last, lowest id on ties
    // (silence 9 has not started yet).
    assert_eq!(
        both(&alert, &silences, &windows[..1], &rule, &firing, now),
        Some(SuppressedBy::Silence {
            silence: SilenceId(1),
            until: ts("2026-06-01T13:00:00Z"),
        })
    );
    assert_eq!(
        both(&alert, &[], &[], &rule, &firing, now),
        Some(SuppressedBy::Inhibition {
            rule: 0,
            source: Fingerprint::of_labels(&source),
        })
    );
    // An alert without a service is in no window.
    let no_service = view(&target, None);
    assert_eq!(both(&no_service, &[], &windows, &[], &firing, now), None);
    // After everything expired.
    let later = ts("2026-06-01T14:00:00Z");
    assert_eq!(both(&alert, &silences, &windows, &[], &firing, later), None);
}

// ---------------------------------------------------------------------------
// The per-alert state machine
// ---------------------------------------------------------------------------

fn firing(pairs: &[(&str, &str)], starts_at: Option<&str>) -> AlertSignal {
    AlertSignal {
        source: SignalSource::Alertmanager,
        status: AlertStatus::Firing,
        labels: labels(pairs).into(),
        annotations: Default::default(),
        starts_at: starts_at.map(ts),
        ends_at: None,
        dedup_key: None,
        summary: "s".into(),
        severity: Severity::Warning,
        url: None,
    }
}

fn resolved(pairs: &[(&str, &str)], ends_at: Option<&str>) -> AlertSignal {
    AlertSignal {
        status: AlertStatus::Resolved,
        ends_at: ends_at.map(ts),
        ..firing(pairs, None)
    }
}

fn acked(pairs: &[(&str, &str)]) -> AlertSignal {
    AlertSignal {
        status: AlertStatus::Acknowledged,
        ..firing(pairs, None)
    }
}

/// A short name for an update, for the tables.
fn kind(u: &AlertUpdate) -> &'static str {
    match u {
        AlertUpdate::New(_) => "new",
        AlertUpdate::Repeat(_) => "repeat",
        AlertUpdate::Acknowledged(_) => "acknowledged",
        AlertUpdate::Resolved(_) => "resolved",
        AlertUpdate::Reopened(_) => "reopened",
        AlertUpdate::Ignored(IgnoreReason::Stale) => "stale",
        AlertUpdate::Ignored(IgnoreReason::UnknownAlert) => "unknown",
    }
}

#[test]
fn alert_lifecycle_table() {
    let l: &[(&str, &str)] = &[("alertname", "DiskFull"), ("instance", "db-1")];
    // A sequence of (arrival, signal, expected kind, expected status after).
    let steps: Vec<(&str, AlertSignal, &str, Option<AlertStatus>)> = vec![
        ("2026-06-01T10:00:30Z", resolved(l, None), "unknown", None),
        ("2026-06-01T10:00:30Z", acked(l), "unknown", None),
        (
            "2026-06-01T10:00:30Z",
            firing(l, Some("2026-06-01T10:00:00Z")),
            "new",
            Some(AlertStatus::Firing),
        ),
        (
            "2026-06-01T10:05:30Z",
            firing(l, Some("2026-06-01T10:00:00Z")),
            "repeat",
            Some(AlertStatus::Firing),
        ),
        // A resolve about a moment before this occurrence began: stale.
        (
            "2026-06-01T10:06:00Z",
            resolved(l, Some("2026-06-01T09:59:00Z")),
            "stale",
            Some(AlertStatus::Firing),
        ),
        (
            "2026-06-01T10:07:00Z",
            acked(l),
            "acknowledged",
            Some(AlertStatus::Acknowledged),
        ),
        (
            "2026-06-01T10:08:00Z",
            firing(l, Some("2026-06-01T10:00:00Z")),
            "repeat",
            Some(AlertStatus::Acknowledged),
        ),
        (
            "2026-06-01T10:20:30Z",
            resolved(l, Some("2026-06-01T10:20:00Z")),
            "resolved",
            Some(AlertStatus::Resolved),
        ),
        (
            "2026-06-01T10:21:00Z",
            resolved(l, Some("2026-06-01T10:20:00Z")),
            "repeat",
            Some(AlertStatus::Resolved),
        ),
        // A late resend of the old occurrence: stale, no reopen.
        (
            "2026-06-01T10:21:30Z",
            firing(l, Some("2026-06-01T10:00:00Z")),
            "stale",
            Some(AlertStatus::Resolved),
        ),
        (
            "2026-06-01T10:22:00Z",
            acked(l),
            "stale",
            Some(AlertStatus::Resolved),
        ),
        // Starting exactly when the last one ended is not after it: stale.
        (
            "2026-06-01T10:22:30Z",
            firing(l, Some("2026-06-01T10:20:00Z")),
            "stale",
            Some(AlertStatus::Resolved),
        ),
        (
            "2026-06-01T10:31:00Z",
            firing(l, Some("2026-06-01T10:30:00Z")),
            "reopened",
            Some(AlertStatus::Firing),
        ),
    ];
    let mut record = None;
    for (i, (now, signal, expected, status)) in steps.iter().enumerate() {
        let update = apply_signal(record.as_ref(), signal, ts(now));
        assert_eq!(kind(&update), *expected, "step {i}");
        if let Some(r) = update.into_record() {
            record = Some(r);
        }
        assert_eq!(record.as_ref().map(|r| r.status), *status, "step {i}");
    }
    let r = record.expect("a record");
    // new, repeat, ack, repeat, resolved, repeat, reopened: 7 applied.
    assert_eq!(r.count, 7);
    assert_eq!(r.occurrences, 2);
    assert_eq!(r.first_seen, ts("2026-06-01T10:00:30Z"));
    assert_eq!(r.last_seen, ts("2026-06-01T10:31:00Z"));
    assert_eq!(r.started_at, ts("2026-06-01T10:30:00Z"));
    assert_eq!(r.resolved_at, None);
    assert_eq!(r.acknowledged_at, None);
    assert_eq!(r.fingerprint, Fingerprint::of_pairs(l.iter().copied()));
}

#[test]
fn future_times_are_clamped_and_resolve_keeps_descriptions() {
    let l: &[(&str, &str)] = &[("alertname", "A")];
    let now = ts("2026-06-01T10:00:00Z");
    let mut s = firing(l, Some("2026-06-01T11:00:00Z"));
    s.summary = "disk 91% full".into();
    let new = apply_signal(None, &s, now).into_record().expect("new");
    assert_eq!(new.started_at, now);
    // A PagerDuty-style resolve with no labels or summary must not blank them.
    let mut r = resolved(&[], None);
    r.summary = String::new();
    let done = apply_signal(Some(&new), &r, ts("2026-06-01T10:05:00Z"));
    let done = match done {
        AlertUpdate::Resolved(rec) => rec,
        other => panic!("expected resolved, got {other:?}"),
    };
    assert_eq!(done.summary, "disk 91% full");
    assert_eq!(*done.labels, labels(l));
    assert_eq!(done.resolved_at, Some(ts("2026-06-01T10:05:00Z")));
}

#[test]
fn a_person_acknowledges_only_a_firing_alert() {
    // (status, what acknowledging it gives: a change, no change, a refusal)
    let cases: &[(AlertStatus, Result<bool, AcknowledgeRefused>)] = &[
        (AlertStatus::Firing, Ok(true)),
        (AlertStatus::Acknowledged, Ok(false)),
        (AlertStatus::Resolved, Err(AcknowledgeRefused::Resolved)),
    ];
    for (status, expected) in cases {
        assert_eq!(acknowledge(*status), *expected, "{status:?}");
    }
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

#[test]
fn severity_labels_map_onto_four_levels() {
    let cases: &[(&str, Option<Severity>)] = &[
        ("critical", Some(Severity::Critical)),
        (" CRIT ", Some(Severity::Critical)),
        ("page", Some(Severity::Critical)),
        ("error", Some(Severity::Error)),
        ("major", Some(Severity::Error)),
        ("warning", Some(Severity::Warning)),
        ("Warn", Some(Severity::Warning)),
        ("info", Some(Severity::Info)),
        ("none", Some(Severity::Info)),
        ("", None),
        ("urgent-ish", None),
    ];
    for (label, expected) in cases {
        assert_eq!(Severity::from_label(label), *expected, "{label:?}");
    }
    assert!(Severity::Critical > Severity::Error && Severity::Warning > Severity::Info);
}

#[test]
fn wire_names_round_trip() {
    for s in Severity::ALL {
        assert_eq!(s.to_string().parse::<Severity>(), Ok(s));
    }
    for s in AlertStatus::ALL {
        assert_eq!(s.to_string().parse::<AlertStatus>(), Ok(s));
    }
    for a in RouteAction::ALL {
        assert_eq!(a.to_string().parse::<RouteAction>(), Ok(a));
    }
    for o in MatchOp::ALL {
        assert_eq!(o.to_string().parse::<MatchOp>(), Ok(o));
    }
    let err = "loud".parse::<Severity>().expect_err("not a severity");
    assert!(
        err.contains("critical, error") || err.contains("info, warning"),
        "{err}"
    );
    // Serde uses the same names.
    assert_eq!(
        serde_json::to_string(&RouteAction::TicketOnly).expect("ser"),
        r#""ticket_only""#
    );
    let m: Matchers = serde_json::from_str(r#""{a=\"b\"}""#).expect("matchers from a string");
    assert_eq!(m.to_string(), r#"{a="b"}"#);
    assert!(serde_json::from_str::<Matchers>(r#""{a=""#).is_err());
}
