//! Golden, table-driven cases for business calendars: four zones around the
//! 2026 and 2027 DST changes, midnight, weekends, holidays, split days, 24x7,
//! gap and fold boundaries; plus iCal and validation cases.
//!
//! Expected instants are written with the local offset so a reader can check
//! them against a wall clock.

use jiff::civil::{Date, Time, date, time};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{
    BusinessCalendar, Holiday, WeeklyHours, holidays_from_ical, holidays_to_ical,
};

fn t(h: i8, m: i8) -> Time {
    time(h, m, 0, 0)
}

const END: Time = Time::midnight();

fn weekly_every_day(intervals: &[(Time, Time)]) -> WeeklyHours {
    let mut w = WeeklyHours::default();
    for wd in 0..7 {
        *w.day_mut(wd) = intervals.to_vec();
    }
    w
}

fn weekdays(intervals: &[(Time, Time)]) -> WeeklyHours {
    let mut w = WeeklyHours::default();
    for wd in 0..5 {
        *w.day_mut(wd) = intervals.to_vec();
    }
    w
}

fn calendar(name: &str) -> BusinessCalendar {
    let office = || WeeklyHours::office(t(9, 0), t(17, 0));
    let build = |tz: &str, w: WeeklyHours, h: Vec<Holiday>| {
        BusinessCalendar::new(tz, w, h).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    };
    match name {
        "utc_24x7" => BusinessCalendar::always(),
        "berlin_24x7" => build("Europe/Berlin", WeeklyHours::all_week(), vec![]),
        "berlin_office" => build("Europe/Berlin", office(), vec![]),
        "berlin_split" => build(
            "Europe/Berlin",
            weekdays(&[(t(8, 0), t(12, 0)), (t(13, 0), t(17, 0))]),
            vec![],
        ),
        "berlin_night" => build(
            "Europe/Berlin",
            weekly_every_day(&[(t(1, 0), t(4, 0))]),
            vec![],
        ),
        "berlin_gap" => build(
            "Europe/Berlin",
            weekly_every_day(&[(t(2, 30), t(5, 0))]),
            vec![],
        ),
        "berlin_late" => build("Europe/Berlin", weekdays(&[(t(18, 0), END)]), vec![]),
        "berlin_shift" => {
            // A night shift Monday 22:00 to Tuesday 06:00, written as two
            // intervals.
            let w = WeeklyHours {
                monday: vec![(t(22, 0), END)],
                tuesday: vec![(t(0, 0), t(6, 0))],
                ..WeeklyHours::default()
            };
            build("Europe/Berlin", w, vec![])
        }
        "berlin_holidays" => build(
            "Europe/Berlin",
            office(),
            vec![
                Holiday::Date(date(2026, 12, 24)),
                Holiday::Date(date(2026, 5, 1)),
                Holiday::Range {
                    start: date(2026, 12, 28),
                    end: date(2026, 12, 31),
                },
                Holiday::Yearly { month: 1, day: 1 },
                Holiday::Yearly { month: 12, day: 25 },
                Holiday::Yearly { month: 12, day: 26 },
            ],
        ),
        "ny_24x7" => build("America/New_York", WeeklyHours::all_week(), vec![]),
        "ny_office" => build("America/New_York", office(), vec![]),
        "ny_fold" => build(
            "America/New_York",
            weekly_every_day(&[(t(1, 30), t(2, 30))]),
            vec![],
        ),
        "kolkata_24x7" => build("Asia/Kolkata", WeeklyHours::all_week(), vec![]),
        "kolkata_office" => build(
            "Asia/Kolkata",
            WeeklyHours::office(t(9, 30), t(18, 0)),
            vec![],
        ),
        "sydney_24x7" => build("Australia/Sydney", WeeklyHours::all_week(), vec![]),
        "sydney_office" => build("Australia/Sydney", office(), vec![]),
        other => panic!("no calendar {other}"),
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn dur(s: &str) -> SignedDuration {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// (calendar, start, business duration, expected due instant)
#[rustfmt::skip]
const ADD_CASES: &[(&str, &str, &str, &str)] = &[
    // --- 24x7 across DST: a calendar day is 23 h / 25 h of real time.
    ("berlin_24x7", "2026-03-29T00:00:00+01:00", "PT23H", "2026-03-30T00:00:00+02:00"),
    ("berlin_24x7", "2026-10-25T00:00:00+02:00", "PT25H", "2026-10-26T00:00:00+01:00"),
    ("berlin_24x7", "2027-03-28T00:00:00+01:00", "PT23H", "2027-03-29T00:00:00+02:00"),
    ("berlin_24x7", "2027-10-31T00:00:00+02:00", "PT25H", "2027-11-01T00:00:00+01:00"),
    ("berlin_24x7", "2026-03-29T01:30:00+01:00", "PT1H", "2026-03-29T03:30:00+02:00"),
    ("ny_24x7", "2026-03-08T00:00:00-05:00", "PT23H", "2026-03-09T00:00:00-04:00"),
    ("ny_24x7", "2026-11-01T00:00:00-04:00", "PT25H", "2026-11-02T00:00:00-05:00"),
    ("ny_24x7", "2027-03-14T00:00:00-05:00", "PT23H", "2027-03-15T00:00:00-04:00"),
    ("ny_24x7", "2027-11-07T00:00:00-04:00", "PT25H", "2027-11-08T00:00:00-05:00"),
    ("sydney_24x7", "2026-04-05T00:00:00+11:00", "PT25H", "2026-04-06T00:00:00+10:00"),
    ("sydney_24x7", "2026-10-04T00:00:00+10:00", "PT23H", "2026-10-05T00:00:00+11:00"),
    ("sydney_24x7", "2027-04-04T00:00:00+11:00", "PT25H", "2027-04-05T00:00:00+10:00"),
    ("sydney_24x7", "2027-10-03T00:00:00+10:00", "PT23H", "2027-10-04T00:00:00+11:00"),
    ("kolkata_24x7", "2026-03-29T00:00:00+05:30", "PT24H", "2026-03-30T00:00:00+05:30"),
    ("utc_24x7", "2026-12-31T23:00:00Z", "PT2H", "2027-01-01T01:00:00Z"),
    // --- Office hours: DST on a Sunday changes nothing.
    ("berlin_office", "2026-03-27T16:00:00+01:00", "PT2H", "2026-03-30T10:00:00+02:00"),
    ("berlin_office", "2026-10-23T16:00:00+02:00", "PT2H", "2026-10-26T10:00:00+01:00"),
    ("berlin_office", "2027-03-26T16:00:00+01:00", "PT2H", "2027-03-29T10:00:00+02:00"),
    ("berlin_office", "2027-10-29T16:00:00+02:00", "PT2H", "2027-11-01T10:00:00+01:00"),
    ("berlin_office", "2026-03-23T09:00:00+01:00", "PT80H", "2026-04-03T17:00:00+02:00"),
    ("ny_office", "2026-03-07T10:00:00-05:00", "PT1H", "2026-03-09T10:00:00-04:00"),
    ("ny_office", "2026-10-30T16:30:00-04:00", "PT1H", "2026-11-02T09:30:00-05:00"),
    ("ny_office", "2027-03-12T16:00:00-05:00", "PT8H", "2027-03-15T16:00:00-04:00"),
    ("ny_office", "2027-11-05T12:00:00-04:00", "PT5H", "2027-11-05T17:00:00-04:00"),
    ("ny_office", "2027-11-05T12:00:00-04:00", "PT6H", "2027-11-08T10:00:00-05:00"),
    ("sydney_office", "2026-04-03T16:00:00+11:00", "PT2H", "2026-04-06T10:00:00+10:00"),
    ("sydney_office", "2026-10-02T16:00:00+10:00", "PT2H", "2026-10-05T10:00:00+11:00"),
    ("sydney_office", "2027-04-02T16:00:00+11:00", "PT2H", "2027-04-05T10:00:00+10:00"),
    ("sydney_office", "2027-10-01T16:00:00+10:00", "PT2H", "2027-10-04T10:00:00+11:00"),
    ("kolkata_office", "2026-03-27T17:00:00+05:30", "PT2H", "2026-03-30T10:30:00+05:30"),
    ("kolkata_office", "2026-10-23T08:00:00+05:30", "PT17H", "2026-10-26T18:00:00+05:30"),
    // --- Friday evening to Monday, ends of intervals, zero durations.
    ("berlin_office", "2026-11-20T17:00:00+01:00", "PT0S", "2026-11-23T09:00:00+01:00"),
    ("berlin_office", "2026-11-20T16:59:00+01:00", "PT0S", "2026-11-20T16:59:00+01:00"),
    ("berlin_office", "2026-11-23T09:00:00+01:00", "PT8H", "2026-11-23T17:00:00+01:00"),
    ("berlin_office", "2026-11-21T12:00:00+01:00", "PT1H", "2026-11-23T10:00:00+01:00"),
    ("berlin_office", "2026-11-23T08:00:00+01:00", "PT30M", "2026-11-23T09:30:00+01:00"),
    ("berlin_office", "2026-11-23T09:00:00+01:00", "PT40H", "2026-11-27T17:00:00+01:00"),
    ("berlin_office", "2026-11-23T09:00:00+01:00", "PT41H", "2026-11-30T10:00:00+01:00"),
    ("berlin_office", "2026-01-05T09:00:00+01:00", "PT2080H", "2027-01-01T17:00:00+01:00"),
    // --- Several intervals a day.
    ("berlin_split", "2026-11-23T11:00:00+01:00", "PT2H", "2026-11-23T14:00:00+01:00"),
    ("berlin_split", "2026-11-23T11:00:00+01:00", "PT1H", "2026-11-23T12:00:00+01:00"),
    ("berlin_split", "2026-11-23T12:30:00+01:00", "PT0S", "2026-11-23T13:00:00+01:00"),
    ("berlin_split", "2026-11-27T16:00:00+01:00", "PT5H", "2026-11-30T12:00:00+01:00"),
    // --- Midnight: 24:00 ends and night shifts split in two.
    ("berlin_late", "2026-11-23T23:00:00+01:00", "PT2H", "2026-11-24T19:00:00+01:00"),
    ("berlin_late", "2026-11-27T23:00:00+01:00", "PT1H", "2026-11-28T00:00:00+01:00"),
    ("berlin_shift", "2026-11-23T23:00:00+01:00", "PT2H", "2026-11-24T01:00:00+01:00"),
    ("berlin_shift", "2026-11-24T05:00:00+01:00", "PT2H", "2026-11-30T23:00:00+01:00"),
    // --- The DST change inside the interval: real elapsed time counts.
    ("berlin_night", "2026-03-29T01:00:00+01:00", "PT2H", "2026-03-29T04:00:00+02:00"),
    ("berlin_night", "2026-03-29T01:00:00+01:00", "PT2H30M", "2026-03-30T01:30:00+02:00"),
    ("berlin_night", "2026-10-25T01:00:00+02:00", "PT4H", "2026-10-25T04:00:00+01:00"),
    ("berlin_night", "2026-10-25T01:00:00+02:00", "PT2H", "2026-10-25T02:00:00+01:00"),
    // --- A boundary in the gap maps to the instant after the gap.
    ("berlin_gap", "2026-03-29T00:00:00+01:00", "PT0S", "2026-03-29T03:00:00+02:00"),
    ("berlin_gap", "2026-03-29T00:00:00+01:00", "PT1H", "2026-03-29T04:00:00+02:00"),
    ("berlin_gap", "2026-03-29T00:00:00+01:00", "PT2H", "2026-03-29T05:00:00+02:00"),
    // --- A boundary in the fold maps to the earlier instant.
    ("berlin_gap", "2026-10-25T00:00:00+02:00", "PT0S", "2026-10-25T02:30:00+02:00"),
    ("berlin_gap", "2026-10-25T00:00:00+02:00", "PT1H", "2026-10-25T02:30:00+01:00"),
    ("berlin_gap", "2026-10-25T00:00:00+02:00", "PT3H30M", "2026-10-25T05:00:00+01:00"),
    ("ny_fold", "2026-11-01T00:00:00-04:00", "PT2H", "2026-11-01T02:30:00-05:00"),
    ("ny_fold", "2026-11-01T00:00:00-04:00", "PT2H1M", "2026-11-02T01:31:00-05:00"),
    // --- Holidays: single date, range, yearly.
    ("berlin_holidays", "2026-04-30T16:00:00+02:00", "PT2H", "2026-05-04T10:00:00+02:00"),
    ("berlin_holidays", "2026-12-23T16:00:00+01:00", "PT2H", "2027-01-04T10:00:00+01:00"),
    ("berlin_holidays", "2026-12-25T12:00:00+01:00", "PT0S", "2027-01-04T09:00:00+01:00"),
    ("berlin_holidays", "2027-12-23T16:00:00+01:00", "PT2H", "2027-12-24T10:00:00+01:00"),
    ("berlin_holidays", "2028-12-22T16:00:00+01:00", "PT2H", "2028-12-27T10:00:00+01:00"),
];

/// (calendar, a, b, expected business time in [a, b))
#[rustfmt::skip]
const BETWEEN_CASES: &[(&str, &str, &str, &str)] = &[
    ("berlin_24x7", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "PT23H"),
    ("berlin_24x7", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "PT25H"),
    ("berlin_24x7", "2027-03-28T00:00:00+01:00", "2027-03-29T00:00:00+02:00", "PT23H"),
    ("berlin_24x7", "2027-10-31T00:00:00+02:00", "2027-11-01T00:00:00+01:00", "PT25H"),
    ("ny_24x7", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", "PT23H"),
    ("ny_24x7", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", "PT25H"),
    ("sydney_24x7", "2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:00", "PT25H"),
    ("sydney_24x7", "2026-10-04T00:00:00+10:00", "2026-10-05T00:00:00+11:00", "PT23H"),
    ("sydney_24x7", "2027-04-04T00:00:00+11:00", "2027-04-05T00:00:00+10:00", "PT25H"),
    ("sydney_24x7", "2027-10-03T00:00:00+10:00", "2027-10-04T00:00:00+11:00", "PT23H"),
    ("kolkata_24x7", "2026-01-01T00:00:00+05:30", "2027-01-01T00:00:00+05:30", "PT8760H"),
    ("berlin_office", "2026-03-27T16:00:00+01:00", "2026-03-30T10:00:00+02:00", "PT2H"),
    ("berlin_office", "2026-11-20T15:00:00Z", "2026-11-23T09:00:00Z", "PT2H"),
    ("berlin_office", "2026-11-23T12:00:00+01:00", "2026-11-23T11:00:00+01:00", "PT0S"),
    ("berlin_office", "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00", "PT2088H"),
    ("ny_office", "2026-11-01T00:00:00-04:00", "2026-11-08T00:00:00-05:00", "PT40H"),
    ("kolkata_office", "2026-03-23T00:00:00+05:30", "2026-03-30T00:00:00+05:30", "PT42H30M"),
    ("berlin_split", "2026-11-23T11:00:00+01:00", "2026-11-23T14:00:00+01:00", "PT2H"),
    ("berlin_split", "2026-11-23T00:00:00+01:00", "2026-11-30T00:00:00+01:00", "PT40H"),
    ("berlin_night", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "PT2H"),
    ("berlin_night", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "PT4H"),
    ("berlin_gap", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "PT2H"),
    ("berlin_gap", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "PT3H30M"),
    ("ny_fold", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", "PT2H"),
    ("berlin_shift", "2026-11-23T00:00:00+01:00", "2026-11-25T00:00:00+01:00", "PT8H"),
    ("berlin_late", "2026-11-23T23:30:00+01:00", "2026-11-24T18:30:00+01:00", "PT1H"),
    ("berlin_holidays", "2026-12-23T09:00:00+01:00", "2027-01-05T09:00:00+01:00", "PT16H"),
    ("berlin_holidays", "2028-12-22T00:00:00+01:00", "2028-12-28T00:00:00+01:00", "PT16H"),
];

#[test]
fn add_business_time_golden() {
    let mut failures = Vec::new();
    for &(cal, start, d, want) in ADD_CASES {
        let c = calendar(cal);
        let got = c.add_business_time(ts(start), dur(d));
        if got != ts(want) {
            failures.push(format!(
                "{cal}: {start} + {d}: want {want}, got {}",
                got.to_zoned_datetime(c.time_zone().clone())
            ));
        }
        // Every add case is also an inverse case.
        let back = c.business_time_between(ts(start), got);
        if back != dur(d) {
            failures.push(format!(
                "{cal}: between({start}, {got}) = {back:#}, want {d}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn business_time_between_golden() {
    let mut failures = Vec::new();
    for &(cal, a, b, want) in BETWEEN_CASES {
        let got = calendar(cal).business_time_between(ts(a), ts(b));
        if got != dur(want) {
            failures.push(format!("{cal}: [{a}, {b}): want {want}, got {got:#}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn is_business_time_golden() {
    let cases: &[(&str, &str, bool)] = &[
        ("berlin_office", "2026-11-23T09:00:00+01:00", true),
        ("berlin_office", "2026-11-23T17:00:00+01:00", false),
        ("berlin_office", "2026-11-23T16:59:59+01:00", true),
        ("berlin_office", "2026-11-22T12:00:00+01:00", false),
        ("berlin_split", "2026-11-23T12:30:00+01:00", false),
        ("berlin_holidays", "2026-12-29T12:00:00+01:00", false),
        ("berlin_holidays", "2027-01-01T12:00:00+01:00", false),
        ("berlin_holidays", "2027-01-04T12:00:00+01:00", true),
        // The second 02:15 of the fall-back night: inside 02:30(first)–05:00.
        ("berlin_gap", "2026-10-25T02:15:00+01:00", true),
        ("berlin_gap", "2026-10-25T02:15:00+02:00", false),
        ("utc_24x7", "2027-06-01T00:00:00Z", true),
    ];
    for &(cal, at, want) in cases {
        assert_eq!(
            calendar(cal).is_business_time(ts(at)),
            want,
            "{cal} at {at}"
        );
    }
}

/// The golden rows assume these DST dates; check them against the tz data
/// so a tzdata change shows up here rather than as a puzzling row failure.
#[test]
fn dst_dates_match_tz_data() {
    let expect: &[(&str, [Date; 4])] = &[
        (
            "Europe/Berlin",
            [
                date(2026, 3, 29),
                date(2026, 10, 25),
                date(2027, 3, 28),
                date(2027, 10, 31),
            ],
        ),
        (
            "America/New_York",
            [
                date(2026, 3, 8),
                date(2026, 11, 1),
                date(2027, 3, 14),
                date(2027, 11, 7),
            ],
        ),
        (
            "Australia/Sydney",
            [
                date(2026, 4, 5),
                date(2026, 10, 4),
                date(2027, 4, 4),
                date(2027, 10, 3),
            ],
        ),
    ];
    for (zone, dates) in expect {
        let tz = jiff::tz::TimeZone::get(zone).expect("zone exists");
        let got: Vec<Date> = tz
            .following(ts("2026-01-01T00:00:00Z"))
            .take(4)
            .map(|tr| tz.to_datetime(tr.timestamp()).date())
            .collect();
        assert_eq!(&got, dates, "{zone}");
    }
    let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").expect("zone exists");
    assert!(
        kolkata
            .following(ts("2026-01-01T00:00:00Z"))
            .next()
            .is_none()
    );
}

#[test]
fn validation_errors_name_the_field() {
    let fields = |tz: &str, w: WeeklyHours, h: Vec<Holiday>| -> Vec<String> {
        match BusinessCalendar::new(tz, w, h) {
            Ok(_) => vec![],
            Err(errs) => errs.into_iter().map(|e| e.field).collect(),
        }
    };
    let office = WeeklyHours::office(t(9, 0), t(17, 0));
    assert_eq!(
        fields("Mars/Olympus_Mons", office.clone(), vec![]),
        ["time_zone"]
    );
    assert_eq!(
        fields("Europe/Berlin", office.clone(), vec![]),
        Vec::<String>::new()
    );
    assert_eq!(fields("UTC", office.clone(), vec![]), Vec::<String>::new());

    let mut overlapping = office.clone();
    overlapping.monday = vec![(t(9, 0), t(12, 0)), (t(11, 0), t(17, 0))];
    assert_eq!(
        fields("Europe/Berlin", overlapping, vec![]),
        ["hours.monday[1]"]
    );

    let mut inverted = office.clone();
    inverted.wednesday = vec![(t(8, 0), t(9, 0)), (t(17, 0), t(9, 0))];
    assert_eq!(
        fields("Europe/Berlin", inverted, vec![]),
        ["hours.wednesday[1]"]
    );

    let mut empty_interval = office.clone();
    empty_interval.friday = vec![(t(9, 0), t(9, 0))];
    assert_eq!(
        fields("Europe/Berlin", empty_interval, vec![]),
        ["hours.friday[0]"]
    );

    // Unsorted input is fine; the later-starting interval is blamed, by
    // its original index.
    let mut unsorted = office.clone();
    unsorted.tuesday = vec![(t(13, 0), t(17, 0)), (t(8, 0), t(13, 30))];
    assert_eq!(
        fields("Europe/Berlin", unsorted, vec![]),
        ["hours.tuesday[0]"]
    );
    let mut touching = office.clone();
    touching.tuesday = vec![(t(13, 0), t(17, 0)), (t(8, 0), t(13, 0))];
    assert_eq!(
        fields("Europe/Berlin", touching, vec![]),
        Vec::<String>::new()
    );

    assert_eq!(
        fields("Europe/Berlin", WeeklyHours::default(), vec![]),
        ["hours"]
    );

    let holidays = vec![
        Holiday::Date(date(2026, 12, 25)),
        Holiday::Range {
            start: date(2026, 12, 31),
            end: date(2026, 12, 28),
        },
        Holiday::Yearly { month: 2, day: 30 },
        Holiday::Yearly { month: 2, day: 29 },
        Holiday::Yearly { month: 13, day: 1 },
    ];
    assert_eq!(
        fields("Europe/Berlin", office.clone(), holidays),
        ["holidays[1]", "holidays[2]", "holidays[4]"]
    );

    // All problems at once, so one 4xx lists them all.
    let bad = WeeklyHours {
        sunday: vec![(t(10, 0), t(9, 0))],
        ..WeeklyHours::default()
    };
    assert_eq!(
        fields(
            "Nowhere/Else",
            bad,
            vec![Holiday::Yearly { month: 4, day: 31 }]
        ),
        ["time_zone", "hours.sunday[0]", "holidays[0]"]
    );
}

fn sample_holidays() -> Vec<Holiday> {
    vec![
        Holiday::Date(date(2026, 12, 24)),
        Holiday::Range {
            start: date(2026, 12, 28),
            end: date(2026, 12, 31),
        },
        Holiday::Yearly { month: 1, day: 1 },
        Holiday::Yearly { month: 2, day: 29 },
        Holiday::Date(date(2027, 1, 6)),
    ]
}

#[test]
fn ical_round_trip() {
    let h = sample_holidays();
    let text = holidays_to_ical(&h, "Berlin office, DE; 2026");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.contains("X-WR-CALNAME:Berlin office\\, DE\\; 2026\r\n"));
    assert!(text.contains("DTSTART;VALUE=DATE:20261228\r\nDTEND;VALUE=DATE:20270101\r\n"));
    assert!(text.contains(
        "DTSTART;VALUE=DATE:20000229\r\nDTEND;VALUE=DATE:20000301\r\nRRULE:FREQ=YEARLY\r\n"
    ));
    assert_eq!(holidays_from_ical(&text), Ok(h));
    assert_eq!(holidays_from_ical(&holidays_to_ical(&[], "x")), Ok(vec![]));
}

#[test]
fn ical_import_tolerates_real_world_files() {
    // LF line ends, folded lines (CRLF + space and tab), lower-case names,
    // parameters, a VTIMEZONE, a VALARM inside the event, a TZID'd date, an
    // event without DTEND and a multi-day yearly event.
    let text = "BEGIN:VCALENDAR\r\n\
VERSION:2.0\r\n\
PRODID:-//Example//Holidays//EN\r\n\
BEGIN:VTIMEZONE\r\n\
TZID:Europe/Berlin\r\n\
BEGIN:STANDARD\r\n\
DTSTART:19701025T030000\r\n\
END:STANDARD\r\n\
END:VTIMEZONE\r\n\
BEGIN:VEVENT\r\n\
UID:1@example\r\n\
SUMMARY:Christmas Eve with a very long summary that a sensible exporter f\r\n \
olds onto a second line\r\n\
DTSTART;VALUE=DATE:\r\n \
20261224\r\n\
DTEND;VALUE=DATE:20261225\r\n\
BEGIN:VALARM\r\n\
ACTION:DISPLAY\r\n\
TRIGGER:-PT15M\r\n\
DTSTART:20000101T000000\r\n\
END:VALARM\r\n\
END:VEVENT\r\n\
BEGIN:VTODO\r\n\
DTSTART;VALUE=DATE:20260101\r\n\
END:VTODO\r\n\
begin:vevent\n\
dtstart;value=date:20261228\n\
dtend;value=date:20270102\n\
end:vevent\n\
BEGIN:VEVENT\n\
DTSTART:20270106\n\
END:VEVENT\n\
BEGIN:VEVENT\n\
DTSTART;VALUE=DATE:20261225\n\
DTEND;VALUE=DATE:20261227\n\
RRULE:FREQ=YEARLY;INTER\n\
\tVAL=1;BYMONTH=12\n\
END:VEVENT\n\
END:VCALENDAR\n";
    assert_eq!(
        holidays_from_ical(text),
        Ok(vec![
            Holiday::Date(date(2026, 12, 24)),
            Holiday::Range {
                start: date(2026, 12, 28),
                end: date(2027, 1, 1)
            },
            Holiday::Date(date(2027, 1, 6)),
            Holiday::Yearly { month: 12, day: 25 },
            Holiday::Yearly { month: 12, day: 26 },
        ])
    );
}

#[test]
fn ical_import_rejects_what_it_cannot_represent() {
    let wrap = |event: &str| {
        format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{event}END:VEVENT\r\nEND:VCALENDAR\r\n")
    };
    let cases = [
        (wrap("DTSTART:20261224T090000Z\r\n"), "all-day"),
        (wrap("DTSTART;VALUE=DATE:20261324\r\n"), "no such date"),
        (wrap("DTSTART;VALUE=DATE:2026122\r\n"), "YYYYMMDD"),
        (wrap("SUMMARY:x\r\n"), "without DTSTART"),
        (
            wrap("DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261224\r\n"),
            "after DTSTART",
        ),
        (
            wrap("DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=WEEKLY\r\n"),
            "RRULE",
        ),
        (
            wrap("DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=YEARLY;COUNT=3\r\n"),
            "RRULE",
        ),
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n".to_string(), "VCALENDAR"),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n".to_string(),
            "never closed",
        ),
        ("hello world".to_string(), "content line"),
    ];
    for (text, needle) in cases {
        match holidays_from_ical(&text) {
            Ok(h) => panic!("accepted {text:?} as {h:?}"),
            Err(e) => {
                assert_eq!(e.field, "ical");
                assert!(e.message.contains(needle), "{needle:?} not in {e}");
            }
        }
    }
}

#[test]
fn imported_holidays_build_a_calendar() {
    let text = holidays_to_ical(&sample_holidays(), "x");
    let holidays = holidays_from_ical(&text).expect("round trip");
    let c = BusinessCalendar::new(
        "Europe/Berlin",
        WeeklyHours::office(t(9, 0), t(17, 0)),
        holidays,
    )
    .expect("valid");
    assert!(c.is_holiday(date(2028, 2, 29)));
    assert!(!c.is_holiday(date(2027, 3, 1)));
    assert_eq!(
        c.add_business_time(ts("2026-12-23T16:00:00+01:00"), dur("PT2H")),
        ts("2026-12-25T10:00:00+01:00")
    );
}
