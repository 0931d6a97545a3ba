//! Why an alert is stored but nobody is paged: maintenance windows,
//! silences and inhibition.
//!
//! [`suppression`] checks them in this order and reports the first that
//! applies, so the answer is deterministic and the most deliberate reason
//! wins:
//!
//! 1. **maintenance window** of the alert's service: planned work, announced
//!    ahead; the window with the latest end is reported;
//! 2. **silence**: a person muted alerts matching some labels; the active
//!    matching silence with the latest end is reported (ties: lowest id);
//! 3. **inhibition**: another firing alert makes this one redundant
//!    (`NodeDown` inhibits `ServiceDown` on the same node); the first rule
//!    in list order, and within it the source with the lowest fingerprint.
//!
//! Windows and silences are half-open intervals: active from `starts_at`
//! (inclusive) to `ends_at` (exclusive), and they expire by themselves when
//! `now` passes `ends_at`; nothing has to delete them.

use std::collections::HashMap;

use jiff::civil::{self, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::limits::{
    COMMENT_MAX_CHARS, MAINTENANCE_MAX_DURATION_HOURS, MAX_GROUP_BY_LABELS, check_line,
    is_label_name,
};
use super::{Fingerprint, Labels, Matchers};
use crate::calendar::WEEKDAY_NAMES;
use crate::{FieldError, ServiceId, UserId};

/// Id of a silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SilenceId(pub i64);

/// Id of a maintenance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaintenanceWindowId(pub i64);

/// The facts suppression needs about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertView<'a> {
    pub fingerprint: Fingerprint,
    pub labels: &'a Labels,
    /// The service it was routed to.
    pub service: Option<ServiceId>,
}

/// Why an alert is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuppressedBy {
    Maintenance {
        window: MaintenanceWindowId,
        /// When this occurrence of the window ends.
        until: Timestamp,
    },
    Silence {
        silence: SilenceId,
        until: Timestamp,
    },
    Inhibition {
        /// Index of the rule in the list passed in.
        rule: usize,
        /// The firing alert that inhibits this one.
        source: Fingerprint,
    },
}

// ---------------------------------------------------------------------------
// Silences
// ---------------------------------------------------------------------------

/// Mutes alerts that match its matchers from `starts_at` until `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: SilenceId,
    pub matchers: Matchers,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: UserId,
    pub comment: String,
}

/// Where a silence stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    Active,
    /// Ended (by time, or because someone set `ends_at` to now).
    Expired,
}

impl SilenceState {
    pub const ALL: [SilenceState; 3] = [
        SilenceState::Pending,
        SilenceState::Active,
        SilenceState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

str_names!(SilenceState, "silence state");

impl Silence {
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// `starts_at <= now < ends_at`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.state(now) == SilenceState::Active
    }

    /// Whether it mutes an alert with `labels` at `now`.
    pub fn mutes(&self, labels: &Labels, now: Timestamp) -> bool {
        self.is_active(now) && self.matchers.matches(labels)
    }
}

/// Every problem with a silence being created or changed at `now`:
/// `matchers` (none, or all matching the empty value, which would mute
/// everything), `ends_at` (not after `starts_at`, or already past), and
/// `comment` (empty or too long). A silence may start in the past.
pub fn validate_silence(silence: &Silence, now: Timestamp) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if silence.matchers.is_empty() {
        errors.push(FieldError::new(
            "matchers",
            "must have at least one matcher",
        ));
    } else if silence.matchers.matches_empty_alert() {
        errors.push(FieldError::new(
            "matchers",
            "at least one matcher must not match the empty value, or the silence would mute every alert",
        ));
    }
    if silence.ends_at <= silence.starts_at {
        errors.push(FieldError::new("ends_at", "must be after starts_at"));
    } else if silence.ends_at <= now {
        errors.push(FieldError::new("ends_at", "must be in the future"));
    }
    check_line(
        "comment",
        &silence.comment,
        COMMENT_MAX_CHARS,
        true,
        &mut errors,
    );
    errors
}

// ---------------------------------------------------------------------------
// Maintenance windows
// ---------------------------------------------------------------------------

/// Planned work on a service: its alerts are stored but page nobody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: MaintenanceWindowId,
    pub service: ServiceId,
    pub schedule: MaintenanceSchedule,
    #[serde(default)]
    pub comment: String,
}

/// When a maintenance window is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaintenanceSchedule {
    /// Once, `[starts_at, ends_at)`.
    OneOff {
        starts_at: Timestamp,
        ends_at: Timestamp,
    },
    /// On the given weekdays at a local wall time, for a fixed elapsed
    /// duration; see [`MaintenanceSchedule::occurrence_at`] for DST.
    Weekly {
        /// IANA name, e.g. `Europe/Berlin`.
        time_zone: String,
        #[serde(with = "weekday_names")]
        days: Vec<Weekday>,
        start: civil::Time,
        duration: SignedDuration,
    },
}

