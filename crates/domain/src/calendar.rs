//! Business calendars: when the SLA clock runs.
//!
//! A [`BusinessCalendar`] is an IANA time zone, weekly working hours (several
//! intervals a day, different per weekday) and holidays. It answers the three
//! questions the SLA engine asks: is this instant business time, what instant
//! is `d` of business time after `start`, and how much business time lies
//! between two instants.
//!
//! Working hours are *wall-clock* hours interpreted in the calendar's zone on
//! each local date. So a 09:00–17:00 day is 8 h of business time on a DST
//! change day too, unless the change falls inside the interval, in which case
//! the real elapsed time counts (a 00:00–24:00 day on the spring-forward day
//! in Europe/Berlin is 23 h; on the fall-back day 25 h). The rules for the
//! wall times that a DST change makes impossible or ambiguous:
//!
//! * a boundary in a *gap* (a wall time that does not exist, e.g. 02:30 on
//!   the spring-forward day) maps to the first instant after the gap, the
//!   transition itself;
//! * a boundary in a *fold* (a wall time that happens twice) maps to the
//!   earlier instant, as jiff's "compatible" disambiguation does.
//!
//! Both rules keep the wall-time → instant mapping monotone, so intervals
//! never overlap in real time and every computation can walk forward.
//! An interval that spans midnight is written as two intervals (22:00–24:00
//! on one day and 00:00–06:00 on the next). Holidays are whole local dates
//! with no business time.
//!
//! Everything here is pure: no clock, no I/O (time zone data is looked up
//! once, when the calendar is built).

mod engine;
mod ical;
mod serde_impl;

use jiff::civil::{self, Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::FieldError;

pub use ical::{holidays_from_ical, holidays_to_ical};
pub use serde_impl::{CalendarConfig, Interval};

/// The weekday field names, Monday first, used in error messages and serde.
pub const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Working hours per weekday as local wall-clock intervals `(start, end)`.
///
/// An `end` of `00:00` means 24:00, the end of the day (serialized as
/// `"24:00"`): `civil::Time` cannot hold 24:00 and an interval that *ends* at
/// the start of its own day would be empty, so the reading is unambiguous.
/// Intervals must not overlap and must have `start < end`; they may be given
/// in any order and touch each other. Night shifts are two intervals on two
/// days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    pub monday: Vec<(Time, Time)>,
    pub tuesday: Vec<(Time, Time)>,
    pub wednesday: Vec<(Time, Time)>,
    pub thursday: Vec<(Time, Time)>,
    pub friday: Vec<(Time, Time)>,
    pub saturday: Vec<(Time, Time)>,
    pub sunday: Vec<(Time, Time)>,
}

impl WeeklyHours {
    /// The same single interval Monday to Friday, nothing at the weekend:
    /// the common office calendar.
    pub fn office(start: Time, end: Time) -> Self {
        let day = vec![(start, end)];
        Self {
            monday: day.clone(),
            tuesday: day.clone(),
            wednesday: day.clone(),
            thursday: day.clone(),
            friday: day,
            saturday: Vec::new(),
            sunday: Vec::new(),
        }
    }

    /// Every day, all day.
    pub fn all_week() -> Self {
        let day = vec![(Time::midnight(), Time::midnight())];
        Self {
            monday: day.clone(),
            tuesday: day.clone(),
            wednesday: day.clone(),
            thursday: day.clone(),
            friday: day.clone(),
            saturday: day.clone(),
            sunday: day,
        }
    }

    /// The days as an array, Monday first, so code can loop over them.
    pub fn days(&self) -> [&Vec<(Time, Time)>; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }

    /// Mutable access to one weekday (0 = Monday), for builders and tests.
    pub fn day_mut(&mut self, monday_zero: usize) -> &mut Vec<(Time, Time)> {
        match monday_zero % 7 {
            0 => &mut self.monday,
            1 => &mut self.tuesday,
            2 => &mut self.wednesday,
            3 => &mut self.thursday,
            4 => &mut self.friday,
            5 => &mut self.saturday,
            _ => &mut self.sunday,
        }
    }
}

