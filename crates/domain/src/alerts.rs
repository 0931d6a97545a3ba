//! Alert intake rules: from a monitoring tool's webhook body to "page, ticket
//! or just record".
//!
//! The pipeline the server runs for every alert, each step a pure function
//! here (the rules are written up in `docs/alerts.md`):
//!
//! 1. **Parse** a body ([`intake`]): Alertmanager webhook v4, PagerDuty
//!    Events API v2 or our generic JSON, each validated against [`limits`]
//!    and turned into one normalised [`AlertSignal`].
//! 2. **Identify** it ([`Fingerprint`]): a stable hash of the label set, or of
//!    the sender's dedup key when it gives one.
//! 3. **Update** its record ([`apply_signal`]): new, repeat, acknowledged,
//!    resolved, reopened, or ignored because it is older than what we know.
//! 4. **Route** it ([`route`]): the first rule whose [`Matchers`] match names
//!    the service, urgency and action.
//! 5. **Suppress** it or not ([`suppression`]): maintenance windows, silences,
//!    inhibition rules.
//! 6. **Damp** it ([`FlapState`]): an alert that keeps flipping stops paging.
//! 7. **Group** it ([`decide_group`]): join an open incident with the same
//!    [`GroupKey`] or open a new one; [`should_auto_resolve`] closes it again.
//!
//! [`NoiseMetrics`] counts what each step filtered out. Nothing here reads a
//! clock or touches storage: every function that depends on time takes `now`.

mod fingerprint;
mod flapping;
mod grouping;
pub mod intake;
pub mod limits;
mod matcher;
mod noise;
mod record;
mod repeat;
mod routing;
mod suppression;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use fingerprint::Fingerprint;
pub use flapping::{FlapOutcome, FlapPolicy, FlapState};
pub use grouping::{
    GroupBy, GroupDecision, GroupKey, OpenGroup, decide_group, group_key, should_auto_resolve,
};
pub use intake::{
    AlertmanagerWebhook, GenericAlertBatch, PagerDutyEvent, parse_alertmanager, parse_generic,
    parse_pagerduty,
};
pub use matcher::{MatchOp, Matcher, MatcherError, Matchers};
pub use noise::{NoiseMetrics, PipelineOutcome, outcome_of};
pub use record::{
    AcknowledgeRefused, AlertRecord, AlertUpdate, IgnoreReason, UpdateKind, acknowledge,
    apply_signal, signal_time,
};
pub use repeat::ContentDigest;
pub use routing::{
    Fallback, Route, RouteAction, RoutingDecision, UrgencyMap, default_incident_impact, route,
    validate_routes,
};
pub use suppression::{
    AlertView, InhibitRule, MaintenanceSchedule, MaintenanceWindow, MaintenanceWindowId, Silence,
    SilenceId, SilenceState, SuppressedBy, Suppressor, suppression, validate_inhibit_rule,
    validate_maintenance_window, validate_silence,
};

/// A label or annotation set. A sorted map, so that iteration order (and so
/// every hash, key and display built from it) never depends on the order a
/// sender happened to write its JSON in.
pub type Labels = BTreeMap<String, String>;

/// A label set shared between a signal and the record made from it: a
/// batch's records take their signals' labels and annotations without
/// copying every name and value (cloning and then dropping both copies was
/// a tenth of the request threads' work for a batch of new alerts;
/// docs/BENCHMARKS.md, "Alert intake, ninth pass").
pub type SharedLabels = std::sync::Arc<Labels>;

/// Where an alert stands. Incoming signals carry one of these too: a sender
/// says "firing", "resolved" or (PagerDuty only) "acknowledged".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 3] = [
        AlertStatus::Firing,
        AlertStatus::Acknowledged,
        AlertStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// Firing or acknowledged: the problem is still there.
    pub fn is_active(self) -> bool {
        self != AlertStatus::Resolved
    }
}

str_names!(AlertStatus, "alert status");

/// How bad the sender says it is, on PagerDuty's four-step scale (which the
/// other formats are mapped onto; see [`Severity::from_label`]). Ordered from
/// least to most severe, so `>=` reads as "at least as bad as".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// What an alert without a recognisable severity gets: serious enough to
    /// be looked at, not enough to wake anyone by default.
    pub const DEFAULT: Severity = Severity::Warning;

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Reads the free-form `severity` label Prometheus rules carry. Besides
    /// the four names it accepts the common synonyms (case-insensitive), so a
    /// rule set written for another pager still maps sensibly; anything else
    /// is `None` and the caller falls back to [`Severity::DEFAULT`].
    pub fn from_label(value: &str) -> Option<Severity> {
        let v = value.trim().to_ascii_lowercase();
        Some(match v.as_str() {
            "critical" | "crit" | "page" | "fatal" | "emergency" | "p1" | "sev1" => {
                Severity::Critical
            }
            "error" | "err" | "high" | "major" | "p2" | "sev2" => Severity::Error,
            "warning" | "warn" | "medium" | "minor" | "p3" | "sev3" => Severity::Warning,
            "info" | "information" | "informational" | "low" | "none" | "notice" | "p4" | "p5"
            | "sev4" | "sev5" => Severity::Info,
            _ => return None,
        })
    }
}

str_names!(Severity, "severity");

/// Which intake format a signal came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    Alertmanager,
    PagerDuty,
    Generic,
}

impl SignalSource {
    pub const ALL: [SignalSource; 3] = [
        SignalSource::Alertmanager,
        SignalSource::PagerDuty,
        SignalSource::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalSource::Alertmanager => "alertmanager",
            SignalSource::PagerDuty => "pager_duty",
            SignalSource::Generic => "generic",
        }
    }
}

str_names!(SignalSource, "signal source");

/// One alert as a sender reported it, whatever the format: the single shape
/// the rest of the pipeline works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSignal {
    pub source: SignalSource,
    pub status: AlertStatus,
    /// What identifies the alert and what routing, grouping, silences and
    /// inhibition match on.
    pub labels: SharedLabels,
    /// Free text that describes it (summary, description, runbook URL...);
    /// never part of its identity.
    pub annotations: SharedLabels,
    /// When the problem started, as the sender says; `None` when it did not
    /// say (the pipeline then uses the arrival time).
    pub starts_at: Option<Timestamp>,
    /// When the problem ended; only meaningful for resolved signals.
    pub ends_at: Option<Timestamp>,
    /// The sender's own identity for the alert (PagerDuty `dedup_key`, the
    /// generic schema's `dedup_key`). When present it, not the labels, is
    /// what the fingerprint is made of.
    pub dedup_key: Option<String>,
    /// One line for people: at most [`limits::SUMMARY_MAX_CHARS`] characters.
    pub summary: String,
    pub severity: Severity,
    /// A link back to the sender (Alertmanager `generatorURL`, the first
    /// PagerDuty link, the generic `url`).
    pub url: Option<String>,
}

impl AlertSignal {
    /// The alert's identity; see [`Fingerprint`].
    pub fn fingerprint(&self) -> Fingerprint {
        match &self.dedup_key {
            Some(key) => Fingerprint::of_dedup_key(key),
            None => Fingerprint::of_labels(&self.labels),
        }
    }
}
