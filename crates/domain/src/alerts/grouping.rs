//! Grouping alerts into incidents.
//!
//! Alerts that share a service and the values of the route's `group_by`
//! labels share a [`GroupKey`]; [`decide_group`] puts an alert into the open
//! incident of its key, or says to open a new one. So "50 pods of checkout
//! are down" is one incident with 50 alerts, not 50 pages.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AlertStatus, Fingerprint, Labels};
use crate::{ServiceId, TicketId};

/// Which labels make alerts belong together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// The values of these labels. The empty list puts every alert of the
    /// service into one group.
    Labels(Vec<String>),
    /// Every label: each distinct alert is its own group, i.e. no grouping.
    /// Written `["..."]`, as in Alertmanager.
    All,
}

impl Default for GroupBy {
    /// `["alertname"]`: one incident per kind of problem and service.
    fn default() -> Self {
        GroupBy::Labels(vec!["alertname".to_string()])
    }
}

impl Serialize for GroupBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            GroupBy::Labels(names) => names.serialize(serializer),
            GroupBy::All => ["..."].serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for GroupBy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        if names.iter().any(|n| n == "...") {
            if names.len() == 1 {
                Ok(GroupBy::All)
            } else {
                Err(serde::de::Error::custom(
                    "\"...\" (group by every label) must be the only entry of group_by",
                ))
            }
        } else {
            Ok(GroupBy::Labels(names))
        }
    }
}

/// The identity of a group: service plus the grouping labels' values, as
/// canonical text such as `service=7 {alertname="DiskFull", cluster="eu"}`.
/// Labels an alert lacks, or has empty, are left out (in Prometheus an empty
/// label is an absent one), so alerts without `cluster` share a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupKey(pub String);

impl GroupKey {
    /// A fixed-size digest of the key for an index column; the text itself
    /// can be several kilobytes for wide `group_by` lists.
    pub fn digest(&self) -> Fingerprint {
        Fingerprint::of_dedup_key(&self.0)
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The group key of an alert with `labels` routed to `service`.
pub fn group_key(service: ServiceId, group_by: &GroupBy, labels: &Labels) -> GroupKey {
    use std::fmt::Write;
    let mut out = format!("service={service} {{");
    let mut first = true;
    let mut push = |name: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        let _ = write!(out, "{name}=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    };
    match group_by {
        GroupBy::All => {
            for (name, value) in labels {
                push(name, value);
            }
        }
        GroupBy::Labels(names) => {
            // Sorted and deduplicated, so ["b","a","a"] and ["a","b"] give
            // the same key.
            let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                push(name, labels.get(name).map_or("", String::as_str));
            }
        }
    }
    out.push('}');
    GroupKey(out)
}

/// An incident that alerts of a group have been put into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGroup {
    pub key: GroupKey,
    pub incident: TicketId,
    pub opened_at: Timestamp,
    /// The incident is resolved (or closed); it takes no new alerts.
    pub resolved: bool,
}

/// Where a new or reopened alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupDecision {
    /// Add the alert to this incident; nobody is paged again for it.
    Join(TicketId),
    /// Open a new incident for the alert's group.
    OpenNew,
}

/// Joins the alert to the newest unresolved incident with its key, if there
/// is one that is still inside the group window; otherwise opens a new one.
///
/// * A resolved incident never takes new alerts: a problem that comes back
///   after resolution is a new incident (linked by the caller if it wants).
/// * With a window `w`, an incident takes alerts only until
///   `opened_at + w` (exclusive), so a long-running incident does not
///   swallow unrelated alerts days later; without a window it takes them for
///   as long as it is open.
/// * Several candidates (possible after a window ran out and a new incident
///   opened while the old one stayed open): the most recently opened wins,
///   ties broken by the higher incident id, whatever order `groups` has.
pub fn decide_group(
    key: &GroupKey,
    window: Option<SignedDuration>,
    groups: &[OpenGroup],
    now: Timestamp,
) -> GroupDecision {
    groups
        .iter()
        .filter(|g| !g.resolved && g.key == *key)
        .filter(|g| match window {
            None => true,
            Some(w) => g
                .opened_at
                .checked_add(w)
                .map_or(true, |closes| now < closes),
        })
        .max_by_key(|g| (g.opened_at, g.incident))
        .map_or(GroupDecision::OpenNew, |g| GroupDecision::Join(g.incident))
}

/// Whether an incident should resolve itself: only when the service opted in
/// (`enabled`), the incident has alerts, and every one of them is resolved.
/// An acknowledged alert is still a problem, so it keeps the incident open.
pub fn should_auto_resolve(enabled: bool, alerts: impl IntoIterator<Item = AlertStatus>) -> bool {
    if !enabled {
        return false;
    }
    let mut any = false;
    for status in alerts {
        if status != AlertStatus::Resolved {
            return false;
        }
        any = true;
    }
    any
}
