//! Plain repeats: signals that move nothing but an alert's `count` and
//! `last_seen`.
//!
//! Most of an alert stream is the same firing alerts sent again
//! (Alertmanager resends every group each `group_interval`). By the table in
//! [`super::record`], a firing signal on a firing or acknowledged alert is a
//! repeat, and it changes nothing else when its descriptive fields (labels,
//! annotations, summary, severity, url) equal the stored ones and it is
//! routed to the same service with the same action. Such a repeat can be
//! written without reading the alert first, if the stored row says whether
//! the signal is one: the [`ContentDigest`] is that test, a hash over exactly
//! those fields, kept on every stored alert.
//!
//! The digest is a shortcut, never the truth: an alert stored without one, or
//! with a digest of another encoding, just takes the full pipeline once and
//! has its digest rewritten. Unlike the fingerprint it may change between
//! releases.

use sha2::{Digest, Sha256};

use super::{AlertRecord, AlertSignal, Labels, RouteAction, RoutingDecision, Severity};
use crate::ServiceId;

/// A hash of what a firing signal can change on an alert and where it was
/// routed; equal digests on a firing or acknowledged alert mean the signal
/// is a plain repeat. Stored as a signed 64-bit integer (the first 8 bytes of
/// a SHA-256, big-endian): SHA-256 because the fields come from outside and
/// nobody should be able to craft a change that passes for a repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentDigest(pub i64);

/// The fields a digest covers, borrowed from a signal or a record.
struct Content<'a> {
    labels: &'a Labels,
    annotations: &'a Labels,
    summary: &'a str,
    severity: Severity,
    url: Option<&'a str>,
    service: ServiceId,
    action: RouteAction,
}

impl ContentDigest {
    /// The digest a firing `signal` routed by `decision` would leave on its
    /// alert.
    pub fn of_signal(signal: &AlertSignal, decision: &RoutingDecision) -> ContentDigest {
        Content {
            labels: &signal.labels,
            annotations: &signal.annotations,
            summary: &signal.summary,
            severity: signal.severity,
            url: signal.url.as_deref(),
            service: decision.service,
            action: decision.action,
        }
        .digest()
    }

    /// The digest of a stored alert routed to `service` with `action`.
    pub fn of_record(
        record: &AlertRecord,
        service: ServiceId,
        action: RouteAction,
    ) -> ContentDigest {
        Content {
            labels: &record.labels,
            annotations: &record.annotations,
            summary: &record.summary,
            severity: record.severity,
            url: record.url.as_deref(),
            service,
            action,
        }
        .digest()
    }
}

