//! Property tests for the alert rules: the fingerprint ignores label order,
//! matchers survive display → parse, a flapping alert never pages, the flap
//! detector agrees with a naive model that keeps the whole history, and
//! applying the same signal twice is a repeat that changes only `count` and
//! `last_seen`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::ServiceId;
use opsdesk_domain::alerts::{
    AlertRecord, AlertSignal, AlertStatus, AlertUpdate, Fingerprint, FlapPolicy, FlapState,
    GroupBy, Labels, MatchOp, Matcher, Matchers, Severity, SignalSource, apply_signal, group_key,
};
use proptest::prelude::*;

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,12}"
}

/// Values with the characters that need escaping or trip parsers.
fn label_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\\'),
            Just('"'),
            Just('\n'),
            Just(','),
            Just('{'),
            Just('}'),
            Just('='),
            Just('~'),
            Just(' '),
            Just('é'),
            Just('\u{1F600}'),
            prop::char::range('a', 'z'),
            prop::char::range('0', '9'),
        ],
        0..16,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn label_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(label_name(), label_value(), 0..10)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn fingerprint_ignores_label_order(
        pairs in label_pairs(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = pairs.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = (state % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        let from_pairs = Fingerprint::of_pairs(shuffled.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let map: Labels = shuffled.iter().cloned().collect();
        prop_assert_eq!(from_pairs, Fingerprint::of_labels(&map));
        // And through JSON, written in the shuffled order.
        let json = format!(
            "{{{}}}",
            shuffled
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::json!(k), serde_json::json!(v)))
                .collect::<Vec<_>>()
                .join(",")
        );
        let parsed: Labels = serde_json::from_str(&json).expect("valid json");
        prop_assert_eq!(Fingerprint::of_labels(&parsed), from_pairs);
        // The group key is as order-blind as the fingerprint.
        prop_assert_eq!(
            group_key(ServiceId(1), &GroupBy::All, &parsed),
            group_key(ServiceId(1), &GroupBy::All, &map)
        );
    }

    #[test]
    fn different_label_sets_have_different_fingerprints(
        a in label_pairs(),
        b in label_pairs(),
    ) {
        let la: Labels = a.into_iter().collect();
        let lb: Labels = b.into_iter().collect();
        prop_assume!(la != lb);
        prop_assert_ne!(Fingerprint::of_labels(&la), Fingerprint::of_labels(&lb));
    }

    #[test]
    fn matcher_display_parse_round_trip(
        list in prop::collection::vec(
            (label_name(), 0usize..4, label_value()),
            0..6,
        ),
        spaced in any::<bool>(),
    ) {
        let mut built = Vec::new();
        for (name, op, value) in list {
            let op = MatchOp::ALL[op];
            // Regex operators need a valid pattern: quote the value.
            let value = if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
                regex::escape(&value)
            } else {
                value
            };
            built.push(Matcher::new(name, op, value).expect("valid matcher"));
        }
        let matchers = Matchers::new(built).expect("within limits");
        let text = if spaced {
            let parts: Vec<String> = matchers.iter().map(|m| m.to_string()).collect();
            // White space everywhere, and a trailing comma when allowed.
            let tail = if parts.is_empty() { "" } else { " ,\n" };
            format!(" {{ {}{tail}}} ", parts.join(" ,\n\t"))
        } else {
            matchers.to_string()
        };
        let parsed: Matchers = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&parsed, &matchers);
        prop_assert_eq!(parsed.to_string(), matchers.to_string());
        for m in &matchers {
            let one: Matcher = m.to_string().parse().map_err(|e| TestCaseError::fail(format!("{m}: {e}")))?;
            prop_assert_eq!(&one, m);
        }
    }

    #[test]
    fn escaped_regex_matches_exactly_its_value(value in label_value(), other in label_value()) {
        let m = Matcher::new("a", MatchOp::Regex, regex::escape(&value)).expect("valid");
        prop_assert!(m.matches_value(&value));
        prop_assert_eq!(m.matches_value(&other), other == value);
    }

    #[test]
    fn matcher_parser_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<Matchers>();
    }
}

