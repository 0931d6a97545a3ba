//! Holidays as iCalendar (RFC 5545) files: the format every calendar app,
//! public-holiday feed and HR system can produce.
//!
//! Only all-day `VEVENT`s carry holidays:
//!
//! * `DTSTART;VALUE=DATE:20261225` alone → one date;
//! * with `DTEND;VALUE=DATE` (exclusive, per RFC 5545) → a range when it
//!   covers more than one day;
//! * with `RRULE:FREQ=YEARLY` → a yearly holiday on DTSTART's month and day
//!   (every year; the start year is not kept).
//!
//! Other components (`VTIMEZONE`, `VTODO`, `VALARM` inside an event, …) are
//! ignored, as are unknown properties. Timed events and recurrence rules we
//! cannot represent are errors, not silently dropped holidays. Lines may be
//! folded (CRLF or LF followed by a space or tab).

use jiff::civil::Date;

use super::Holiday;
use crate::FieldError;

const FIELD: &str = "ical";

fn err(line: usize, msg: impl std::fmt::Display) -> FieldError {
    FieldError::new(FIELD, format!("line {line}: {msg}"))
}

/// Unfolds content lines, keeping the number of each logical line's first
/// physical line for error messages.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.1.push_str(rest);
            continue;
        }
        if !raw.trim().is_empty() {
            out.push((i + 1, raw.to_string()));
        }
    }
    out
}

/// `NAME;PARAM=V;...:VALUE` → (upper-case name, upper-case params, value).
fn split_property(line: &str) -> Option<(String, Vec<String>, &str)> {
    // The value starts after the first colon outside a quoted parameter.
    let mut in_quotes = false;
    let colon = line.char_indices().find_map(|(i, c)| match c {
        '"' => {
            in_quotes = !in_quotes;
            None
        }
        ':' if !in_quotes => Some(i),
        _ => None,
    })?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next()?.trim().to_ascii_uppercase();
    let params = parts.map(|p| p.trim().to_ascii_uppercase()).collect();
    Some((name, params, value.trim()))
}

fn parse_date(line: usize, params: &[String], value: &str) -> Result<Date, FieldError> {
    let is_date_param = params.iter().any(|p| p == "VALUE=DATE");
    let b = value.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return Err(if is_date_param || b.len() < 8 {
            err(line, format!("invalid date {value:?}: expected YYYYMMDD"))
        } else {
            err(
                line,
                "only all-day events (DTSTART;VALUE=DATE:YYYYMMDD) can be holidays",
            )
        });
    }
    let num = |r: std::ops::Range<usize>| value[r].parse::<i16>().unwrap_or(-1);
    let (y, m, d) = (num(0..4), num(4..6), num(6..8));
    Date::new(y, m as i8, d as i8).map_err(|_| err(line, format!("no such date {value:?}")))
}

#[derive(Default)]
struct Event {
    line: usize,
    start: Option<Date>,
    end: Option<(usize, Date)>,
    yearly: bool,
}

impl Event {
    fn into_holidays(self, out: &mut Vec<Holiday>) -> Result<(), FieldError> {
        let start = self
            .start
            .ok_or_else(|| err(self.line, "VEVENT without DTSTART"))?;
        let last = match self.end {
            None => start,
            Some((line, end)) => {
                if end <= start {
                    return Err(err(line, "DTEND must be after DTSTART"));
                }
                end.yesterday()
                    .map_err(|_| err(line, "DTEND out of range"))?
            }
        };
        if self.yearly {
            // A multi-day yearly event becomes one yearly holiday per day.
            let mut d = start;
            loop {
                out.push(Holiday::Yearly {
                    month: d.month(),
                    day: d.day(),
                });
                if d >= last {
                    break;
                }
                d = d
                    .tomorrow()
                    .map_err(|_| err(self.line, "date out of range"))?;
                if super::engine::day_number(d) - super::engine::day_number(start) >= 366 {
                    return Err(err(self.line, "a yearly event cannot last a year"));
                }
            }
        } else if last == start {
            out.push(Holiday::Date(start));
        } else {
            out.push(Holiday::Range { start, end: last });
        }
        Ok(())
    }
}

/// Checks that an RRULE means "every year on DTSTART's date" and nothing
/// more, because that is all a [`Holiday::Yearly`] can hold.
fn check_rrule(line: usize, value: &str) -> Result<(), FieldError> {
    let mut yearly = false;
    for part in value.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (k.trim().to_ascii_uppercase().as_str(), v.trim()) {
            ("FREQ", v) if v.eq_ignore_ascii_case("YEARLY") => yearly = true,
            ("INTERVAL", "1") | ("BYMONTH", _) | ("BYMONTHDAY", _) | ("WKST", _) => {}
            _ => {
                return Err(err(
                    line,
                    format!(
                        "unsupported RRULE {value:?}: only FREQ=YEARLY without COUNT/UNTIL is supported"
                    ),
                ));
            }
        }
    }
    if yearly {
        Ok(())
    } else {
        Err(err(
            line,
            format!("unsupported RRULE {value:?}: only FREQ=YEARLY is supported"),
        ))
    }
}