impl Content<'_> {
    /// Every field length-prefixed, so no two different contents encode to
    /// the same bytes.
    fn digest(&self) -> ContentDigest {
        fn text(h: &mut Sha256, s: &str) {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
        fn map(h: &mut Sha256, m: &Labels) {
            h.update((m.len() as u64).to_be_bytes());
            for (name, value) in m {
                text(h, name);
                text(h, value);
            }
        }
        let mut h = Sha256::new();
        map(&mut h, self.labels);
        map(&mut h, self.annotations);
        text(&mut h, self.summary);
        text(&mut h, self.severity.as_str());
        match self.url {
            Some(url) => {
                h.update([1]);
                text(&mut h, url);
            }
            None => h.update([0]),
        }
        h.update(self.service.0.to_be_bytes());
        text(&mut h, self.action.as_str());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        ContentDigest(i64::from_be_bytes(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{
        AlertStatus, AlertUpdate, Fallback, GroupBy, SignalSource, apply_signal, route,
    };
    use crate::{Impact, Urgency};
    use jiff::Timestamp;
    use proptest::prelude::*;

    fn decision(service: i64, action: RouteAction) -> RoutingDecision {
        RoutingDecision {
            route: None,
            service: ServiceId(service),
            action,
            urgency: Urgency::High,
            impact: Impact::Medium,
            group_by: GroupBy::default(),
            group_window: None,
            auto_resolve: false,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn firing(summary: &str, annotations: Labels, severity: Severity) -> AlertSignal {
        AlertSignal {
            source: SignalSource::Alertmanager,
            status: AlertStatus::Firing,
            labels: labels(&[("alertname", "DiskFull"), ("instance", "db-1")]).into(),
            annotations: annotations.into(),
            starts_at: None,
            ends_at: None,
            dedup_key: None,
            summary: summary.to_string(),
            severity,
            url: Some("http://prometheus/graph".into()),
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    /// Whether `signal` on `stored` (routed as `d`, stored alert routed as
    /// `stored_route`) is what the store writes as a plain repeat: a
    /// repeat that moves only `count` and `last_seen`.
    fn is_plain(
        stored: &AlertRecord,
        stored_route: (ServiceId, RouteAction),
        signal: &AlertSignal,
        d: &RoutingDecision,
    ) -> bool {
        let now = t(100);
        match apply_signal(Some(stored), signal, now) {
            AlertUpdate::Repeat(rec) => {
                let mut expect = stored.clone();
                expect.count += 1;
                expect.last_seen = now;
                rec == expect && stored_route == (d.service, d.action)
            }
            _ => false,
        }
    }

    #[test]
    fn a_resent_signal_matches_the_record_it_left() {
        let signal = firing(
            "Disk full",
            labels(&[("summary", "Disk full")]),
            Severity::Critical,
        );
        let d = route(&[], &Fallback::new(ServiceId(3)), &signal);
        let AlertUpdate::New(record) = apply_signal(None, &signal, t(0)) else {
            panic!("a first firing signal is new");
        };
        assert_eq!(
            ContentDigest::of_signal(&signal, &d),
            ContentDigest::of_record(&record, d.service, d.action)
        );
        assert!(is_plain(&record, (d.service, d.action), &signal, &d));
    }

    #[test]
    fn every_covered_field_changes_the_digest() {
        let base = firing("s", labels(&[("a", "b")]), Severity::Warning);
        let d = decision(1, RouteAction::Page);
        let digest = ContentDigest::of_signal(&base, &d);
        let mut changed = Vec::new();
        let mut s = base.clone();
        s.summary = "t".into();
        changed.push((s, d.clone()));
        let mut s = base.clone();
        s.annotations = labels(&[("a", "c")]).into();
        changed.push((s, d.clone()));
        let mut s = base.clone();
        std::sync::Arc::make_mut(&mut s.labels).insert("extra".into(), "x".into());
        changed.push((s, d.clone()));
        let mut s = base.clone();
        s.severity = Severity::Critical;
        changed.push((s, d.clone()));
        let mut s = base.clone();
        s.url = None;
        changed.push((s, d.clone()));
        changed.push((base.clone(), decision(2, RouteAction::Page)));
        changed.push((base.clone(), decision(1, RouteAction::RecordOnly)));
        for (signal, d) in changed {
            assert_ne!(
                ContentDigest::of_signal(&signal, &d),
                digest,
                "{signal:?} {d:?}"
            );
        }
    }

    #[test]
    fn field_boundaries_are_part_of_the_encoding() {
        let d = decision(1, RouteAction::Page);
        let a = firing("ab", labels(&[("k", "v")]), Severity::Info);
        let mut b = a.clone();
        b.summary = "a".into();
        b.annotations = labels(&[("k", "v"), ("b", "")]).into();
        assert_ne!(
            ContentDigest::of_signal(&a, &d),
            ContentDigest::of_signal(&b, &d)
        );
    }

    fn text() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["", "a", "b", "ab"]).prop_map(str::to_string)
    }

    fn small_labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map(text(), text(), 0..3)
    }

    fn severity() -> impl Strategy<Value = Severity> {
        prop::sample::select(vec![Severity::Critical, Severity::Warning, Severity::Info])
    }

    fn action() -> impl Strategy<Value = RouteAction> {
        prop::sample::select(RouteAction::ALL.to_vec())
    }

    proptest! {
        /// The shortcut agrees with the state machine: on a firing or
        /// acknowledged alert, equal digests exactly when the signal is a
        /// plain repeat.
        #[test]
        fn equal_digests_exactly_when_a_repeat_is_plain(
            stored_annotations in small_labels(),
            signal_annotations in small_labels(),
            stored_summary in text(),
            signal_summary in text(),
            stored_severity in severity(),
            signal_severity in severity(),
            stored_url in prop::option::of(text()),
            signal_url in prop::option::of(text()),
            stored_service in 1i64..3,
            signal_service in 1i64..3,
            stored_action in action(),
            signal_action in action(),
            acknowledged in any::<bool>(),
        ) {
            let mut signal = firing(&signal_summary, signal_annotations, signal_severity);
            signal.url = signal_url;
            let mut first = firing(&stored_summary, stored_annotations, stored_severity);
            first.url = stored_url;
            let AlertUpdate::New(mut stored) = apply_signal(None, &first, t(0)) else {
                panic!("a first firing signal is new");
            };
            if acknowledged {
                stored.status = AlertStatus::Acknowledged;
                stored.acknowledged_at = Some(t(1));
            }
            let stored_route = (ServiceId(stored_service), stored_action);
            let d = decision(signal_service, signal_action);
            let equal = ContentDigest::of_signal(&signal, &d)
                == ContentDigest::of_record(&stored, stored_route.0, stored_route.1);
            prop_assert_eq!(equal, is_plain(&stored, stored_route, &signal, &d));
        }
    }
}
