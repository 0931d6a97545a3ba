//! The configuration shapes of calendars as the API and config files see
//! them: times as `"09:00"`, the end of the day as `"24:00"`.
//!
//! ```json
//! {
//!   "time_zone": "Europe/Berlin",
//!   "hours": { "monday": [{ "start": "08:00", "end": "12:00" },
//!                         { "start": "13:00", "end": "17:00" }] },
//!   "holidays": [{ "date": "2026-12-25" },
//!                { "range": { "start": "2026-12-28", "end": "2026-12-31" } },
//!                { "yearly": { "month": 1, "day": 1 } }]
//! }
//! ```
//!
//! Deserializing checks only the syntax; [`BusinessCalendar::new`] (or
//! [`CalendarConfig::build`]) checks the rules and names each bad field.

use jiff::civil::{Date, Time};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{BusinessCalendar, Holiday, WeeklyHours};
use crate::FieldError;

/// One working interval of a day, local wall time. An `end` of 00:00
/// means 24:00 (see [`WeeklyHours`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: Time,
    pub end: Time,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntervalRepr {
    start: String,
    end: String,
}

/// Formats `HH:MM`, or `HH:MM:SS` when there are seconds.
fn format_time(t: Time, is_end: bool) -> String {
    if is_end && t == Time::midnight() {
        return "24:00".to_string();
    }
    if t.second() == 0 && t.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

/// Parses `HH:MM` or `HH:MM:SS`; `24:00` only where an end is expected.
pub(crate) fn parse_time(s: &str, is_end: bool) -> Result<Time, String> {
    let bad = || format!("invalid time {s:?}: expected HH:MM or HH:MM:SS");
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let num = |p: &str| p.parse::<i8>().map_err(|_| bad());
    let (h, m) = (num(parts[0])?, num(parts[1])?);
    let sec = match parts.get(2) {
        Some(p) => num(p)?,
        None => 0,
    };
    if h == 24 && m == 0 && sec == 0 {
        return if is_end {
            Ok(Time::midnight())
        } else {
            Err(format!("{s:?} is only valid as the end of an interval"))
        };
    }
    Time::new(h, m, sec, 0).map_err(|_| bad())
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        IntervalRepr {
            start: format_time(self.start, false),
            end: format_time(self.end, true),
        }
        .serialize(ser)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let r = IntervalRepr::deserialize(de)?;
        Ok(Interval {
            start: parse_time(&r.start, false).map_err(D::Error::custom)?,
            end: parse_time(&r.end, true).map_err(D::Error::custom)?,
        })
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct WeeklyRepr {
    monday: Vec<Interval>,
    tuesday: Vec<Interval>,
    wednesday: Vec<Interval>,
    thursday: Vec<Interval>,
    friday: Vec<Interval>,
    saturday: Vec<Interval>,
    sunday: Vec<Interval>,
}

fn to_intervals(day: &[(Time, Time)]) -> Vec<Interval> {
    day.iter()
        .map(|&(start, end)| Interval { start, end })
        .collect()
}

fn from_intervals(day: Vec<Interval>) -> Vec<(Time, Time)> {
    day.into_iter().map(|i| (i.start, i.end)).collect()
}

impl Serialize for WeeklyHours {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        WeeklyRepr {
            monday: to_intervals(&self.monday),
            tuesday: to_intervals(&self.tuesday),
            wednesday: to_intervals(&self.wednesday),
            thursday: to_intervals(&self.thursday),
            friday: to_intervals(&self.friday),
            saturday: to_intervals(&self.saturday),
            sunday: to_intervals(&self.sunday),
        }
        .serialize(ser)
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let r = WeeklyRepr::deserialize(de)?;
        Ok(WeeklyHours {
            monday: from_intervals(r.monday),
            tuesday: from_intervals(r.tuesday),
            wednesday: from_intervals(r.wednesday),
            thursday: from_intervals(r.thursday),
            friday: from_intervals(r.friday),
            saturday: from_intervals(r.saturday),
            sunday: from_intervals(r.sunday),
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum HolidayRepr {
    Date(Date),
    Range { start: Date, end: Date },
    Yearly { month: i8, day: i8 },
}

impl Serialize for Holiday {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match *self {
            Holiday::Date(d) => HolidayRepr::Date(d),
            Holiday::Range { start, end } => HolidayRepr::Range { start, end },
            Holiday::Yearly { month, day } => HolidayRepr::Yearly { month, day },
        }
        .serialize(ser)
    }
}

impl<'de> Deserialize<'de> for Holiday {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Ok(match HolidayRepr::deserialize(de)? {
            HolidayRepr::Date(d) => Holiday::Date(d),
            HolidayRepr::Range { start, end } => Holiday::Range { start, end },
            HolidayRepr::Yearly { month, day } => Holiday::Yearly { month, day },
        })
    }
}

/// A calendar as written in config or sent to the API, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    pub time_zone: String,
    #[serde(default)]
    pub hours: WeeklyHours,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

impl CalendarConfig {
    /// Validates into a calendar; errors name their fields.
    pub fn build(self) -> Result<BusinessCalendar, Vec<FieldError>> {
        BusinessCalendar::new(&self.time_zone, self.hours, self.holidays)
    }
}

impl BusinessCalendar {
    /// The configuration this calendar was built from (days sorted).
    pub fn to_config(&self) -> CalendarConfig {
        CalendarConfig {
            time_zone: self.tz_name.clone(),
            hours: self.weekly_hours(),
            holidays: self.holidays.clone(),
        }
    }
}

impl Serialize for BusinessCalendar {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        self.to_config().serialize(ser)
    }
}

impl<'de> Deserialize<'de> for BusinessCalendar {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        CalendarConfig::deserialize(de)?.build().map_err(|errs| {
            let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
            D::Error::custom(msgs.join("; "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    #[test]
    fn times_parse_and_format() {
        assert_eq!(parse_time("09:00", false), Ok(time(9, 0, 0, 0)));
        assert_eq!(parse_time("24:00", true), Ok(Time::midnight()));
        assert!(parse_time("24:00", false).is_err());
        assert!(parse_time("9:00", false).is_err());
        assert!(parse_time("25:00", true).is_err());
        assert_eq!(format_time(Time::midnight(), true), "24:00");
        assert_eq!(format_time(Time::midnight(), false), "00:00");
        assert_eq!(format_time(time(8, 30, 15, 0), false), "08:30:15");
    }

    #[test]
    fn config_json_round_trip() {
        let json = r#"{
            "time_zone": "Europe/Berlin",
            "hours": {"monday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "24:00"}]},
            "holidays": [{"date": "2026-12-25"},
                         {"range": {"start": "2026-12-28", "end": "2026-12-31"}},
                         {"yearly": {"month": 1, "day": 1}}]
        }"#;
        let cfg: CalendarConfig = serde_json::from_str(json).expect("parses");
        assert_eq!(cfg.hours.monday[1], (time(13, 0, 0, 0), Time::midnight()));
        let cal = cfg.clone().build().expect("valid");
        let back: CalendarConfig =
            serde_json::from_value(serde_json::to_value(&cal).expect("serializes"))
                .expect("parses");
        assert_eq!(back, cfg);
        let text = serde_json::to_string(&cal).expect("serializes");
        assert!(text.contains(r#""end":"24:00""#), "{text}");
    }

    #[test]
    fn deserializing_an_invalid_calendar_fails_with_the_field() {
        let json = r#"{"time_zone": "Mars/Olympus", "hours": {"monday": [{"start": "08:00", "end": "12:00"}]}}"#;
        let err = serde_json::from_str::<BusinessCalendar>(json).expect_err("invalid");
        assert!(err.to_string().contains("time_zone"), "{err}");
    }
}
