//! Intake parsing: a real-shaped Alertmanager v4 webhook, PagerDuty Events
//! v2 events and generic batches, converted to signals; and bad bodies,
//! answered with every problem and its JSON path.

use jiff::Timestamp;
use opsdesk_domain::FieldError;
use opsdesk_domain::alerts::intake::{parse_alertmanager, parse_generic, parse_pagerduty};
use opsdesk_domain::alerts::limits::{MAX_ALERTS_PER_BATCH, MAX_LABELS_PER_ALERT};
use opsdesk_domain::alerts::{
    AlertStatus, AlertmanagerWebhook, Fingerprint, GenericAlertBatch, PagerDutyEvent, Severity,
    SignalSource,
};

fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid test timestamp")
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

/// What Alertmanager 0.27 posts for a group with one firing and one
/// resolved alert (values are ours; the shape and formats are
/// Alertmanager's: nanosecond times, Go's zero time for a firing endsAt).
const ALERTMANAGER_V4: &str = r#"{
  "receiver": "opsdesk",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "HighRequestLatency",
        "cluster": "eu-1",
        "instance": "api-7:8080",
        "job": "checkout",
        "severity": "critical"
      },
      "annotations": {
        "description": "p99 latency is 2.4s\n(threshold 1s)",
        "runbook_url": "https://runbooks.example.org/latency",
        "summary": "Checkout p99 latency above 1s"
      },
      "startsAt": "2026-11-29T23:58:12.345678901Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=histogram_quantile%28...%29&g0.tab=1",
      "fingerprint": "5f1e3ab2c3d4e5f6"
    },
    {
      "status": "resolved",
      "labels": {
        "alertname": "HighRequestLatency",
        "cluster": "eu-1",
        "instance": "api-8:8080",
        "job": "checkout",
        "severity": "warning"
      },
      "annotations": {
        "description": "p99 latency is 1.2s"
      },
      "startsAt": "2026-11-29T23:40:00Z",
      "endsAt": "2026-11-30T00:01:00.5+01:00",
      "generatorURL": "",
      "fingerprint": "0a1b2c3d4e5f6071"
    }
  ],
  "groupLabels": {"alertname": "HighRequestLatency"},
  "commonLabels": {"alertname": "HighRequestLatency", "cluster": "eu-1", "job": "checkout"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}/{severity=~\"warning|critical\"}:{alertname=\"HighRequestLatency\"}",
  "truncatedAlerts": 0
}"#;

#[test]
fn alertmanager_v4_sample_converts() {
    let signals = parse_alertmanager(ALERTMANAGER_V4.as_bytes()).expect("valid webhook");
    assert_eq!(signals.len(), 2);

    let a = &signals[0];
    assert_eq!(a.source, SignalSource::Alertmanager);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.summary, "Checkout p99 latency above 1s");
    assert_eq!(a.labels.len(), 5);
    assert_eq!(a.labels["instance"], "api-7:8080");
    assert_eq!(
        a.annotations["runbook_url"],
        "https://runbooks.example.org/latency"
    );
    assert_eq!(a.starts_at, Some(ts("2026-11-29T23:58:12.345678901Z")));
    assert_eq!(
        a.ends_at, None,
        "Go's zero time and firing endsAt mean no end"
    );
    assert_eq!(a.dedup_key, None);
    assert!(
        a.url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://prometheus"))
    );
    // Our fingerprint, not Alertmanager's.
    assert_eq!(a.fingerprint(), Fingerprint::of_labels(&a.labels));
    assert_ne!(a.fingerprint().to_string(), "5f1e3ab2c3d4e5f6");

    let b = &signals[1];
    assert_eq!(b.status, AlertStatus::Resolved);
    assert_eq!(b.severity, Severity::Warning);
    // No summary annotation: the description's first line.
    assert_eq!(b.summary, "p99 latency is 1.2s");
    assert_eq!(b.ends_at, Some(ts("2026-11-29T23:01:00.5Z")));
    assert_eq!(b.url, None);

    let parsed: AlertmanagerWebhook = serde_json::from_str(ALERTMANAGER_V4).expect("deserializes");
    assert_eq!(parsed.group_labels["alertname"], "HighRequestLatency");
    assert_eq!(parsed.external_url, "http://alertmanager:9093");
    assert!(parsed.validate().is_empty());
}

