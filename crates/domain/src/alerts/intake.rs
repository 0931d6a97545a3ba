//! The three intake formats and their conversion to [`AlertSignal`].
//!
//! Each body is first deserialized leniently (every field has a default, and
//! statuses and times are kept as text), then checked field by field, so a
//! bad body is answered with *every* problem, each naming its JSON path
//! (`alerts[3].labels`, `payload.summary`), instead of serde's first error.
//! Only malformed JSON or a wrong JSON type is reported against `body`.
//!
//! A body is accepted whole or refused whole: the conversion returns either
//! all signals or only errors, so the edge never stores half a batch.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::limits::{
    self, CUSTOM_DETAILS_MAX_BYTES, DEDUP_KEY_MAX_BYTES, LABEL_VALUE_MAX_BYTES,
    MAX_ALERTS_PER_BATCH, MAX_BODY_BYTES, MAX_LINKS, SUMMARY_MAX_CHARS, URL_MAX_BYTES,
};
use super::{AlertSignal, AlertStatus, Labels, Severity, SharedLabels, SignalSource};
use crate::FieldError;
use std::fmt::{self, Display};

/// A field of the `i`-th alert of a batch, as errors name it
/// (`alerts[3].labels`). Written out only when there is an error to
/// report, so checking a valid alert builds no text.
#[derive(Debug, Clone, Copy)]
struct AlertField {
    index: usize,
    name: &'static str,
}

impl Display for AlertField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alerts[{}].{}", self.index, self.name)
    }
}

// ---------------------------------------------------------------------------
// Alertmanager webhook, version 4
// ---------------------------------------------------------------------------

/// The body Prometheus Alertmanager posts to a webhook receiver
/// (`"version": "4"`). Field names are Alertmanager's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    #[serde(default)]
    pub version: String,
    /// Alertmanager's key for the notification group; kept for display only
    /// (our own grouping uses [`super::GroupKey`]).
    #[serde(default)]
    pub group_key: String,
    /// How many alerts Alertmanager left out because of its `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` when at least one alert of the group fires.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: Labels,
    #[serde(default)]
    pub common_labels: Labels,
    #[serde(default)]
    pub common_annotations: Labels,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    #[serde(default)]
    pub alerts: Vec<AlertmanagerAlert>,
}

/// One alert in an Alertmanager webhook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// RFC 3339.
    #[serde(default)]
    pub starts_at: String,
    /// RFC 3339; Go's zero time `0001-01-01T00:00:00Z` for firing alerts.
    #[serde(default)]
    pub ends_at: String,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's own fingerprint. Ignored: ours is computed the same way
    /// for every format (see [`super::Fingerprint`]).
    #[serde(default)]
    pub fingerprint: String,
}

impl AlertmanagerWebhook {
    /// Every problem with the body; empty means [`Self::to_signals`]
    /// succeeds.
    pub fn validate(&self) -> Vec<FieldError> {
        self.to_signals().err().unwrap_or_default()
    }

    /// One signal per alert, in order; or every problem found. See
    /// [`Self::into_signals`], which avoids copying the labels.
    pub fn to_signals(&self) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
        self.clone().into_signals()
    }

    /// One signal per alert, in order; or every problem found.
    ///
    /// Alertmanager alerts carry no dedup key: the label set is the identity.
    /// The summary is the first line of the `summary`, `message` or
    /// `description` annotation, else the `alertname` label; the severity
    /// comes from the `severity` label (see [`Severity::from_label`]).
    pub fn into_signals(self) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.version != "4" {
            errors.push(FieldError::new(
                "version",
                format!(
                    "{:?} is not supported; Alertmanager webhook version \"4\" is",
                    self.version
                ),
            ));
        }
        if !matches!(self.status.as_str(), "firing" | "resolved") {
            errors.push(FieldError::new(
                "status",
                format!("{:?} is not one of: firing, resolved", self.status),
            ));
        }
        convert_batch(
            self.alerts,
            " (lower max_alerts in the Alertmanager receiver)",
            errors,
            alertmanager_alert,
        )
    }
}