/// A day without business time.
///
/// Holidays are local dates of the calendar's zone. `Yearly` repeats on the
/// same month and day in every year (29 February only in leap years); it has
/// no start year, because a holiday calendar describes the rule, not its
/// history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    Date(Date),
    /// Both ends inclusive.
    Range {
        start: Date,
        end: Date,
    },
    Yearly {
        month: i8,
        day: i8,
    },
}

/// A validated business calendar; see the module docs for the model.
///
/// Building one precomputes the tables that make the queries fast
/// (interval offsets in nanoseconds, per-weekday and per-week totals, merged
/// holiday ranges), so build once and reuse.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    tz_name: String,
    weekly: [Vec<(Time, Time)>; 7],
    holidays: Vec<Holiday>,
    tables: engine::Tables,
}

impl PartialEq for BusinessCalendar {
    fn eq(&self, other: &Self) -> bool {
        self.tz_name == other.tz_name
            && self.weekly == other.weekly
            && self.holidays == other.holidays
    }
}

impl BusinessCalendar {
    /// The built-in 24x7 calendar: UTC, every instant is business time.
    pub fn always() -> Self {
        let weekly = WeeklyHours::all_week();
        let days = weekly.days().map(|d| d.clone());
        let tables = engine::Tables::new(&days, &[]);
        Self {
            tz: TimeZone::UTC,
            tz_name: "UTC".to_string(),
            weekly: days,
            holidays: Vec::new(),
            tables,
        }
    }

