//! The per-alert state machine.
//!
//! An [`AlertRecord`] is what we know about one fingerprint; [`apply_signal`]
//! says what a new signal does to it. Senders retry, resend and deliver out
//! of order (Alertmanager resends firing alerts every `repeat_interval`, and
//! two Alertmanager replicas may race), so the machine compares the time
//! each signal is *about* ([`signal_time`]) with what the record already
//! knows:
//!
//! | record \ signal | firing at T | acknowledged | resolved at E |
//! |---|---|---|---|
//! | none | **new** | ignored (unknown) | ignored (unknown) |
//! | firing since S | repeat | **acknowledged** | **resolved** if E ≥ S, else ignored (stale) |
//! | acknowledged since S | repeat (stays acknowledged) | repeat | **resolved** if E ≥ S, else ignored (stale) |
//! | resolved at R, since S | **reopened** if T > R, else ignored (stale) | ignored (stale) | repeat if E ≥ S, else ignored (stale) |
//!
//! * A repeat adds one to `count` and sets `last_seen`; nothing else moves.
//!   Applying the same signal twice is therefore a repeat the second time,
//!   differing only in `count` and `last_seen`.
//! * An ignored signal changes nothing, not even `count`.
//! * Only firing signals update the descriptive fields (labels, annotations,
//!   summary, severity, url): a PagerDuty `resolve` carries none of them and
//!   must not blank them.
//! * Times a sender puts in the future are clamped to `now`, so a sender
//!   with a fast clock cannot make a record claim the future or make every
//!   later signal look stale.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AlertSignal, AlertStatus, Fingerprint, Severity, SharedLabels, SignalSource};

/// What we know about one alert (one fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub fingerprint: Fingerprint,
    pub source: SignalSource,
    pub status: AlertStatus,
    pub labels: SharedLabels,
    pub annotations: SharedLabels,
    pub summary: String,
    pub severity: Severity,
    pub dedup_key: Option<String>,
    pub url: Option<String>,
    /// When we first received it (arrival time, ours).
    pub first_seen: Timestamp,
    /// When we last received a signal that was not ignored.
    pub last_seen: Timestamp,
    /// When the current occurrence started (the sender's time, clamped).
    pub started_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    /// When the current occurrence ended; `None` while firing.
    pub resolved_at: Option<Timestamp>,
    /// Signals applied (new, repeats and state changes), ignored ones not.
    pub count: u64,
    /// 1 plus the number of reopenings.
    pub occurrences: u32,
}

/// Why a signal changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// An acknowledge or resolve for an alert we have no record of.
    UnknownAlert,
    /// About an earlier moment than what the record already knows.
    Stale,
}

/// The result of applying a signal; each variant but `Ignored` carries the
/// record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertUpdate {
    New(AlertRecord),
    Repeat(AlertRecord),
    Acknowledged(AlertRecord),
    Resolved(AlertRecord),
    /// Was resolved, fires again: a new occurrence.
    Reopened(AlertRecord),
    /// Keep the existing record (if any) as it is.
    Ignored(IgnoreReason),
}

/// Which of [`AlertUpdate`]'s cases an update is, without its record: for
/// deciding on an update whose record has been taken to be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    New,
    Repeat,
    Acknowledged,
    Resolved,
    Reopened,
    Ignored,
}

impl UpdateKind {
    /// As [`AlertUpdate::starts_firing`].
    pub fn starts_firing(self) -> bool {
        matches!(self, UpdateKind::New | UpdateKind::Reopened)
    }
}

impl AlertUpdate {
    /// Which case this is.
    pub fn kind(&self) -> UpdateKind {
        match self {
            AlertUpdate::New(_) => UpdateKind::New,
            AlertUpdate::Repeat(_) => UpdateKind::Repeat,
            AlertUpdate::Acknowledged(_) => UpdateKind::Acknowledged,
            AlertUpdate::Resolved(_) => UpdateKind::Resolved,
            AlertUpdate::Reopened(_) => UpdateKind::Reopened,
            AlertUpdate::Ignored(_) => UpdateKind::Ignored,
        }
    }

    /// The record to store; `None` for ignored signals.
    pub fn record(&self) -> Option<&AlertRecord> {
        match self {
            AlertUpdate::New(r)
            | AlertUpdate::Repeat(r)
            | AlertUpdate::Acknowledged(r)
            | AlertUpdate::Resolved(r)
            | AlertUpdate::Reopened(r) => Some(r),
            AlertUpdate::Ignored(_) => None,
        }
    }

    /// Takes the record out; `None` for ignored signals.
    pub fn into_record(self) -> Option<AlertRecord> {
        match self {
            AlertUpdate::New(r)
            | AlertUpdate::Repeat(r)
            | AlertUpdate::Acknowledged(r)
            | AlertUpdate::Resolved(r)
            | AlertUpdate::Reopened(r) => Some(r),
            AlertUpdate::Ignored(_) => None,
        }
    }

    /// Whether the alert began to fire (new or reopened): the only updates
    /// that can lead to a page.
    pub fn starts_firing(&self) -> bool {
        self.kind().starts_firing()
    }
}