/// Converts every alert of a batch, collecting every problem: the batch is
/// refused whole when there is any (`errors` may already hold some from the
/// envelope) or when it has more than [`MAX_ALERTS_PER_BATCH`] alerts
/// (`hint` says how the sender can stay under the limit).
fn convert_batch<A>(
    alerts: Vec<A>,
    hint: &str,
    mut errors: Vec<FieldError>,
    convert: impl Fn(usize, A, &mut Vec<FieldError>) -> Option<AlertSignal>,
) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
    if alerts.len() > MAX_ALERTS_PER_BATCH {
        errors.push(FieldError::new(
            "alerts",
            format!(
                "has {} alerts; the limit is {MAX_ALERTS_PER_BATCH}{hint}",
                alerts.len()
            ),
        ));
        return Err(errors);
    }
    let mut signals = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.into_iter().enumerate() {
        if let Some(signal) = convert(i, alert, &mut errors) {
            signals.push(signal);
        }
    }
    if errors.is_empty() {
        Ok(signals)
    } else {
        Err(errors)
    }
}

fn alertmanager_alert(
    i: usize,
    alert: AlertmanagerAlert,
    errors: &mut Vec<FieldError>,
) -> Option<AlertSignal> {
    let before = errors.len();
    let field = |name: &'static str| AlertField { index: i, name };
    let status = match alert.status.as_str() {
        "firing" => Some(AlertStatus::Firing),
        "resolved" => Some(AlertStatus::Resolved),
        other => {
            errors.push(FieldError::new(
                field("status").to_string(),
                format!("{other:?} is not one of: firing, resolved"),
            ));
            None
        }
    };
    if alert.labels.is_empty() {
        errors.push(FieldError::new(
            field("labels").to_string(),
            "must not be empty: labels are what identifies an alert",
        ));
    }
    limits::check_labels(&field("labels"), &alert.labels, errors);
    limits::check_annotations(&field("annotations"), &alert.annotations, errors);
    let starts_at = parse_time(&field("startsAt"), &alert.starts_at, errors);
    let ends_at = parse_time(&field("endsAt"), &alert.ends_at, errors);
    check_url(&field("generatorURL"), &alert.generator_url, errors);
    let status = status?;
    if errors.len() > before {
        return None;
    }
    let summary = ["summary", "message", "description"]
        .iter()
        .find_map(|k| alert.annotations.get(*k).filter(|v| !v.trim().is_empty()))
        .or_else(|| alert.labels.get("alertname"))
        .map(|s| limits::first_line_truncated(s, SUMMARY_MAX_CHARS))
        .unwrap_or_default();
    let url = non_empty(&alert.generator_url);
    Some(AlertSignal {
        source: SignalSource::Alertmanager,
        status,
        severity: severity_from_labels(&alert.labels),
        labels: SharedLabels::new(alert.labels),
        annotations: SharedLabels::new(alert.annotations),
        starts_at,
        // A firing alert's endsAt is only Alertmanager's guess of when it
        // would time out; it is not an end.
        ends_at: if status == AlertStatus::Resolved {
            ends_at
        } else {
            None
        },
        dedup_key: None,
        summary,
        url,
    })
}

// ---------------------------------------------------------------------------
// PagerDuty Events API v2
// ---------------------------------------------------------------------------

/// A PagerDuty Events API v2 event (`POST /v2/enqueue`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyEvent {
    /// The integration key the event is for.
    #[serde(default)]
    pub routing_key: String,
    /// `trigger`, `acknowledge` or `resolve`.
    #[serde(default)]
    pub event_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// Required for `trigger`, ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PagerDutyPayload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerDutyImage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerDutyLink>,
}

