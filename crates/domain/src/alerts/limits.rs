//! Explicit limits on alert intake and alert configuration.
//!
//! A monitoring system in trouble is exactly when a sender floods us, so every
//! collection a client controls has a ceiling, checked before anything is
//! stored. The numbers are generous for real Prometheus rule sets and tight
//! enough that one request cannot make us hash or store megabytes per alert.

use crate::FieldError;
use std::fmt::Display;

/// Largest request body the intake parsers accept, in bytes. The edge should
/// refuse larger bodies before reading them; this is the domain's backstop.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most alerts in one request (Alertmanager batch, generic batch).
pub const MAX_ALERTS_PER_BATCH: usize = 1000;
/// Most labels on one alert.
pub const MAX_LABELS_PER_ALERT: usize = 64;
/// Most annotations on one alert.
pub const MAX_ANNOTATIONS_PER_ALERT: usize = 64;
/// Longest label or annotation name, in bytes.
pub const LABEL_NAME_MAX_BYTES: usize = 128;
/// Longest label value, in bytes. Labels are identity and are matched on
/// often; long text belongs in annotations.
pub const LABEL_VALUE_MAX_BYTES: usize = 1024;
/// Longest annotation value, in bytes.
pub const ANNOTATION_VALUE_MAX_BYTES: usize = 16 * 1024;
/// Longest summary, in characters: PagerDuty's own limit.
pub const SUMMARY_MAX_CHARS: usize = 1024;
/// Longest dedup key, in bytes: PagerDuty's own limit.
pub const DEDUP_KEY_MAX_BYTES: usize = 255;
/// Longest URL kept from a sender, in bytes.
pub const URL_MAX_BYTES: usize = 2048;
/// Most `links` (and most `images`) on a PagerDuty event.
pub const MAX_LINKS: usize = 32;
/// Longest PagerDuty `custom_details`, serialized, in bytes.
pub const CUSTOM_DETAILS_MAX_BYTES: usize = 16 * 1024;
/// Most matchers in one matcher list (silence, route, inhibition side).
pub const MAX_MATCHERS: usize = 32;
/// Longest matcher value (plain or regex), in bytes.
pub const MATCHER_VALUE_MAX_BYTES: usize = 1024;
/// Compiled-size ceiling for a matcher regex, so a pathological pattern is
/// refused at parse time instead of slowing every alert down.
pub const MATCHER_REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Most labels in a `group_by` or an inhibition `equal` list.
pub const MAX_GROUP_BY_LABELS: usize = 16;
/// Most routes an integration may have.
pub const MAX_ROUTES: usize = 256;
/// Longest silence or maintenance comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 1024;
/// Longest a recurring maintenance window may last. Keeping it under a week
/// keeps "is it active now" a look at the last eight local days.
pub const MAINTENANCE_MAX_DURATION_HOURS: i64 = 7 * 24;

/// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
/// Alertmanager, Prometheus and our matchers all rely on this, so a name that
/// breaks it could never be matched on.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks a label set; errors name `{field}` for the set as a whole and
/// `{field}.{name}` for one value.
pub fn check_labels(
    field: &(impl Display + ?Sized),
    labels: &super::Labels,
    errors: &mut Vec<FieldError>,
) {
    check_map(
        field,
        labels,
        MAX_LABELS_PER_ALERT,
        LABEL_VALUE_MAX_BYTES,
        "labels",
        errors,
    );
}

/// Checks an annotation set, like [`check_labels`] with larger values.
pub fn check_annotations(
    field: &(impl Display + ?Sized),
    annotations: &super::Labels,
    errors: &mut Vec<FieldError>,
) {
    check_map(
        field,
        annotations,
        MAX_ANNOTATIONS_PER_ALERT,
        ANNOTATION_VALUE_MAX_BYTES,
        "annotations",
        errors,
    );
}

fn check_map(
    field: &(impl Display + ?Sized),
    map: &super::Labels,
    max_entries: usize,
    max_value: usize,
    what: &str,
    errors: &mut Vec<FieldError>,
) {
    if map.len() > max_entries {
        errors.push(FieldError::new(
            field.to_string(),
            format!("has {} {what}; the limit is {max_entries}", map.len()),
        ));
        // Checking each of thousands of entries would only bury this error.
        return;
    }
    for (name, value) in map {
        if name.len() > LABEL_NAME_MAX_BYTES {
            errors.push(FieldError::new(
                field.to_string(),
                format!(
                    "a name is {} bytes long; the limit is {LABEL_NAME_MAX_BYTES}",
                    name.len()
                ),
            ));
        } else if !is_label_name(name) {
            errors.push(FieldError::new(
                field.to_string(),
                format!("{name:?} is not a valid name (use letters, digits and '_', not starting with a digit)"),
            ));
        }
        if value.len() > max_value {
            errors.push(FieldError::new(
                format!("{field}.{}", safe_name(name)),
                format!(
                    "is {} bytes long; the limit is {max_value} bytes",
                    value.len()
                ),
            ));
        } else if value.contains('\0') {
            // PostgreSQL text cannot hold NUL; refuse it on both backends.
            errors.push(FieldError::new(
                format!("{field}.{}", safe_name(name)),
                "must not contain NUL characters",
            ));
        }
    }
}

/// A name fit to put into a field path: over-long or invalid names were
/// already reported, so cut them short rather than echo a megabyte back.
fn safe_name(name: &str) -> String {
    if name.len() <= LABEL_NAME_MAX_BYTES {
        name.to_string()
    } else {
        let mut end = LABEL_NAME_MAX_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &name[..end])
    }
}

/// Checks a single free-text field that must be one line of at most
/// `max_chars` characters (summaries, comments).
pub fn check_line(
    field: &(impl Display + ?Sized),
    value: &str,
    max_chars: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field.to_string(), "must not be empty"));
        return;
    }
    let chars = value.chars().count();
    if chars > max_chars {
        errors.push(FieldError::new(
            field.to_string(),
            format!("is {chars} characters long; the limit is {max_chars}"),
        ));
    } else if value.contains('\0') {
        errors.push(FieldError::new(
            field.to_string(),
            "must not contain NUL characters",
        ));
    }
}

/// `value` cut to at most `max_chars` characters, first line only: derived
/// summaries (taken from a description) must fit the summary limit.
pub fn first_line_truncated(value: &str, max_chars: usize) -> String {
    let line = value.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(max_chars) {
        Some((end, _)) => line[..end].to_string(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_follow_prometheus() {
        for ok in ["a", "_", "job", "__name__", "A9_z"] {
            assert!(is_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a.b", "a:b", "é", " a"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn truncation_counts_characters_and_keeps_first_line() {
        assert_eq!(first_line_truncated("ééé\nsecond", 2), "éé");
        assert_eq!(first_line_truncated("  short  ", 10), "short");
        assert_eq!(first_line_truncated("", 10), "");
    }

    #[test]
    fn map_errors_name_the_value() {
        let mut labels = crate::alerts::Labels::new();
        labels.insert("ok".into(), "x".repeat(LABEL_VALUE_MAX_BYTES + 1));
        labels.insert("bad-name".into(), "v".into());
        let mut errors = Vec::new();
        check_labels("alerts[2].labels", &labels, &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["alerts[2].labels", "alerts[2].labels.ok"]);
    }
}