/// The moment a signal is about: a firing signal's `starts_at`, a resolved
/// signal's `ends_at`, else (and for acknowledgements) `now`; never later
/// than `now`.
pub fn signal_time(signal: &AlertSignal, now: Timestamp) -> Timestamp {
    let said = match signal.status {
        AlertStatus::Firing => signal.starts_at,
        AlertStatus::Resolved => signal.ends_at,
        AlertStatus::Acknowledged => None,
    };
    said.map_or(now, |t| t.min(now))
}

/// Applies `signal` to the record of its alert (`existing`, `None` when
/// there is none yet) at `now`. The caller looks the record up by
/// `signal.fingerprint()`; see the module docs for the rules.
pub fn apply_signal(
    existing: Option<&AlertRecord>,
    signal: &AlertSignal,
    now: Timestamp,
) -> AlertUpdate {
    let at = signal_time(signal, now);
    let Some(old) = existing else {
        return match signal.status {
            AlertStatus::Firing => AlertUpdate::New(AlertRecord {
                fingerprint: signal.fingerprint(),
                source: signal.source,
                status: AlertStatus::Firing,
                labels: signal.labels.clone(),
                annotations: signal.annotations.clone(),
                summary: signal.summary.clone(),
                severity: signal.severity,
                dedup_key: signal.dedup_key.clone(),
                url: signal.url.clone(),
                first_seen: now,
                last_seen: now,
                started_at: at,
                acknowledged_at: None,
                resolved_at: None,
                count: 1,
                occurrences: 1,
            }),
            AlertStatus::Acknowledged | AlertStatus::Resolved => {
                AlertUpdate::Ignored(IgnoreReason::UnknownAlert)
            }
        };
    };

    let mut rec = old.clone();
    rec.count = rec.count.saturating_add(1);
    rec.last_seen = now;
    match (old.status, signal.status) {
        (AlertStatus::Firing | AlertStatus::Acknowledged, AlertStatus::Firing) => {
            describe(&mut rec, signal);
            AlertUpdate::Repeat(rec)
        }
        (AlertStatus::Firing, AlertStatus::Acknowledged) => {
            rec.status = AlertStatus::Acknowledged;
            rec.acknowledged_at = Some(now);
            AlertUpdate::Acknowledged(rec)
        }
        (AlertStatus::Acknowledged, AlertStatus::Acknowledged) => AlertUpdate::Repeat(rec),
        (AlertStatus::Firing | AlertStatus::Acknowledged, AlertStatus::Resolved) => {
            if at < old.started_at {
                return AlertUpdate::Ignored(IgnoreReason::Stale);
            }
            rec.status = AlertStatus::Resolved;
            rec.resolved_at = Some(at);
            AlertUpdate::Resolved(rec)
        }
        (AlertStatus::Resolved, AlertStatus::Firing) => {
            let resolved_at = old.resolved_at.unwrap_or(old.started_at);
            if at <= resolved_at {
                return AlertUpdate::Ignored(IgnoreReason::Stale);
            }
            rec.status = AlertStatus::Firing;
            rec.started_at = at;
            rec.resolved_at = None;
            rec.acknowledged_at = None;
            rec.occurrences = rec.occurrences.saturating_add(1);
            describe(&mut rec, signal);
            AlertUpdate::Reopened(rec)
        }
        (AlertStatus::Resolved, AlertStatus::Acknowledged) => {
            AlertUpdate::Ignored(IgnoreReason::Stale)
        }
        (AlertStatus::Resolved, AlertStatus::Resolved) => {
            if at < old.started_at {
                return AlertUpdate::Ignored(IgnoreReason::Stale);
            }
            AlertUpdate::Repeat(rec)
        }
    }
}

/// Why a person cannot acknowledge an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgeRefused {
    /// Its occurrence is over; if it fires again it is a new one, which
    /// can be acknowledged then.
    #[error("the alert is resolved; only a firing alert can be acknowledged")]
    Resolved,
}

/// A person acknowledging an alert (from the API, the CLI or the web
/// page), as opposed to a sender's acknowledge signal: `Ok(true)` when a
/// firing alert becomes acknowledged, `Ok(false)` when it already is
/// (acknowledging twice is not an error, so a retried request is
/// harmless). Only the status and `acknowledged_at` move: `count` and
/// `last_seen` count signals, and this is not one. Later firing signals
/// are repeats that leave it acknowledged, as in the table above.
pub fn acknowledge(status: AlertStatus) -> Result<bool, AcknowledgeRefused> {
    match status {
        AlertStatus::Firing => Ok(true),
        AlertStatus::Acknowledged => Ok(false),
        AlertStatus::Resolved => Err(AcknowledgeRefused::Resolved),
    }
}

/// Copies the descriptive fields of a firing signal.
fn describe(rec: &mut AlertRecord, signal: &AlertSignal) {
    if rec.labels != signal.labels {
        rec.labels = signal.labels.clone();
    }
    if rec.annotations != signal.annotations {
        rec.annotations = signal.annotations.clone();
    }
    if rec.summary != signal.summary {
        rec.summary = signal.summary.clone();
    }
    rec.severity = signal.severity;
    rec.url = signal.url.clone();
}
