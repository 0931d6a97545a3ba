//! The pure part of alert intake per alert, on the hot path of the
//! 50,000 alerts/s target (docs/BENCHMARKS.md): parsing a 100-alert
//! Alertmanager batch, fingerprinting, routing through 50 rules, the state
//! machine, and suppression against 100 silences, 20 windows, 10 inhibition
//! rules and 1,000 firing alerts. Each must leave most of the 20 µs per
//! alert budget to the store.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::ServiceId;
use opsdesk_domain::UserId;
use opsdesk_domain::alerts::intake::parse_alertmanager;
use opsdesk_domain::alerts::{
    AlertView, Fallback, Fingerprint, GroupBy, InhibitRule, MaintenanceSchedule, MaintenanceWindow,
    MaintenanceWindowId, Matchers, Route, RouteAction, Silence, SilenceId, Suppressor, UrgencyMap,
    apply_signal, group_key, route, suppression,
};

fn batch(n: usize) -> String {
    let alerts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"status":"firing","labels":{{"alertname":"HighLatency","cluster":"eu-{c}","instance":"api-{i}:8080","job":"checkout","namespace":"shop","pod":"checkout-{i}-7f9c","severity":"{sev}"}},
                "annotations":{{"summary":"p99 latency above 1s on api-{i}","runbook_url":"https://runbooks.example.org/latency"}},
                "startsAt":"2026-11-29T23:58:12.345678901Z","endsAt":"0001-01-01T00:00:00Z",
                "generatorURL":"http://prometheus:9090/graph?g0.expr=x","fingerprint":"0000000000000000"}}"#,
                c = i % 3,
                sev = if i % 4 == 0 { "critical" } else { "warning" },
            )
        })
        .collect();
    format!(
        r#"{{"receiver":"opsdesk","status":"firing","alerts":[{}],"groupLabels":{{"alertname":"HighLatency"}},
        "commonLabels":{{"alertname":"HighLatency"}},"commonAnnotations":{{}},"externalURL":"http://am:9093",
        "version":"4","groupKey":"{{}}:{{alertname=\"HighLatency\"}}","truncatedAlerts":0}}"#,
        alerts.join(",")
    )
}

fn matchers(s: &str) -> Matchers {
    s.parse().expect("valid matchers")
}

fn bench(c: &mut Criterion) {
    let now: Timestamp = "2026-11-30T00:00:00Z".parse().expect("valid");
    let body = batch(100);
    let signals = parse_alertmanager(body.as_bytes()).expect("valid batch");
    assert_eq!(signals.len(), 100);

    let mut group = c.benchmark_group("alerts");
    group.throughput(Throughput::Elements(100));
    group.bench_function("parse alertmanager batch of 100", |b| {
        b.iter(|| parse_alertmanager(black_box(body.as_bytes())))
    });
    group.bench_function("fingerprint 100", |b| {
        b.iter(|| {
            for s in &signals {
                black_box(s.fingerprint());
            }
        })
    });
    group.bench_function("apply_signal new + repeat 100", |b| {
        b.iter(|| {
            for s in &signals {
                let new = apply_signal(None, black_box(s), now);
                black_box(apply_signal(new.record(), s, now));
            }
        })
    });

    // 49 routes that do not match, then one that does, then the fallback.
    let mut routes: Vec<Route> = (0..49)
        .map(|i| Route {
            name: format!("team {i}"),
            matchers: matchers(&format!(r#"{{team="t{i}", env=~"prod|staging"}}"#)),
            service: ServiceId(i),
            action: RouteAction::Page,
            page_min_severity: None,
            urgency: UrgencyMap::default(),
            impact: opsdesk_domain::Impact::Medium,
            group_by: GroupBy::default(),
            group_window: None,
            auto_resolve: false,
        })
        .collect();
    routes.push(Route {
        name: "checkout".into(),
        matchers: matchers(r#"{job="checkout", instance=~"api-[0-9]+:8080"}"#),
        service: ServiceId(100),
        action: RouteAction::Page,
        page_min_severity: None,
        urgency: UrgencyMap::default(),
        impact: opsdesk_domain::Impact::Medium,
        group_by: GroupBy::Labels(vec!["alertname".into(), "cluster".into()]),
        group_window: Some(SignedDuration::from_mins(30)),
        auto_resolve: true,
    });
    let fallback = Fallback::new(ServiceId(1));
    group.bench_function("route through 50 rules + group key, 100", |b| {
        b.iter(|| {
            for s in &signals {
                let d = route(black_box(&routes), &fallback, s);
                black_box(group_key(d.service, &d.group_by, &s.labels));
            }
        })
    });

    let silences: Vec<Silence> = (0..100)
        .map(|i| Silence {
            id: SilenceId(i),
            matchers: matchers(&format!(
                r#"{{instance=~"db-{i}:.*", alertname!="Watchdog"}}"#
            )),
            starts_at: now - SignedDuration::from_hours(1),
            ends_at: now + SignedDuration::from_hours(1),
            created_by: UserId(1),
            comment: "bench".into(),
        })
        .collect();
    let windows: Vec<MaintenanceWindow> = (0..20)
        .map(|i| MaintenanceWindow {
            id: MaintenanceWindowId(i),
            service: ServiceId(100 + i),
            schedule: MaintenanceSchedule::Weekly {
                time_zone: "Europe/Berlin".into(),
                days: vec![jiff::civil::Weekday::Sunday],
                start: jiff::civil::time(2, 0, 0, 0),
                duration: SignedDuration::from_hours(2),
            },
            comment: String::new(),
        })
        .collect();
    let rules: Vec<InhibitRule> = (0..10)
        .map(|i| InhibitRule {
            source: matchers(&format!(r#"alertname="NodeDown{i}""#)),
            target: matchers(r#"severity=~"warning|critical""#),
            equal: vec!["instance".into()],
        })
        .collect();
    let firing_labels: Vec<_> = (0..1000)
        .map(|i| {
            let mut l = (*signals[i % 100].labels).clone();
            l.insert("replica".into(), i.to_string());
            l
        })
        .collect();
    let firing: Vec<AlertView<'_>> = firing_labels
        .iter()
        .map(|l| AlertView {
            fingerprint: Fingerprint::of_labels(l),
            labels: l,
            service: Some(ServiceId(100)),
        })
        .collect();
    let views: Vec<AlertView<'_>> = signals
        .iter()
        .map(|s| AlertView {
            fingerprint: s.fingerprint(),
            labels: &s.labels,
            service: Some(ServiceId(100)),
        })
        .collect();
    group.bench_function(
        "suppression 100 (100 silences, 20 windows, 10 rules, 1000 firing)",
        |b| {
            b.iter(|| {
                for v in &views {
                    black_box(suppression(
                        black_box(v),
                        &silences,
                        &windows,
                        &rules,
                        &firing,
                        now,
                    ));
                }
            })
        },
    );
    group.bench_function(
        "Suppressor::new + check 100 (100 silences, 20 windows, 10 rules, 1000 firing)",
        |b| {
            b.iter(|| {
                let s = Suppressor::new(&silences, &windows, &rules, black_box(&firing), now);
                for v in &views {
                    black_box(s.check(black_box(v)));
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