/// Reads the holidays from an iCalendar text; see the module docs.
pub fn holidays_from_ical(text: &str) -> Result<Vec<Holiday>, FieldError> {
    let mut out = Vec::new();
    // Component nesting; properties count only directly inside a VEVENT.
    let mut stack: Vec<String> = Vec::new();
    let mut event: Option<Event> = None;
    let mut saw_calendar = false;
    for (line, content) in unfold(text) {
        let Some((name, params, value)) = split_property(&content) else {
            return Err(err(
                line,
                format!("not an iCalendar content line: {content:?}"),
            ));
        };
        match name.as_str() {
            "BEGIN" => {
                let comp = value.to_ascii_uppercase();
                saw_calendar |= comp == "VCALENDAR";
                if comp == "VEVENT" && stack.last().map(String::as_str) == Some("VCALENDAR") {
                    event = Some(Event {
                        line,
                        ..Event::default()
                    });
                }
                stack.push(comp);
            }
            "END" => {
                let comp = value.to_ascii_uppercase();
                if stack.pop().as_deref() != Some(comp.as_str()) {
                    return Err(err(line, format!("END:{value} does not match its BEGIN")));
                }
                if comp == "VEVENT"
                    && stack.last().map(String::as_str) == Some("VCALENDAR")
                    && let Some(ev) = event.take()
                {
                    ev.into_holidays(&mut out)?;
                }
            }
            _ if stack.last().map(String::as_str) == Some("VEVENT") => {
                if let Some(ev) = event.as_mut() {
                    match name.as_str() {
                        "DTSTART" => ev.start = Some(parse_date(line, &params, value)?),
                        "DTEND" => ev.end = Some((line, parse_date(line, &params, value)?)),
                        "RRULE" => {
                            check_rrule(line, value)?;
                            ev.yearly = true;
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_calendar {
        return Err(FieldError::new(
            FIELD,
            "not an iCalendar file: no BEGIN:VCALENDAR",
        ));
    }
    if let Some(open) = stack.last() {
        return Err(FieldError::new(
            FIELD,
            format!("BEGIN:{open} is never closed"),
        ));
    }
    Ok(out)
}

/// Escapes TEXT values (RFC 5545 §3.3.11).
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded at 75 octets without splitting a UTF-8
/// character, as RFC 5545 §3.1 requires.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn ical_date(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// Writes holidays as all-day VEVENTs that [`holidays_from_ical`] reads back
/// unchanged. Yearly holidays start in 2000 (a leap year, so 29 February
/// works). DTSTAMP and UID are derived from the data, not the clock, so the
/// same holidays always export to the same bytes.
pub fn holidays_to_ical(holidays: &[Holiday], calendar_name: &str) -> String {
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, "PRODID:-//opsdesk//business calendar//EN");
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(
        &mut out,
        &format!("X-WR-CALNAME:{}", escape_text(calendar_name)),
    );
    for (i, h) in holidays.iter().enumerate() {
        let (start, end_excl, yearly) = match *h {
            Holiday::Date(d) => (d, d.tomorrow().ok(), false),
            Holiday::Range { start, end } => (start, end.tomorrow().ok(), false),
            Holiday::Yearly { month, day } => match Date::new(2000, month, day) {
                Ok(d) => (d, d.tomorrow().ok(), true),
                // Not a valid calendar day: validation rejects these, so
                // only hand-built lists reach here; skip rather than lie.
                Err(_) => continue,
            },
        };
        let start_s = ical_date(start);
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:holiday-{i}-{start_s}@opsdesk"));
        push_line(&mut out, &format!("DTSTAMP:{start_s}T000000Z"));
        push_line(&mut out, &format!("DTSTART;VALUE=DATE:{start_s}"));
        if let Some(end) = end_excl {
            push_line(&mut out, &format!("DTEND;VALUE=DATE:{}", ical_date(end)));
        }
        if yearly {
            push_line(&mut out, "RRULE:FREQ=YEARLY");
        }
        push_line(&mut out, "SUMMARY:Holiday");
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_short_and_unfolds_back() {
        let name = "Ümlaut ".repeat(30);
        let text = holidays_to_ical(&[], &name);
        assert!(text.split("\r\n").all(|l| l.len() <= 75));
        let unfolded = unfold(&text);
        let cal_name = unfolded
            .iter()
            .find(|(_, l)| l.starts_with("X-WR-CALNAME"))
            .map(|(_, l)| l.clone());
        assert_eq!(cal_name, Some(format!("X-WR-CALNAME:{name}")));
    }
}