#[test]
fn alertmanager_errors_name_every_field() {
    let mut hook: AlertmanagerWebhook =
        serde_json::from_str(ALERTMANAGER_V4).expect("deserializes");
    hook.version = "3".into();
    hook.alerts[0].status = "pending".into();
    hook.alerts[0].starts_at = "yesterday".into();
    hook.alerts[1].labels.clear();
    hook.alerts[1].labels.insert("bad-name".into(), "x".into());
    hook.alerts[1].labels.insert("note".into(), "a\0b".into());
    let errors = hook.validate();
    assert_eq!(
        fields(&errors),
        vec![
            "version",
            "alerts[0].status",
            "alerts[0].startsAt",
            "alerts[1].labels",
            "alerts[1].labels.note",
        ],
        "{errors:?}"
    );

    let mut empty_labels: AlertmanagerWebhook =
        serde_json::from_str(ALERTMANAGER_V4).expect("deserializes");
    empty_labels.alerts[1].labels.clear();
    assert_eq!(fields(&empty_labels.validate()), vec!["alerts[1].labels"]);

    let mut wide: AlertmanagerWebhook =
        serde_json::from_str(ALERTMANAGER_V4).expect("deserializes");
    for i in 0..MAX_LABELS_PER_ALERT {
        wide.alerts[1].labels.insert(format!("l{i}"), "v".into());
    }
    let errors = wide.validate();
    assert_eq!(fields(&errors), vec!["alerts[1].labels"]);
    assert!(errors[0].message.contains("limit is 64"), "{errors:?}");

    let mut big: AlertmanagerWebhook = serde_json::from_str(ALERTMANAGER_V4).expect("deserializes");
    let one = big.alerts[0].clone();
    big.alerts = vec![one; MAX_ALERTS_PER_BATCH + 1];
    assert_eq!(fields(&big.validate()), vec!["alerts"]);
    big.alerts.truncate(MAX_ALERTS_PER_BATCH);
    assert!(big.validate().is_empty());
}

#[test]
fn malformed_bodies_are_body_errors() {
    for body in [&b"{"[..], b"42", br#"{"alerts": "nope"}"#, b"\xff"] {
        let errors = parse_alertmanager(body).expect_err("malformed");
        assert_eq!(fields(&errors), vec!["body"]);
    }
    let errors = parse_generic(br#"{"alerts":[{"lables":{"a":"b"}}]}"#).expect_err("typo");
    assert_eq!(fields(&errors), vec!["body"]);
    assert!(errors[0].message.contains("lables"), "{errors:?}");
}

const PAGERDUTY_TRIGGER: &str = r#"{
  "routing_key": "R0UT1NGK3Y0000000000000000000000",
  "event_action": "trigger",
  "dedup_key": "srv01/mysql",
  "payload": {
    "summary": "DISK at 99% on srv01",
    "timestamp": "2026-11-29T20:33:21.000+02:00",
    "source": "srv01.example.net",
    "severity": "critical",
    "component": "mysql",
    "group": "prod-datapipe",
    "class": "disk",
    "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
  },
  "client": "Sample Monitoring Service",
  "client_url": "https://monitoring.example.net",
  "images": [{"src": "https://chart.example.net/disk.png", "href": "https://example.net/", "alt": "disk"}],
  "links": [{"href": "https://example.net/srv01", "text": "srv01 dashboard"}]
}"#;

#[test]
fn pagerduty_trigger_converts() {
    let s = parse_pagerduty(PAGERDUTY_TRIGGER.as_bytes()).expect("valid event");
    assert_eq!(s.source, SignalSource::PagerDuty);
    assert_eq!(s.status, AlertStatus::Firing);
    assert_eq!(s.severity, Severity::Critical);
    assert_eq!(s.summary, "DISK at 99% on srv01");
    assert_eq!(s.dedup_key.as_deref(), Some("srv01/mysql"));
    assert_eq!(s.starts_at, Some(ts("2026-11-29T18:33:21Z")));
    let label_names: Vec<&str> = s.labels.keys().map(String::as_str).collect();
    assert_eq!(
        label_names,
        vec!["class", "component", "group", "severity", "source"]
    );
    assert_eq!(s.labels["source"], "srv01.example.net");
    assert!(s.annotations["custom_details"].contains("\"free space\":\"1%\""));
    assert_eq!(s.annotations["client"], "Sample Monitoring Service");
    assert_eq!(s.url.as_deref(), Some("https://example.net/srv01"));
    assert_eq!(s.fingerprint(), Fingerprint::of_dedup_key("srv01/mysql"));
}