impl MaintenanceSchedule {
    /// The occurrence `[start, end)` that contains `now`, if any.
    ///
    /// A weekly window starts at its local wall time on each listed day.
    /// When a DST change makes that wall time impossible (a gap) it starts at
    /// the transition itself; when it happens twice (a fold) it starts at the
    /// first. The window then lasts `duration` of real elapsed time, so a
    /// 01:00 + 3 h window on the night clocks spring forward ends at 05:00
    /// local (3 real hours), not 04:00. An unknown zone name never matches
    /// (validation refuses it first).
    pub fn occurrence_at(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match self {
            MaintenanceSchedule::OneOff { starts_at, ends_at } => {
                (*starts_at <= now && now < *ends_at).then_some((*starts_at, *ends_at))
            }
            MaintenanceSchedule::Weekly {
                time_zone,
                days,
                start,
                duration,
            } => {
                let tz = lookup_zone(time_zone)?;
                weekly_occurrence_at(&tz, days, *start, *duration, now)
            }
        }
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.occurrence_at(now).is_some()
    }
}

fn lookup_zone(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("UTC") {
        Some(TimeZone::UTC)
    } else {
        TimeZone::get(name).ok()
    }
}

fn weekly_occurrence_at(
    tz: &TimeZone,
    days: &[Weekday],
    start: civil::Time,
    duration: SignedDuration,
    now: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    if !duration.is_positive() || days.is_empty() {
        return None;
    }
    // Any occurrence containing `now` started at most `duration` before it;
    // durations are at most a week, so the local dates from eight days back
    // cover every candidate (one extra day for offsets and DST shifts).
    let today = tz.to_datetime(now).date();
    let lookback = duration.as_hours() / 24 + 2;
    let mut date = today;
    let mut found: Option<(Timestamp, Timestamp)> = None;
    for _ in 0..=lookback {
        if days.contains(&date.weekday()) {
            let begin = local_instant(tz, date.to_datetime(start));
            if let Some(begin) = begin
                && begin <= now
                && let Ok(end) = begin.checked_add(duration)
                && now < end
            {
                // Several overlapping occurrences: report the one ending last.
                if found.is_none_or(|(_, e)| end > e) {
                    found = Some((begin, end));
                }
            }
        }
        match date.yesterday() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    found
}

/// The instant of a local wall time: gap → the transition, fold → the
/// earlier instant (the same rules as business calendars).
fn local_instant(tz: &TimeZone, dt: civil::DateTime) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { before, after } => {
            // Read with the later offset the wall time lies before the
            // transition, so the next transition is the one that made the gap.
            let early = after.to_timestamp(dt).ok()?;
            tz.following(early)
                .next()
                .map(|t| t.timestamp())
                .or_else(|| before.to_timestamp(dt).ok())
        }
        AmbiguousOffset::Fold { before, after } => {
            let a = before.to_timestamp(dt).ok()?;
            let b = after.to_timestamp(dt).ok()?;
            Some(a.min(b))
        }
    }
}

/// Every problem with a maintenance window: `schedule.ends_at` (not after
/// `starts_at`), `schedule.time_zone` (unknown), `schedule.days` (none or
/// repeated), `schedule.duration` (not positive or longer than a week),
/// `comment` (too long).
pub fn validate_maintenance_window(window: &MaintenanceWindow) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match &window.schedule {
        MaintenanceSchedule::OneOff { starts_at, ends_at } => {
            if ends_at <= starts_at {
                errors.push(FieldError::new(
                    "schedule.ends_at",
                    "must be after starts_at",
                ));
            }
        }
        MaintenanceSchedule::Weekly {
            time_zone,
            days,
            duration,
            ..
        } => {
            if lookup_zone(time_zone).is_none() {
                errors.push(FieldError::new(
                    "schedule.time_zone",
                    format!("unknown IANA time zone {time_zone:?}"),
                ));
            }
            if days.is_empty() {
                errors.push(FieldError::new(
                    "schedule.days",
                    "must name at least one day",
                ));
            }
            for (i, d) in days.iter().enumerate() {
                if days[..i].contains(d) {
                    errors.push(FieldError::new(
                        format!("schedule.days[{i}]"),
                        "repeats an earlier day",
                    ));
                }
            }
            let max = SignedDuration::from_hours(MAINTENANCE_MAX_DURATION_HOURS);
            if !duration.is_positive() {
                errors.push(FieldError::new(
                    "schedule.duration",
                    "must be longer than zero",
                ));
            } else if *duration > max {
                errors.push(FieldError::new(
                    "schedule.duration",
                    format!("must be at most {MAINTENANCE_MAX_DURATION_HOURS} hours"),
                ));
            }
        }
    }
    check_line(
        "comment",
        &window.comment,
        COMMENT_MAX_CHARS,
        false,
        &mut errors,
    );
    errors
}