/// What a `trigger` is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyPayload {
    #[serde(default)]
    pub summary: String,
    /// The affected system (host name, service...).
    #[serde(default)]
    pub source: String,
    /// `critical`, `error`, `warning` or `info`.
    #[serde(default)]
    pub severity: String,
    /// RFC 3339; when the problem was detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Any JSON; kept as text in the `custom_details` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyLink {
    #[serde(default)]
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyImage {
    #[serde(default)]
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

impl PagerDutyEvent {
    /// Every problem with the event; empty means [`Self::to_signal`]
    /// succeeds.
    pub fn validate(&self) -> Vec<FieldError> {
        self.to_signal().err().unwrap_or_default()
    }

    /// The event as a signal, or every problem found.
    ///
    /// A `trigger` becomes a firing signal whose labels are the payload's
    /// `source`, `severity`, `component`, `group` and `class` (those given),
    /// so routes and silences can match on them; `acknowledge` and `resolve`
    /// carry only the dedup key and a status. A `trigger` without `dedup_key`
    /// is identified by those labels: PagerDuty would instead make up a new
    /// key, so an edge that wants that behaviour sets a fresh `dedup_key`
    /// before converting (and returns it to the sender).
    pub fn to_signal(&self) -> Result<AlertSignal, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.routing_key.trim().is_empty() {
            errors.push(FieldError::new("routing_key", "must not be empty"));
        } else if self.routing_key.len() > DEDUP_KEY_MAX_BYTES {
            errors.push(FieldError::new(
                "routing_key",
                format!("is longer than {DEDUP_KEY_MAX_BYTES} bytes"),
            ));
        }
        let status = match self.event_action.as_str() {
            "trigger" => Some(AlertStatus::Firing),
            "acknowledge" => Some(AlertStatus::Acknowledged),
            "resolve" => Some(AlertStatus::Resolved),
            other => {
                errors.push(FieldError::new(
                    "event_action",
                    format!("{other:?} is not one of: trigger, acknowledge, resolve"),
                ));
                None
            }
        };
        match &self.dedup_key {
            Some(key) => check_dedup_key("dedup_key", key, &mut errors),
            None if matches!(
                status,
                Some(AlertStatus::Acknowledged | AlertStatus::Resolved)
            ) =>
            {
                errors.push(FieldError::new(
                    "dedup_key",
                    format!("is required to {} an alert", self.event_action.as_str()),
                ));
            }
            None => {}
        }
        if let Some(url) = &self.client_url {
            check_url("client_url", url, &mut errors);
        }
        if self
            .client
            .as_ref()
            .is_some_and(|c| c.len() > URL_MAX_BYTES)
        {
            errors.push(FieldError::new(
                "client",
                format!("is longer than {URL_MAX_BYTES} bytes"),
            ));
        }
        if self.links.len() > MAX_LINKS {
            errors.push(FieldError::new(
                "links",
                format!("has {} links; the limit is {MAX_LINKS}", self.links.len()),
            ));
        } else {
            for (i, link) in self.links.iter().enumerate() {
                check_url(&format!("links[{i}].href"), &link.href, &mut errors);
            }
        }
        if self.images.len() > MAX_LINKS {
            errors.push(FieldError::new(
                "images",
                format!("has {} images; the limit is {MAX_LINKS}", self.images.len()),
            ));
        } else {
            for (i, image) in self.images.iter().enumerate() {
                check_url(&format!("images[{i}].src"), &image.src, &mut errors);
            }
        }

        let mut labels = Labels::new();
        let mut annotations = Labels::new();
        let mut summary = String::new();
        let mut severity = Severity::DEFAULT;
        let mut starts_at = None;
        if status == Some(AlertStatus::Firing) {
            match &self.payload {
                None => errors.push(FieldError::new(
                    "payload",
                    "is required to trigger an alert",
                )),
                Some(p) => {
                    limits::check_line(
                        "payload.summary",
                        &p.summary,
                        SUMMARY_MAX_CHARS,
                        true,
                        &mut errors,
                    );
                    summary = p.summary.clone();
                    check_label_text("payload.source", &p.source, true, &mut errors);
                    labels.insert("source".into(), p.source.clone());
                    match Severity::ALL.iter().find(|s| s.as_str() == p.severity) {
                        Some(s) => severity = *s,
                        None => errors.push(FieldError::new(
                            "payload.severity",
                            format!(
                                "{:?} is not one of: critical, error, warning, info",
                                p.severity
                            ),
                        )),
                    }
                    labels.insert("severity".into(), p.severity.clone());
                    for (name, value) in [
                        ("component", &p.component),
                        ("group", &p.group),
                        ("class", &p.class),
                    ] {
                        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                            check_label_text(&format!("payload.{name}"), v, false, &mut errors);
                            labels.insert(name.into(), v.to_string());
                        }
                    }
                    if let Some(ts) = &p.timestamp {
                        starts_at = parse_time("payload.timestamp", ts, &mut errors);
                    }
                    annotations.insert("summary".into(), p.summary.clone());
                    if let Some(details) = &p.custom_details {
                        let text = details.to_string();
                        if text.len() > CUSTOM_DETAILS_MAX_BYTES {
                            errors.push(FieldError::new(
                                "payload.custom_details",
                                format!(
                                    "is {} bytes as JSON; the limit is {CUSTOM_DETAILS_MAX_BYTES}",
                                    text.len()
                                ),
                            ));
                        } else {
                            annotations.insert("custom_details".into(), text);
                        }
                    }
                }
            }
        }
        if let Some(client) = self.client.as_ref().filter(|c| !c.is_empty()) {
            annotations.insert("client".into(), client.clone());
        }
        let Some(status) = status else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AlertSignal {
            source: SignalSource::PagerDuty,
            status,
            labels: SharedLabels::new(labels),
            annotations: SharedLabels::new(annotations),
            starts_at,
            ends_at: None,
            dedup_key: self.dedup_key.clone(),
            summary,
            severity,
            url: self
                .links
                .first()
                .and_then(|l| non_empty(&l.href))
                .or_else(|| self.client_url.as_deref().and_then(non_empty)),
        })
    }
}