#[test]
fn pagerduty_acknowledge_and_resolve_need_only_the_key() {
    for (action, status) in [
        ("acknowledge", AlertStatus::Acknowledged),
        ("resolve", AlertStatus::Resolved),
    ] {
        let body =
            format!(r#"{{"routing_key":"k","event_action":"{action}","dedup_key":"srv01/mysql"}}"#);
        let s = parse_pagerduty(body.as_bytes()).expect("valid");
        assert_eq!(s.status, status);
        assert!(s.labels.is_empty());
        assert_eq!(s.fingerprint(), Fingerprint::of_dedup_key("srv01/mysql"));

        let without_key = format!(r#"{{"routing_key":"k","event_action":"{action}"}}"#);
        let errors = parse_pagerduty(without_key.as_bytes()).expect_err("no key");
        assert_eq!(fields(&errors), vec!["dedup_key"]);
    }
}

#[test]
fn pagerduty_errors_name_every_field() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{"event_action":"trigger"}"#, &["routing_key", "payload"]),
        (
            r#"{"routing_key":"k","event_action":"explode"}"#,
            &["event_action"],
        ),
        (
            r#"{"routing_key":"k","event_action":"trigger","payload":{}}"#,
            &["payload.summary", "payload.source", "payload.severity"],
        ),
        (
            r#"{"routing_key":"k","event_action":"trigger","dedup_key":"",
                "payload":{"summary":"x","source":"s","severity":"fatal","timestamp":"soon"}}"#,
            &["dedup_key", "payload.severity", "payload.timestamp"],
        ),
    ];
    for (body, expected) in cases {
        let errors = parse_pagerduty(body.as_bytes()).expect_err(body);
        assert_eq!(fields(&errors), *expected, "{body}: {errors:?}");
    }

    let mut long: PagerDutyEvent = serde_json::from_str(PAGERDUTY_TRIGGER).expect("deserializes");
    if let Some(p) = long.payload.as_mut() {
        p.summary = "é".repeat(1025);
    }
    let errors = long.validate();
    assert_eq!(fields(&errors), vec!["payload.summary"]);
    assert!(errors[0].message.contains("1025"), "{errors:?}");
    if let Some(p) = long.payload.as_mut() {
        p.summary = "é".repeat(1024);
    }
    assert!(long.validate().is_empty());
}

#[test]
fn generic_batch_converts_with_defaults() {
    let body = r#"{"alerts": [
        {"labels": {"alertname": "BackupFailed", "host": "nas-1", "severity": "major"}},
        {"status": "resolved", "dedup_key": "cron:nightly-report", "summary": "Report job failed",
         "severity": "info", "starts_at": "2026-11-29T02:00:00Z", "ends_at": "2026-11-29T02:10:00Z",
         "url": "https://ci.example.net/job/42"},
        {"status": "acknowledged", "labels": {"check": "ping"}, "annotations": {"summary": "No ping"}}
    ]}"#;
    let signals = parse_generic(body.as_bytes()).expect("valid batch");
    assert_eq!(signals.len(), 3);
    assert!(signals.iter().all(|s| s.source == SignalSource::Generic));

    assert_eq!(signals[0].status, AlertStatus::Firing);
    assert_eq!(
        signals[0].severity,
        Severity::Error,
        "'major' maps to error"
    );
    assert_eq!(signals[0].summary, "BackupFailed");

    assert_eq!(signals[1].status, AlertStatus::Resolved);
    assert_eq!(signals[1].severity, Severity::Info);
    assert_eq!(signals[1].ends_at, Some(ts("2026-11-29T02:10:00Z")));
    assert_eq!(
        signals[1].fingerprint(),
        Fingerprint::of_dedup_key("cron:nightly-report")
    );

    assert_eq!(signals[2].status, AlertStatus::Acknowledged);
    assert_eq!(signals[2].summary, "No ping");
    assert_eq!(signals[2].severity, Severity::Warning, "the default");
}

#[test]
fn generic_errors_name_every_field() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{"alerts": []}"#, &["alerts"]),
        (r#"{}"#, &["alerts"]),
        (r#"{"alerts": [{}]}"#, &["alerts[0].labels"]),
        (
            r#"{"alerts": [{"labels":{"a":"b"}}, {"status":"open","labels":{"1x":"y"},
                "severity":"loud","starts_at":"2026-11-29T02:00:00Z","ends_at":"2026-11-29T01:00:00Z"}]}"#,
            &[
                "alerts[1].status",
                "alerts[1].labels",
                "alerts[1].severity",
                "alerts[1].ends_at",
            ],
        ),
        (
            r#"{"alerts": [{"dedup_key":"k","summary":"  "}]}"#,
            &["alerts[0].summary"],
        ),
    ];
    for (body, expected) in cases {
        let errors = parse_generic(body.as_bytes()).expect_err(body);
        assert_eq!(fields(&errors), *expected, "{body}: {errors:?}");
    }
    let batch: GenericAlertBatch =
        serde_json::from_str(r#"{"alerts":[{"dedup_key":"k"}]}"#).expect("deserializes");
    assert!(batch.validate().is_empty());
}
