//! Noise metrics: how much of what monitoring sent reached a person.
//!
//! Every received signal ends in exactly one [`PipelineOutcome`]; the
//! counters add up to `received`, so a dashboard can show where the noise
//! went (deduplicated, suppressed, grouped) and the ratio that matters:
//! incidents created per signal received.

use serde::{Deserialize, Serialize};

use super::{RouteAction, UpdateKind};

/// The one thing the pipeline did with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineOutcome {
    /// A repeat of an alert we already had (same fingerprint, same state).
    Deduplicated,
    /// Older than what we know (see [`super::apply_signal`]), or about an
    /// alert we never saw.
    Ignored,
    /// Suppressed by a maintenance window, silence or inhibition.
    Suppressed,
    /// Flapping: stored, not paged.
    Flapping,
    /// Routed to record-only.
    RecordedOnly,
    /// Put into an incident that was already open.
    Grouped,
    /// Opened a new incident.
    IncidentCreated,
    /// Changed an alert's state (resolved, acknowledged) without any of the
    /// above.
    StateChanged,
}

/// Counters over some period; add them up per service, integration or day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseMetrics {
    pub received: u64,
    pub deduplicated: u64,
    pub ignored: u64,
    pub suppressed: u64,
    pub flapping: u64,
    pub recorded_only: u64,
    pub grouped: u64,
    pub incidents_created: u64,
    pub state_changed: u64,
}

impl NoiseMetrics {
    /// Counts one signal.
    pub fn record(&mut self, outcome: PipelineOutcome) {
        self.received += 1;
        let counter = match outcome {
            PipelineOutcome::Deduplicated => &mut self.deduplicated,
            PipelineOutcome::Ignored => &mut self.ignored,
            PipelineOutcome::Suppressed => &mut self.suppressed,
            PipelineOutcome::Flapping => &mut self.flapping,
            PipelineOutcome::RecordedOnly => &mut self.recorded_only,
            PipelineOutcome::Grouped => &mut self.grouped,
            PipelineOutcome::IncidentCreated => &mut self.incidents_created,
            PipelineOutcome::StateChanged => &mut self.state_changed,
        };
        *counter += 1;
    }

    /// Adds another period's (or shard's) counters.
    pub fn merge(&mut self, other: &NoiseMetrics) {
        self.received += other.received;
        self.deduplicated += other.deduplicated;
        self.ignored += other.ignored;
        self.suppressed += other.suppressed;
        self.flapping += other.flapping;
        self.recorded_only += other.recorded_only;
        self.grouped += other.grouped;
        self.incidents_created += other.incidents_created;
        self.state_changed += other.state_changed;
    }

    /// Share of received signals that did *not* open an incident, 0.0..=1.0;
    /// `None` before anything was received. 0.99 means one incident per
    /// hundred signals.
    pub fn noise_reduction(&self) -> Option<f64> {
        (self.received > 0).then(|| 1.0 - self.incidents_created as f64 / self.received as f64)
    }

    /// Signals received per incident created; `None` without incidents.
    pub fn signals_per_incident(&self) -> Option<f64> {
        (self.incidents_created > 0).then(|| self.received as f64 / self.incidents_created as f64)
    }
}

/// The one outcome of a signal, from what the pipeline steps said, in the
/// order they run (see `docs/alerts.md`): an ignored signal is ignored; a
/// repeat is deduplicated; an acknowledgement or resolution changes state;
/// an alert that starts firing is, in this order, suppressed, flapping,
/// recorded only, grouped into an open incident, or opens one.
///
/// `may_page` is [`super::FlapOutcome::page`] of the transition; `joined`
/// says the group decision was to join an open incident.
pub fn outcome_of(
    update: UpdateKind,
    suppressed: bool,
    may_page: bool,
    action: RouteAction,
    joined: bool,
) -> PipelineOutcome {
    match update {
        UpdateKind::Ignored => PipelineOutcome::Ignored,
        UpdateKind::Repeat => PipelineOutcome::Deduplicated,
        UpdateKind::Acknowledged | UpdateKind::Resolved => PipelineOutcome::StateChanged,
        UpdateKind::New | UpdateKind::Reopened => {
            if suppressed {
                PipelineOutcome::Suppressed
            } else if !may_page {
                PipelineOutcome::Flapping
            } else if action == RouteAction::RecordOnly {
                PipelineOutcome::RecordedOnly
            } else if joined {
                PipelineOutcome::Grouped
            } else {
                PipelineOutcome::IncidentCreated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_to_received() {
        let mut m = NoiseMetrics::default();
        assert_eq!(m.noise_reduction(), None);
        for o in [
            PipelineOutcome::IncidentCreated,
            PipelineOutcome::Grouped,
            PipelineOutcome::Deduplicated,
            PipelineOutcome::Deduplicated,
        ] {
            m.record(o);
        }
        assert_eq!(m.received, 4);
        assert_eq!(m.deduplicated, 2);
        assert_eq!(m.noise_reduction(), Some(0.75));
        assert_eq!(m.signals_per_incident(), Some(4.0));
        let mut total = NoiseMetrics::default();
        total.merge(&m);
        total.merge(&m);
        assert_eq!(total.received, 8);
        assert_eq!(total.incidents_created, 2);
    }

    #[test]
    fn outcomes_follow_the_pipeline_order() {
        use crate::alerts::IgnoreReason;
        let ignored = crate::alerts::AlertUpdate::Ignored(IgnoreReason::Stale);
        assert_eq!(
            outcome_of(ignored.kind(), true, true, RouteAction::Page, false),
            PipelineOutcome::Ignored
        );
        let signal = crate::alerts::AlertSignal {
            source: crate::alerts::SignalSource::Generic,
            status: crate::alerts::AlertStatus::Firing,
            labels: crate::alerts::SharedLabels::new(
                [("alertname".to_string(), "X".to_string())].into(),
            ),
            annotations: Default::default(),
            starts_at: None,
            ends_at: None,
            dedup_key: None,
            summary: "X".into(),
            severity: crate::alerts::Severity::Warning,
            url: None,
        };
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid");
        let new = crate::alerts::apply_signal(None, &signal, now);
        let o = |s, p, a, j| outcome_of(new.kind(), s, p, a, j);
        assert_eq!(
            o(true, false, RouteAction::RecordOnly, true),
            PipelineOutcome::Suppressed
        );
        assert_eq!(
            o(false, false, RouteAction::Page, true),
            PipelineOutcome::Flapping
        );
        assert_eq!(
            o(false, true, RouteAction::RecordOnly, true),
            PipelineOutcome::RecordedOnly
        );
        assert_eq!(
            o(false, true, RouteAction::Page, true),
            PipelineOutcome::Grouped
        );
        assert_eq!(
            o(false, true, RouteAction::TicketOnly, false),
            PipelineOutcome::IncidentCreated
        );
        let rec = new.record().cloned().expect("a record");
        let repeat = crate::alerts::apply_signal(Some(&rec), &signal, now);
        assert_eq!(
            outcome_of(repeat.kind(), false, true, RouteAction::Page, false),
            PipelineOutcome::Deduplicated
        );
    }
}
