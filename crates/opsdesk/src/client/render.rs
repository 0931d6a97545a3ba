//! Text output: re-indented JSON, small tables, times and short summaries.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

/// Pretty-prints JSON text without reordering anything: the server's
/// document as sent, only re-indented (two spaces, like serde_json's pretty
/// printer). The input must be valid JSON.
pub fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut indent = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, indent: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent * 2));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|c| matches!(c, '}' | ']')) {
                    out.push(close);
                } else {
                    indent += 1;
                    newline(&mut out, indent);
                }
            }
            '}' | ']' => {
                indent = indent.saturating_sub(1);
                newline(&mut out, indent);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, indent);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// A field as display text: strings bare, null/absent as "-".
pub fn text(v: &Value, key: &str) -> String {
    scalar(v.get(key).unwrap_or(&Value::Null))
}

pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_string(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// An RFC 3339 time in the local zone, to the minute ("2026-01-31 09:00").
pub fn time(v: &Value) -> String {
    format_time(v, "%Y-%m-%d %H:%M")
}

/// As [`time`], to the second and naming the zone.
pub fn time_long(v: &Value) -> String {
    format_time(v, "%Y-%m-%d %H:%M:%S %Z")
}

fn format_time(v: &Value, format: &str) -> String {
    match v.as_str() {
        None => "-".to_string(),
        Some(s) => match s.parse::<Timestamp>() {
            Ok(ts) => ts
                .to_zoned_datetime(TimeZone::system())
                .strftime(format)
                .to_string(),
            Err(_) => s.to_string(),
        },
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with "…". Line
/// breaks become spaces so one row stays one line.
pub fn truncate(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let keep = max.saturating_sub(1);
    let mut cut: String = flat.chars().take(keep).collect();
    cut.push('…');
    cut
}

/// The terminal width from `COLUMNS`, else a conservative 100.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100)
}

/// Renders rows under a header, columns padded to their widest cell. The
/// column `flex` (if any) is truncated so a row fits in `width`.
pub fn table(header: &[&str], rows: &[Vec<String>], flex: Option<usize>, width: usize) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    if let Some(f) = flex.filter(|f| *f < columns) {
        let others: usize = widths
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != f)
            .map(|(_, w)| w + 2)
            .sum();
        let room = width
            .saturating_sub(others)
            .clamp(header[f].chars().count().max(20), 80);
        widths[f] = widths[f].min(room);
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate().take(columns) {
            let cell = truncate(&cell, widths[i]);
            l.push_str(&cell);
            if i + 1 < columns {
                l.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().map(|h| h.to_string()));
    for row in rows {
        line(&mut row.iter().cloned());
    }
    out
}

/// One line about an audit event's data, e.g. "new → in_progress (acknowledge)".
pub fn event_summary(kind: &str, data: &Value) -> String {
    let Some(map) = data.as_object() else {
        return scalar(data);
    };
    let mut parts = Vec::new();
    if kind == "ticket.transitioned" {
        parts.push(format!(
            "{} → {} ({})",
            text(data, "from"),
            text(data, "to"),
            text(data, "action")
        ));
    }
    let source = if kind == "ticket.updated" {
        data.get("changes")
            .and_then(Value::as_object)
            .unwrap_or(map)
    } else {
        map
    };
    for (key, value) in source {
        if kind == "ticket.transitioned" && matches!(key.as_str(), "from" | "to" | "action") {
            continue;
        }
        if kind == "ticket.created" && matches!(key.as_str(), "description" | "title") {
            continue;
        }
        match value {
            Value::Null | Value::Bool(false) => {}
            Value::Object(o) if o.contains_key("from") && o.contains_key("to") => {
                let (from, to) = (scalar(&o["from"]), scalar(&o["to"]));
                if from != to {
                    parts.push(format!("{key}: {from} → {to}"));
                }
            }
            Value::Array(a) if a.is_empty() => {}
            Value::Object(_) => parts.push(format!("{key}={value}")),
            Value::Array(_) if !a_is_scalar(value) => parts.push(format!("{key}={value}")),
            other => parts.push(format!("{key}={}", scalar(other))),
        }
    }
    parts.join("; ")
}

fn a_is_scalar(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().all(|x| !x.is_object() && !x.is_array()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_keeps_order_and_strings() {
        let raw = r#"{"z":1,"a":[],"s":"x, {y}: \"q\"","o":{"k":[1,2]},"e":{}}"#;
        let p = pretty(raw);
        assert_eq!(
            p,
            "{\n  \"z\": 1,\n  \"a\": [],\n  \"s\": \"x, {y}: \\\"q\\\"\",\n  \"o\": {\n    \"k\": [\n      1,\n      2\n    ]\n  },\n  \"e\": {}\n}"
        );
        let back: Value = serde_json::from_str(&p).expect("valid");
        assert_eq!(back, serde_json::from_str::<Value>(raw).expect("valid"));
    }

    #[test]
    fn pretty_matches_serde_json_for_reordered_free_documents() {
        let v = json!({"a": [1, {"b": null, "c": "d\\\"e"}], "f": true});
        assert_eq!(
            pretty(&v.to_string()),
            serde_json::to_string_pretty(&v).expect("json")
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("Drucker im Büro brennt", 10), "Drucker i…");
        assert_eq!(truncate("two\nlines", 20), "two lines");
    }

    #[test]
    fn tables_pad_and_truncate_the_flexible_column() {
        let rows = vec![vec![
            "INC-1".into(),
            "a very long title that goes on and on and on".into(),
            "x".into(),
        ]];
        let t = table(&["NUMBER", "TITLE", "Z"], &rows, Some(1), 40);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], format!("NUMBER  TITLE{}Z", " ".repeat(26)));
        assert_eq!(lines[1], "INC-1   a very long title that goes …  x");
        assert!(lines.iter().all(|l| l.chars().count() <= 40));
    }

    #[test]
    fn event_summaries() {
        let d = json!({"action": "hold", "from": "in_progress", "to": "on_hold", "on_hold_reason": "awaiting_customer", "note": null});
        assert_eq!(
            event_summary("ticket.transitioned", &d),
            "in_progress → on_hold (hold); on_hold_reason=awaiting_customer"
        );
        let d = json!({"changes": {"title": {"from": "a", "to": "b"}}});
        assert_eq!(event_summary("ticket.updated", &d), "title: a → b");
    }
}
