//! SLA in the terminal: a ticket's clocks in a column or a block, and the
//! compliance report.

use super::render::{scalar, table, terminal_width, text, time};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// "2d 3h", "2h 5m", "5m", "40s": the two largest units, enough to act on.
pub fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs();
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn instant(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// The SLA column of a ticket list, from the ticket's `sla` summary: time
/// left, how long overdue, or the state when no clock is running.
pub fn summary_cell(ticket: &Value, now: Timestamp) -> String {
    let sla = &ticket["sla"];
    let status = sla["status"].as_str().unwrap_or("-");
    match (status, instant(&sla["due_at"])) {
        ("running" | "breached", Some(due)) if due > now => {
            format!("in {}", human(now.duration_until(due)))
        }
        ("running" | "breached", Some(due)) => {
            format!("overdue {}", human(due.duration_until(now)))
        }
        ("not_started", _) => "-".into(),
        (other, _) => other.into(),
    }
}

/// One line per clock for `ticket show`.
pub fn clock_lines(clocks: &Value, now: Timestamp) -> Vec<String> {
    let Some(clocks) = clocks.as_array() else {
        return vec![];
    };
    clocks
        .iter()
        .map(|c| {
            let target = SignedDuration::from_secs(c["target_seconds"].as_i64().unwrap_or(0));
            let elapsed = SignedDuration::from_secs(c["elapsed_seconds"].as_i64().unwrap_or(0));
            let state = text(c, "state");
            let detail = match state.as_str() {
                "running" => match instant(&c["due_at"]) {
                    Some(due) => format!(
                        "due {} (in {})",
                        time(&c["due_at"]),
                        human(now.duration_until(due))
                    ),
                    None => "running".into(),
                },
                "paused" => format!(
                    "paused with {} left",
                    human(SignedDuration::from_secs(
                        c["remaining_seconds"].as_i64().unwrap_or(0)
                    ))
                ),
                "met" => format!("met at {}", time(&c["stopped_at"])),
                "breached" => format!("breached at {}", time(&c["breached_at"])),
                _ => "not started".into(),
            };
            format!(
                "{:<15}{:<9}{detail}; {} of {} used  [{}]",
                text(c, "metric"),
                state,
                human(elapsed),
                human(target),
                text(c, "policy_name"),
            )
        })
        .collect()
}

/// The compliance report as a table.
pub fn report_table(report: &Value) -> String {
    let rows: Vec<Vec<String>> = report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                text(r, "label"),
                text(r, "metric"),
                scalar(&r["met"]),
                scalar(&r["breached"]),
                scalar(&r["in_progress"]),
                match r["compliance_percent"].as_f64() {
                    Some(p) => format!("{p:.1}%"),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    let mut out = format!(
        "SLA compliance of {} tickets opened {} to {}, by {}:\n",
        scalar(&report["tickets"]),
        time(&report["from"]),
        time(&report["to"]),
        text(report, "group_by"),
    );
    if rows.is_empty() {
        out.push_str("No ticket in the period is covered by an SLA policy.\n");
    } else {
        out.push_str(&table(
            &[
                "GROUP",
                "METRIC",
                "MET",
                "BREACHED",
                "IN PROGRESS",
                "COMPLIANCE",
            ],
            &rows,
            Some(0),
            terminal_width(),
        ));
    }
    out
}

/// `1h`, `30m`, `2d`, `90s` or anything the API takes (seconds, ISO 8601).
pub fn duration_arg(s: &str) -> Result<String, String> {
    let s = s.trim();
    let unit = |suffix: char, secs: i64| -> Option<String> {
        let n: i64 = s.strip_suffix(suffix)?.trim().parse().ok()?;
        Some((n * secs).to_string())
    };
    if let Some(seconds) = unit('s', 1)
        .or_else(|| unit('m', 60))
        .or_else(|| unit('h', 3600))
        .or_else(|| unit('d', 86_400))
    {
        return Ok(seconds);
    }
    if s.parse::<i64>().is_ok() || s.parse::<SignedDuration>().is_ok() {
        return Ok(s.to_string());
    }
    Err(format!(
        "'{s}' is not a duration; use e.g. 90s, 30m, 1h, 2d, 3600 or PT1H"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_as_the_two_largest_units() {
        for (secs, shown) in [
            (0, "0s"),
            (45, "45s"),
            (300, "5m"),
            (3600, "1h"),
            (7500, "2h 5m"),
            (86_400, "1d"),
            (3 * 86_400 + 5 * 3600 + 120, "3d 5h"),
            (-600, "10m"),
        ] {
            assert_eq!(human(SignedDuration::from_secs(secs)), shown, "{secs}");
        }
    }

    #[test]
    fn the_list_column_says_time_left_or_overdue() {
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let cell = |sla: Value| summary_cell(&json!({ "sla": sla }), now);
        assert_eq!(
            cell(json!({"status": "running", "due_at": "2026-03-02T12:30:00Z"})),
            "in 2h 30m"
        );
        assert_eq!(
            cell(json!({"status": "breached", "due_at": "2026-03-02T09:45:00Z"})),
            "overdue 15m"
        );
        assert_eq!(
            cell(json!({"status": "breached", "due_at": null})),
            "breached"
        );
        assert_eq!(cell(json!({"status": "paused", "due_at": null})), "paused");
        assert_eq!(cell(json!({"status": "met", "due_at": null})), "met");
        assert_eq!(cell(Value::Null), "-");
    }

    #[test]
    fn duration_flags_take_units_seconds_and_iso_8601() {
        assert_eq!(duration_arg("1h").unwrap(), "3600");
        assert_eq!(duration_arg("30m").unwrap(), "1800");
        assert_eq!(duration_arg("2d").unwrap(), "172800");
        assert_eq!(duration_arg("3600").unwrap(), "3600");
        assert_eq!(duration_arg("PT1H").unwrap(), "PT1H");
        assert!(duration_arg("soon").is_err());
    }
}