// ---------------------------------------------------------------------------
// Flapping
// ---------------------------------------------------------------------------

/// The flap rule computed the slow way, from every transition ever seen.
struct NaiveFlap {
    history: Vec<Timestamp>,
    flapping: bool,
}

impl NaiveFlap {
    fn in_window(&self, policy: &FlapPolicy, now: Timestamp) -> usize {
        self.history
            .iter()
            .filter(|&&t| t <= now && now.duration_since(t) < policy.window)
            .count()
    }

    fn record(&mut self, policy: &FlapPolicy, now: Timestamp) -> bool {
        let max = policy.max_transitions as usize;
        let before = if self.flapping {
            self.in_window(policy, now) > max / 2
        } else {
            self.in_window(policy, now) > max
        };
        self.history.push(now);
        let n = self.in_window(policy, now);
        self.flapping = if before { n > max / 2 } else { n > max };
        self.flapping
    }
}

proptest! {
    #[test]
    fn flapping_alert_never_pages_and_matches_the_model(
        max in 1u32..8,
        window_mins in 1i64..120,
        gaps in prop::collection::vec(0i64..3600, 1..80),
    ) {
        let policy = FlapPolicy {
            max_transitions: max,
            window: SignedDuration::from_mins(window_mins),
        };
        let mut state = FlapState::default();
        let mut model = NaiveFlap { history: Vec::new(), flapping: false };
        let mut now: Timestamp = "2026-03-01T00:00:00Z".parse().expect("valid");
        let mut to = AlertStatus::Firing;
        let mut pages_in_episode = 0;
        let mut in_episode = false;
        for gap in gaps {
            now += SignedDuration::from_secs(gap);
            let out = state.record_transition(&policy, to, now);
            let expected = model.record(&policy, now);
            prop_assert_eq!(out.flapping, expected);
            prop_assert_eq!(state.is_flapping(&policy, now), expected);
            // Episodes open and close strictly in turn.
            prop_assert!(!(out.started && out.stopped));
            if out.started {
                prop_assert!(!in_episode, "started twice");
                in_episode = true;
                pages_in_episode = 0;
            }
            if out.stopped {
                prop_assert!(in_episode, "stopped without a start");
                in_episode = false;
            }
            prop_assert_eq!(in_episode, out.flapping);
            if out.flapping && out.page {
                pages_in_episode += 1;
            }
            // Never twice; in fact never while flapping.
            prop_assert!(pages_in_episode == 0, "paged while flapping");
            prop_assert_eq!(out.page, to == AlertStatus::Firing && !out.flapping);
            to = if to == AlertStatus::Firing { AlertStatus::Resolved } else { AlertStatus::Firing };
        }
        // The bookkeeping stays consistent when time passes quietly.
        let quiet = now + policy.window;
        prop_assert!(!state.is_flapping(&policy, quiet));
    }
}

#[test]
fn rapid_flips_start_and_stop_flapping() {
    let policy = FlapPolicy {
        max_transitions: 4,
        window: SignedDuration::from_mins(10),
    };
    let t0: Timestamp = "2026-03-01T00:00:00Z".parse().expect("valid");
    let mut state = FlapState::default();
    let mut to = AlertStatus::Firing;
    let mut outs = Vec::new();
    for i in 0..6 {
        outs.push(state.record_transition(&policy, to, t0 + SignedDuration::from_mins(i)));
        to = if to == AlertStatus::Firing {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        };
    }
    let flags: Vec<bool> = outs.iter().map(|o| o.flapping).collect();
    assert_eq!(flags, vec![false, false, false, false, true, true]);
    assert!(outs[4].started && !outs[5].started);
    assert!(outs[0].page && outs[2].page && !outs[4].page);
    // Hysteresis: 3 transitions in the window (> 4/2) keep it flapping...
    let at = t0 + SignedDuration::from_mins(12) + SignedDuration::from_secs(30);
    assert!(state.is_flapping(&policy, at));
    // ...2 do not.
    let later = t0 + SignedDuration::from_mins(13) + SignedDuration::from_secs(30);
    assert!(!state.is_flapping(&policy, later));
    let out = state.record_transition(
        &policy,
        AlertStatus::Firing,
        t0 + SignedDuration::from_mins(30),
    );
    assert!(out.stopped && out.page && !out.flapping);
}