mod weekday_names {
    use super::{WEEKDAY_NAMES, Weekday};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|d| {
            let i = usize::try_from(d.to_monday_zero_offset()).unwrap_or(0);
            WEEKDAY_NAMES[i % 7]
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| {
                WEEKDAY_NAMES
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case(n))
                    .and_then(|i| Weekday::from_monday_zero_offset(i as i8).ok())
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "{n:?} is not a weekday; expected one of: {}",
                            WEEKDAY_NAMES.join(", ")
                        ))
                    })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Inhibition
// ---------------------------------------------------------------------------

/// While an alert matching `source` fires, alerts matching `target` that
/// have the same values for every `equal` label are inhibited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InhibitRule {
    pub source: Matchers,
    pub target: Matchers,
    /// Labels whose values must be equal on source and target. A label both
    /// lack counts as equal (both are `""`), as in Alertmanager.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Whether `source` (a firing alert) inhibits `target` under this rule.
    /// An alert never inhibits itself, even when it matches both sides.
    pub fn inhibits(&self, source: &AlertView<'_>, target: &AlertView<'_>) -> bool {
        self.target.matches(target.labels) && self.source_side(source, target)
    }

    /// [`Self::inhibits`] once the target side is known to match.
    fn source_side(&self, source: &AlertView<'_>, target: &AlertView<'_>) -> bool {
        source.fingerprint != target.fingerprint
            && self.equal.iter().all(|name| {
                source.labels.get(name).map_or("", String::as_str)
                    == target.labels.get(name).map_or("", String::as_str)
            })
            && self.source.matches(source.labels)
    }
}

/// Every problem with an inhibition rule: `source` and `target` must not be
/// empty (an empty side would match everything), `equal[i]` must be label
/// names.
pub fn validate_inhibit_rule(rule: &InhibitRule) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if rule.source.is_empty() {
        errors.push(FieldError::new("source", "must have at least one matcher"));
    }
    if rule.target.is_empty() {
        errors.push(FieldError::new("target", "must have at least one matcher"));
    }
    if rule.equal.len() > MAX_GROUP_BY_LABELS {
        errors.push(FieldError::new(
            "equal",
            format!(
                "has {} labels; the limit is {MAX_GROUP_BY_LABELS}",
                rule.equal.len()
            ),
        ));
    }
    for (i, name) in rule.equal.iter().enumerate() {
        if !is_label_name(name) {
            errors.push(FieldError::new(
                format!("equal[{i}]"),
                format!("{name:?} is not a valid label name"),
            ));
        }
    }
    errors
}

// ---------------------------------------------------------------------------
// All together
// ---------------------------------------------------------------------------

/// Why `alert` is suppressed at `now`, or `None` when it should be acted on.
/// For many alerts against the same inputs, [`Suppressor`] gives the same
/// answers much faster; this function is the plain statement of the rule.
///
/// `windows` may hold other services' windows (they are skipped); an alert
/// without a service is in no window. `firing` are the alerts currently
/// firing (acknowledged counts as firing), the candidates to inhibit; the
/// alert itself may be among them.
pub fn suppression(
    alert: &AlertView<'_>,
    silences: &[Silence],
    windows: &[MaintenanceWindow],
    inhibitions: &[InhibitRule],
    firing: &[AlertView<'_>],
    now: Timestamp,
) -> Option<SuppressedBy> {
    if let Some(service) = alert.service
        && let Some((window, until)) = windows
            .iter()
            .filter(|w| w.service == service)
            .filter_map(|w| w.schedule.occurrence_at(now).map(|(_, end)| (w.id, end)))
            .max_by_key(|&(id, end)| (end, std::cmp::Reverse(id)))
    {
        return Some(SuppressedBy::Maintenance { window, until });
    }

    if let Some(s) = silences
        .iter()
        .filter(|s| s.mutes(alert.labels, now))
        .max_by_key(|s| (s.ends_at, std::cmp::Reverse(s.id)))
    {
        return Some(SuppressedBy::Silence {
            silence: s.id,
            until: s.ends_at,
        });
    }

    for (i, rule) in inhibitions.iter().enumerate() {
        // The target side is cheap to test once; skip the sources otherwise.
        if !rule.target.matches(alert.labels) {
            continue;
        }
        if let Some(source) = firing
            .iter()
            .filter(|src| rule.source_side(src, alert))
            .map(|src| src.fingerprint)
            .min()
        {
            return Some(SuppressedBy::Inhibition { rule: i, source });
        }
    }
    None
}

/// [`suppression`] prepared for a batch: the same answers, but the work that
/// does not depend on the alert is done once.
///
/// Building it evaluates every window at `now` (one entry per service),
/// keeps only the active silences (sorted so the first match is the one to
/// report) and indexes the firing alerts of each inhibition rule by the
/// values of its `equal` labels. Checking an alert then costs a look at the
/// active silences plus one hash lookup per rule, instead of a pass over
/// every firing alert per rule: with 10 rules and 1,000 firing alerts that is
/// the difference between microseconds and a millisecond per alert.
#[derive(Debug, Clone)]
pub struct Suppressor<'a> {
    now: Timestamp,
    windows: HashMap<ServiceId, (MaintenanceWindowId, Timestamp)>,
    silences: Vec<&'a Silence>,
    rules: Vec<PreparedRule<'a>>,
}