// ---------------------------------------------------------------------------
// Generic JSON
// ---------------------------------------------------------------------------

/// Our own format for senders that are neither Alertmanager nor PagerDuty
/// (scripts, cron jobs, other monitoring tools): `{"alerts": [...]}`. The
/// schema is documented in `docs/alerts.md`. Unknown fields are refused, so a
/// typo such as `lables` is an error, not a silently empty label set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericAlertBatch {
    #[serde(default)]
    pub alerts: Vec<GenericAlert>,
}

/// One alert in the generic format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericAlert {
    /// `firing` (the default), `acknowledged` or `resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `critical`, `error`, `warning` or `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl GenericAlertBatch {
    /// Every problem with the batch; empty means [`Self::to_signals`]
    /// succeeds.
    pub fn validate(&self) -> Vec<FieldError> {
        self.to_signals().err().unwrap_or_default()
    }

    /// One signal per alert, in order; or every problem found. See
    /// [`Self::into_signals`], which avoids copying the labels.
    pub fn to_signals(&self) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
        self.clone().into_signals()
    }

    /// One signal per alert, in order; or every problem found.
    pub fn into_signals(self) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.alerts.is_empty() {
            errors.push(FieldError::new("alerts", "must contain at least one alert"));
            return Err(errors);
        }
        convert_batch(self.alerts, "", errors, generic_alert)
    }
}

fn generic_alert(
    i: usize,
    alert: GenericAlert,
    errors: &mut Vec<FieldError>,
) -> Option<AlertSignal> {
    let before = errors.len();
    let field = |name: &'static str| AlertField { index: i, name };
    let status = match alert.status.as_deref().unwrap_or("firing") {
        "firing" => Some(AlertStatus::Firing),
        "acknowledged" => Some(AlertStatus::Acknowledged),
        "resolved" => Some(AlertStatus::Resolved),
        other => {
            errors.push(FieldError::new(
                field("status").to_string(),
                format!("{other:?} is not one of: firing, acknowledged, resolved"),
            ));
            None
        }
    };
    if let Some(key) = &alert.dedup_key {
        check_dedup_key(&field("dedup_key"), key, errors);
    } else if alert.labels.is_empty() {
        errors.push(FieldError::new(
            field("labels").to_string(),
            "must not be empty unless dedup_key is given: one of them identifies the alert",
        ));
    }
    limits::check_labels(&field("labels"), &alert.labels, errors);
    limits::check_annotations(&field("annotations"), &alert.annotations, errors);
    let severity = match alert.severity.as_deref() {
        Some(s) => match Severity::ALL.iter().find(|v| v.as_str() == s) {
            Some(v) => *v,
            None => {
                errors.push(FieldError::new(
                    field("severity").to_string(),
                    format!("{s:?} is not one of: critical, error, warning, info"),
                ));
                Severity::DEFAULT
            }
        },
        None => severity_from_labels(&alert.labels),
    };
    let summary = match &alert.summary {
        Some(s) => {
            limits::check_line(&field("summary"), s, SUMMARY_MAX_CHARS, true, errors);
            s.clone()
        }
        None => alert
            .annotations
            .get("summary")
            .or_else(|| alert.labels.get("alertname"))
            .or(alert.dedup_key.as_ref())
            .map(|s| limits::first_line_truncated(s, SUMMARY_MAX_CHARS))
            .unwrap_or_default(),
    };
    let starts_at = alert
        .starts_at
        .as_deref()
        .and_then(|s| parse_time(&field("starts_at"), s, errors));
    let ends_at = alert
        .ends_at
        .as_deref()
        .and_then(|s| parse_time(&field("ends_at"), s, errors));
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e < s
    {
        errors.push(FieldError::new(
            field("ends_at").to_string(),
            format!("{e} is before starts_at {s}"),
        ));
    }
    if let Some(url) = &alert.url {
        check_url(&field("url"), url, errors);
    }
    let status = status?;
    if errors.len() > before {
        return None;
    }
    Some(AlertSignal {
        source: SignalSource::Generic,
        status,
        url: alert.url.as_deref().and_then(non_empty),
        labels: SharedLabels::new(alert.labels),
        annotations: SharedLabels::new(alert.annotations),
        starts_at,
        ends_at: if status == AlertStatus::Resolved {
            ends_at
        } else {
            None
        },
        dedup_key: alert.dedup_key,
        summary,
        severity,
    })
}