// ---------------------------------------------------------------------------
// apply_signal
// ---------------------------------------------------------------------------

fn status() -> impl Strategy<Value = AlertStatus> {
    prop::sample::select(AlertStatus::ALL.to_vec())
}

/// Times on a small grid so equal and ordered times both come up often.
fn time() -> impl Strategy<Value = Timestamp> {
    (0i64..20).prop_map(|m| {
        "2026-06-01T10:00:00Z".parse::<Timestamp>().expect("valid") + SignedDuration::from_mins(m)
    })
}

fn signal() -> impl Strategy<Value = AlertSignal> {
    (
        status(),
        prop::option::of(time()),
        prop::option::of(time()),
        prop::sample::select(vec!["a", "b"]),
    )
        .prop_map(|(status, starts_at, ends_at, summary)| AlertSignal {
            source: SignalSource::Generic,
            status,
            labels: BTreeMap::from([("alertname".to_string(), "X".to_string())]).into(),
            annotations: Default::default(),
            starts_at,
            ends_at,
            dedup_key: None,
            summary: summary.to_string(),
            severity: Severity::Warning,
            url: None,
        })
}

fn record() -> impl Strategy<Value = Option<AlertRecord>> {
    prop::option::of(
        (status(), time(), prop::option::of(time()), 1u64..5).prop_map(
            |(status, started_at, resolved_at, count)| {
                let labels = BTreeMap::from([("alertname".to_string(), "X".to_string())]);
                AlertRecord {
                    fingerprint: Fingerprint::of_labels(&labels),
                    source: SignalSource::Generic,
                    status,
                    labels: labels.into(),
                    annotations: Default::default(),
                    summary: "old".into(),
                    severity: Severity::Error,
                    dedup_key: None,
                    url: None,
                    first_seen: started_at,
                    last_seen: started_at,
                    started_at,
                    acknowledged_at: None,
                    resolved_at: if status == AlertStatus::Resolved {
                        Some(resolved_at.unwrap_or(started_at).max(started_at))
                    } else {
                        None
                    },
                    count,
                    occurrences: 1,
                }
            },
        ),
    )
}

proptest! {
    #[test]
    fn repeating_a_signal_only_counts(
        existing in record(),
        signal in signal(),
        now in time(),
    ) {
        let first = apply_signal(existing.as_ref(), &signal, now);
        let after_first = first.record().cloned().or(existing.clone());
        let second = apply_signal(after_first.as_ref(), &signal, now);
        match (&first, &second) {
            (_, AlertUpdate::Ignored(_)) => {
                // Ignored the second time only if it was ignored the first.
                prop_assert!(matches!(first, AlertUpdate::Ignored(_)), "{first:?} then {second:?}");
            }
            (_, AlertUpdate::Repeat(r2)) => {
                let r1 = after_first.clone().expect("a record to repeat");
                prop_assert_eq!(r2.count, r1.count + 1);
                prop_assert_eq!(r2.last_seen, now);
                let normalise = |r: &AlertRecord| AlertRecord { count: 0, last_seen: now, ..r.clone() };
                prop_assert_eq!(normalise(r2), normalise(&r1));
            }
            _ => prop_assert!(false, "second application was {second:?} after {first:?}"),
        }
    }

    #[test]
    fn records_never_claim_the_future(
        existing in record(),
        signal in signal(),
        now in time(),
    ) {
        if let Some(r) = apply_signal(existing.as_ref(), &signal, now).record() {
            prop_assert!(r.started_at <= now.max(existing.as_ref().map_or(now, |e| e.started_at)));
            if let Some(res) = r.resolved_at {
                prop_assert!(res >= r.started_at || existing.as_ref().is_some_and(|e| e.resolved_at == Some(res)));
            }
            prop_assert_eq!(r.resolved_at.is_some(), r.status == AlertStatus::Resolved);
        }
    }
}