    /// Validates and builds a calendar. Every problem is reported, each with
    /// the field it belongs to, so the API can answer with one 4xx listing
    /// them all.
    pub fn new(
        tz_name: &str,
        weekly: WeeklyHours,
        holidays: Vec<Holiday>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let tz = if tz_name.eq_ignore_ascii_case("UTC") {
            Some(TimeZone::UTC)
        } else {
            match TimeZone::get(tz_name) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    errors.push(FieldError::new(
                        "time_zone",
                        format!("unknown IANA time zone {tz_name:?}"),
                    ));
                    None
                }
            }
        };

        let mut days: [Vec<(Time, Time)>; 7] = Default::default();
        let mut any_time = false;
        let errors_before_hours = errors.len();
        for (wd, given) in weekly.days().into_iter().enumerate() {
            // Sort by start but remember where each came from, so an error
            // names the interval the user wrote, not its sorted position.
            let mut order: Vec<usize> = (0..given.len()).collect();
            order.sort_by_key(|&i| given[i].0);
            let mut prev_end: Option<i64> = None;
            for &i in &order {
                let (start, end) = given[i];
                let field = format!("hours.{}[{i}]", WEEKDAY_NAMES[wd]);
                let s = engine::time_nanos(start);
                let e = engine::end_nanos(end);
                if s >= e {
                    errors.push(FieldError::new(
                        field,
                        "interval start must be before its end (use 24:00 for the end of the day; \
                         split a night shift into two intervals)",
                    ));
                    continue;
                }
                if let Some(p) = prev_end
                    && s < p
                {
                    errors.push(FieldError::new(
                        field,
                        "interval overlaps another interval of the same day",
                    ));
                    continue;
                }
                prev_end = Some(e);
                any_time = true;
            }
            days[wd] = order.iter().map(|&i| given[i]).collect();
        }
        if !any_time && errors.len() == errors_before_hours {
            errors.push(FieldError::new(
                "hours",
                "a calendar needs some working time in the week",
            ));
        }

        for (i, h) in holidays.iter().enumerate() {
            match *h {
                Holiday::Date(_) => {}
                Holiday::Range { start, end } => {
                    if end < start {
                        errors.push(FieldError::new(
                            format!("holidays[{i}]"),
                            format!("range ends ({end}) before it starts ({start})"),
                        ));
                    }
                }
                Holiday::Yearly { month, day } => {
                    // 2000 is a leap year, so 29 February is accepted.
                    if Date::new(2000, month, day).is_err() {
                        errors.push(FieldError::new(
                            format!("holidays[{i}]"),
                            format!("no such day in the year: month {month}, day {day}"),
                        ));
                    }
                }
            }
        }

        match tz {
            Some(tz) if errors.is_empty() => {
                let tables = engine::Tables::new(&days, &holidays);
                Ok(Self {
                    tz,
                    tz_name: tz_name.to_string(),
                    weekly: days,
                    holidays,
                    tables,
                })
            }
            _ => Err(errors),
        }
    }

    /// The IANA name the calendar was built with.
    pub fn time_zone_name(&self) -> &str {
        &self.tz_name
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The weekly hours, each day sorted by start.
    pub fn weekly_hours(&self) -> WeeklyHours {
        let [
            monday,
            tuesday,
            wednesday,
            thursday,
            friday,
            saturday,
            sunday,
        ] = self.weekly.clone();
        WeeklyHours {
            monday,
            tuesday,
            wednesday,
            thursday,
            friday,
            saturday,
            sunday,
        }
    }

    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// Whether the local date is a holiday of this calendar.
    pub fn is_holiday(&self, date: civil::Date) -> bool {
        self.tables.is_holiday(engine::day_number(date))
    }

    /// Whether `at` lies inside a business interval (start inclusive, end
    /// exclusive).
    pub fn is_business_time(&self, at: Timestamp) -> bool {
        self.next_business_instant(at) == at
    }

    /// Next instant >= `at` that is business time. Saturates at
    /// `Timestamp::MAX` if there is none before the end of jiff's range
    /// (possible only with holidays covering the rest of time).
    pub fn next_business_instant(&self, at: Timestamp) -> Timestamp {
        engine::next_business_instant(self, at)
    }

    /// The instant that is `duration` of business time after `start`.
    ///
    /// `start` may be outside business hours: counting begins at the next
    /// open interval. When the duration runs out exactly at the end of an
    /// interval, that end is returned (not the start of the next interval),
    /// so a due time is never pushed over a weekend needlessly. A duration
    /// <= 0 returns [`Self::next_business_instant`]. Saturates at
    /// `Timestamp::MAX`.
    pub fn add_business_time(&self, start: Timestamp, duration: SignedDuration) -> Timestamp {
        engine::add_business_time(self, start, duration)
    }

    /// Business time in `[a, b)`; zero if `b <= a`.
    pub fn business_time_between(&self, a: Timestamp, b: Timestamp) -> SignedDuration {
        engine::business_time_between(self, a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn always_is_24x7() {
        let c = BusinessCalendar::always();
        let a = ts("2026-03-29T00:00:00Z");
        assert!(c.is_business_time(a));
        assert_eq!(
            c.add_business_time(a, SignedDuration::from_hours(48)),
            ts("2026-03-31T00:00:00Z")
        );
    }

    #[test]
    fn office_friday_to_monday() {
        let c = BusinessCalendar::new(
            "Europe/Berlin",
            WeeklyHours::office(time(9, 0, 0, 0), time(17, 0, 0, 0)),
            vec![],
        )
        .expect("valid");
        // Friday 2026-11-20 16:00 CET + 2h = Monday 10:00 CET.
        assert_eq!(
            c.add_business_time(ts("2026-11-20T15:00:00Z"), SignedDuration::from_hours(2)),
            ts("2026-11-23T09:00:00Z")
        );
        assert_eq!(
            c.business_time_between(ts("2026-11-20T15:00:00Z"), ts("2026-11-23T09:00:00Z")),
            SignedDuration::from_hours(2)
        );
    }
}