// ---------------------------------------------------------------------------
// Whole bodies
// ---------------------------------------------------------------------------

/// Parses and converts an Alertmanager webhook body.
pub fn parse_alertmanager(body: &[u8]) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
    decode::<AlertmanagerWebhook>(body, "an Alertmanager webhook")?.into_signals()
}

/// Parses and converts a PagerDuty Events API v2 body.
pub fn parse_pagerduty(body: &[u8]) -> Result<AlertSignal, Vec<FieldError>> {
    decode::<PagerDutyEvent>(body, "a PagerDuty Events API v2 event")?.to_signal()
}

/// Parses and converts a generic JSON body.
pub fn parse_generic(body: &[u8]) -> Result<Vec<AlertSignal>, Vec<FieldError>> {
    decode::<GenericAlertBatch>(body, "a generic alert batch")?.into_signals()
}

fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, Vec<FieldError>> {
    if body.len() > MAX_BODY_BYTES {
        return Err(vec![FieldError::new(
            "body",
            format!(
                "is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
                body.len()
            ),
        )]);
    }
    serde_json::from_slice(body)
        .map_err(|e| vec![FieldError::new("body", format!("is not {what}: {e}"))])
}

// ---------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------

/// Go's zero time, which Alertmanager writes for "no time".
const GO_ZERO_TIME_SECOND: i64 = -62_135_596_800;

/// An RFC 3339 time; empty text and Go's zero time are "not given".
fn parse_time(
    field: &(impl Display + ?Sized),
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Timestamp> {
    if text.is_empty() {
        return None;
    }
    match text.parse::<Timestamp>() {
        Ok(ts) if ts.as_second() == GO_ZERO_TIME_SECOND => None,
        Ok(ts) => Some(ts),
        Err(e) => {
            errors.push(FieldError::new(
                field.to_string(),
                format!("is not an RFC 3339 time with offset: {e}"),
            ));
            None
        }
    }
}

fn check_dedup_key(field: &(impl Display + ?Sized), key: &str, errors: &mut Vec<FieldError>) {
    if key.is_empty() {
        errors.push(FieldError::new(
            field.to_string(),
            "must not be empty when given",
        ));
    } else if key.len() > DEDUP_KEY_MAX_BYTES {
        errors.push(FieldError::new(
            field.to_string(),
            format!(
                "is {} bytes long; the limit is {DEDUP_KEY_MAX_BYTES}",
                key.len()
            ),
        ));
    } else if key.contains('\0') {
        errors.push(FieldError::new(
            field.to_string(),
            "must not contain NUL characters",
        ));
    }
}

fn check_label_text(
    field: &(impl Display + ?Sized),
    value: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field.to_string(), "must not be empty"));
    } else if value.len() > LABEL_VALUE_MAX_BYTES {
        errors.push(FieldError::new(
            field.to_string(),
            format!(
                "is {} bytes long; the limit is {LABEL_VALUE_MAX_BYTES}",
                value.len()
            ),
        ));
    } else if value.contains('\0') {
        errors.push(FieldError::new(
            field.to_string(),
            "must not contain NUL characters",
        ));
    }
}

fn check_url(field: &(impl Display + ?Sized), url: &str, errors: &mut Vec<FieldError>) {
    if url.len() > URL_MAX_BYTES {
        errors.push(FieldError::new(
            field.to_string(),
            format!("is {} bytes long; the limit is {URL_MAX_BYTES}", url.len()),
        ));
    } else if url.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field.to_string(),
            "must not contain control characters",
        ));
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

fn severity_from_labels(labels: &Labels) -> Severity {
    labels
        .get("severity")
        .and_then(|s| Severity::from_label(s))
        .unwrap_or(Severity::DEFAULT)
}