// ---------------------------------------------------------------------------
// Suppression: the prepared batch form agrees with the plain rule
// ---------------------------------------------------------------------------

mod suppression_equivalence {
    use super::*;
    use opsdesk_domain::alerts::{
        AlertView, InhibitRule, MaintenanceSchedule, MaintenanceWindow, MaintenanceWindowId,
        Silence, SilenceId, Suppressor, suppression,
    };
    use opsdesk_domain::{ServiceId, UserId};

    fn small_labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from),
            prop::sample::select(vec!["x", "y", ""]).prop_map(String::from),
            0..4,
        )
    }

    fn small_matchers() -> impl Strategy<Value = Matchers> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["a", "b", "c"]),
                0usize..4,
                prop::sample::select(vec!["x", "y", "x|y", ""]),
            ),
            1..3,
        )
        .prop_map(|ms| {
            Matchers::new(
                ms.into_iter()
                    .map(|(n, op, v)| Matcher::new(n, MatchOp::ALL[op], v).expect("valid"))
                    .collect(),
            )
            .expect("few")
        })
    }

    fn at(mins: i64) -> Timestamp {
        "2026-06-01T12:00:00Z".parse::<Timestamp>().expect("valid")
            + SignedDuration::from_mins(mins)
    }

    fn silences() -> impl Strategy<Value = Vec<Silence>> {
        prop::collection::vec((small_matchers(), -5i64..5, 0i64..6, 0i64..4), 0..5).prop_map(|v| {
            v.into_iter()
                .map(|(matchers, start, len, id)| Silence {
                    id: SilenceId(id),
                    matchers,
                    starts_at: at(start),
                    ends_at: at(start + len),
                    created_by: UserId(1),
                    comment: "c".into(),
                })
                .collect()
        })
    }

    fn windows() -> impl Strategy<Value = Vec<MaintenanceWindow>> {
        prop::collection::vec((1i64..4, -5i64..5, 0i64..6, 0i64..4), 0..4).prop_map(|v| {
            v.into_iter()
                .map(|(service, start, len, id)| MaintenanceWindow {
                    id: MaintenanceWindowId(id),
                    service: ServiceId(service),
                    schedule: MaintenanceSchedule::OneOff {
                        starts_at: at(start),
                        ends_at: at(start + len),
                    },
                    comment: String::new(),
                })
                .collect()
        })
    }

    fn rules() -> impl Strategy<Value = Vec<InhibitRule>> {
        prop::collection::vec(
            (
                small_matchers(),
                small_matchers(),
                prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3),
            ),
            0..4,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(source, target, equal)| InhibitRule {
                    source,
                    target,
                    equal: equal.into_iter().map(String::from).collect(),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn suppressor_agrees_with_suppression(
            silences in silences(),
            windows in windows(),
            rules in rules(),
            firing_labels in prop::collection::vec(small_labels(), 0..8),
            own in small_labels(),
            pick in any::<prop::sample::Index>(),
            use_firing in any::<bool>(),
            service in prop::option::of(1i64..4),
        ) {
            let now = at(0);
            let firing: Vec<AlertView<'_>> = firing_labels
                .iter()
                .map(|l| AlertView { fingerprint: Fingerprint::of_labels(l), labels: l, service: None })
                .collect();
            // Often the alert is itself one of the firing alerts.
            let labels = if use_firing && !firing_labels.is_empty() {
                &firing_labels[pick.index(firing_labels.len())]
            } else {
                &own
            };
            let alert = AlertView {
                fingerprint: Fingerprint::of_labels(labels),
                labels,
                service: service.map(ServiceId),
            };
            let plain = suppression(&alert, &silences, &windows, &rules, &firing, now);
            let prepared = Suppressor::new(&silences, &windows, &rules, &firing, now).check(&alert);
            prop_assert_eq!(prepared, plain);
        }
    }
}