#[derive(Debug, Clone)]
struct PreparedRule<'a> {
    rule: &'a InhibitRule,
    /// `equal` values (encoded by [`equal_key`]) → the two lowest distinct
    /// fingerprints of firing alerts matching the source side; two, so that
    /// an alert that is itself the lowest source still finds the next one.
    sources: HashMap<String, (Fingerprint, Option<Fingerprint>)>,
}

impl<'a> Suppressor<'a> {
    pub fn new(
        silences: &'a [Silence],
        windows: &[MaintenanceWindow],
        inhibitions: &'a [InhibitRule],
        firing: &[AlertView<'_>],
        now: Timestamp,
    ) -> Self {
        let mut by_service: HashMap<ServiceId, (MaintenanceWindowId, Timestamp)> = HashMap::new();
        for w in windows {
            if let Some((_, end)) = w.schedule.occurrence_at(now) {
                let entry = by_service.entry(w.service).or_insert((w.id, end));
                // Latest end wins, ties to the lowest id.
                if (end, std::cmp::Reverse(w.id)) > (entry.1, std::cmp::Reverse(entry.0)) {
                    *entry = (w.id, end);
                }
            }
        }

        let mut active: Vec<&Silence> = silences.iter().filter(|s| s.is_active(now)).collect();
        active.sort_by_key(|s| (std::cmp::Reverse(s.ends_at), s.id));

        let rules = inhibitions
            .iter()
            .map(|rule| {
                let mut sources: HashMap<String, (Fingerprint, Option<Fingerprint>)> =
                    HashMap::new();
                for src in firing.iter().filter(|s| rule.source.matches(s.labels)) {
                    let fp = src.fingerprint;
                    sources
                        .entry(equal_key(&rule.equal, src.labels))
                        .and_modify(|(first, second)| {
                            if fp < *first {
                                *second = Some(*first);
                                *first = fp;
                            } else if fp != *first && second.is_none_or(|s| fp < s) {
                                *second = Some(fp);
                            }
                        })
                        .or_insert((fp, None));
                }
                PreparedRule { rule, sources }
            })
            .collect();

        Suppressor {
            now,
            windows: by_service,
            silences: active,
            rules,
        }
    }

    /// The same answer as [`suppression`] with the inputs given to
    /// [`Suppressor::new`].
    pub fn check(&self, alert: &AlertView<'_>) -> Option<SuppressedBy> {
        if let Some(&(window, until)) = alert.service.and_then(|s| self.windows.get(&s)) {
            return Some(SuppressedBy::Maintenance { window, until });
        }
        if let Some(s) = self
            .silences
            .iter()
            .find(|s| s.matchers.matches(alert.labels))
        {
            return Some(SuppressedBy::Silence {
                silence: s.id,
                until: s.ends_at,
            });
        }
        for (i, prepared) in self.rules.iter().enumerate() {
            if prepared.sources.is_empty() || !prepared.rule.target.matches(alert.labels) {
                continue;
            }
            let key = equal_key(&prepared.rule.equal, alert.labels);
            let source = match prepared.sources.get(&key) {
                Some(&(first, _)) if first != alert.fingerprint => Some(first),
                Some(&(_, second)) => second,
                None => None,
            };
            if let Some(source) = source {
                return Some(SuppressedBy::Inhibition { rule: i, source });
            }
        }
        None
    }

    /// The instant the suppressor was prepared for.
    pub fn now(&self) -> Timestamp {
        self.now
    }
}

/// The values of the `equal` labels (missing = `""`), each prefixed with its
/// length so that no two different value lists encode alike.
fn equal_key(equal: &[String], labels: &Labels) -> String {
    use std::fmt::Write;
    let mut key = String::new();
    for name in equal {
        let value = labels.get(name).map_or("", String::as_str);
        let _ = write!(key, "{}:{value}", value.len());
    }
    key
}
