//! Property tests for business calendars over random calendars (zones with
//! northern, southern and no DST, plus UTC; random weekly intervals on
//! quarter hours, including ones around 02:00–03:00 where DST changes
//! happen; random holidays) and random instants in 2025–2028.
//!
//! Besides the algebraic laws (additivity, inverse, monotonicity) the
//! engine is checked against a slow, obviously-correct oracle that resolves
//! every interval of every day through jiff, so the fast paths (whole-week
//! skips, cached offsets, holiday runs) cannot drift from the model.

use jiff::civil::{Date, DateTime, Time, date};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{BusinessCalendar, Holiday, WeeklyHours};
use proptest::prelude::*;

const ZONES: [&str; 5] = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
];

/// 2025-01-01T00:00:00Z and 2029-01-01T00:00:00Z in seconds.
const FROM: i64 = 1_735_689_600;
const TO: i64 = 1_861_920_000;

fn quarter(q: u8) -> Time {
    // q in 0..=96; 96 is 24:00, written as 00:00 for an end.
    let minutes = i32::from(q % 96) * 15;
    Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).expect("valid time")
}

/// A day's intervals from up to 6 distinct quarter-hour cut points.
fn day_strategy() -> impl Strategy<Value = Vec<(Time, Time)>> {
    prop_oneof![
        1 => Just(vec![]),
        1 => Just(vec![(Time::midnight(), Time::midnight())]),
        1 => Just(vec![(quarter(8), quarter(14))]),  // 02:00-03:30
        4 => proptest::collection::btree_set(0u8..=96, 0..=6).prop_map(|set| {
            let points: Vec<u8> = set.into_iter().collect();
            points
                .chunks_exact(2)
                .map(|p| (quarter(p[0]), quarter(p[1])))
                .collect()
        }),
    ]
}

fn date_strategy() -> impl Strategy<Value = Date> {
    (2025i16..=2028, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
}

fn holiday_strategy() -> impl Strategy<Value = Holiday> {
    prop_oneof![
        date_strategy().prop_map(Holiday::Date),
        (date_strategy(), 0i64..12).prop_map(|(start, len)| Holiday::Range {
            start,
            end: start
                .checked_add(SignedDuration::from_hours(24 * len))
                .unwrap_or(start),
        }),
        (1i8..=12, 1i8..=28).prop_map(|(month, day)| Holiday::Yearly { month, day }),
        Just(Holiday::Yearly { month: 2, day: 29 }),
    ]
}

fn calendar_strategy() -> impl Strategy<Value = BusinessCalendar> {
    (
        0..ZONES.len(),
        proptest::collection::vec(day_strategy(), 7),
        proptest::collection::vec(holiday_strategy(), 0..6),
    )
        .prop_map(|(zone, days, holidays)| {
            let mut w = WeeklyHours::default();
            for (wd, d) in days.into_iter().enumerate() {
                *w.day_mut(wd) = d;
            }
            if w.days().iter().all(|d| d.is_empty()) {
                w.wednesday = vec![(quarter(36), quarter(68))];
            }
            BusinessCalendar::new(ZONES[zone], w, holidays).expect("generated calendars are valid")
        })
}

fn instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        // Anywhere, to the second.
        3 => (FROM..TO).prop_map(|s| Timestamp::from_second(s).expect("in range")),
        // On a quarter hour, where interval boundaries live.
        1 => (FROM / 900..TO / 900).prop_map(|q| Timestamp::from_second(q * 900).expect("in range")),
    ]
}

fn duration() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![
        1 => Just(SignedDuration::ZERO),
        3 => (0i64..=48 * 3600).prop_map(SignedDuration::from_secs),
        2 => (0i64..=3000 * 3600).prop_map(SignedDuration::from_secs),
    ]
}

// ---- The oracle: every day, every interval, straight through jiff. ----

fn oracle_is_holiday(h: &[Holiday], d: Date) -> bool {
    h.iter().any(|h| match *h {
        Holiday::Date(x) => x == d,
        Holiday::Range { start, end } => start <= d && d <= end,
        Holiday::Yearly { month, day } => d.month() == month && d.day() == day,
    })
}

/// Wall time → instant with the documented rules, written differently
/// from the engine: a gap resolves to the transition just before jiff's
/// "compatible" (after-the-gap) reading.
fn oracle_resolve(tz: &TimeZone, dt: DateTime) -> Timestamp {
    let amb = tz.to_ambiguous_timestamp(dt);
    match amb.offset() {
        AmbiguousOffset::Gap { .. } => {
            let after = amb.compatible().expect("in range");
            tz.preceding(
                after
                    .checked_add(SignedDuration::from_nanos(1))
                    .expect("in range"),
            )
            .next()
            .expect("a gap has a transition")
            .timestamp()
        }
        _ => amb.compatible().expect("in range"),
    }
}

fn oracle_intervals(
    cal: &BusinessCalendar,
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let tz = cal.time_zone();
    let weekly = cal.weekly_hours();
    let days = weekly.days();
    let mut d = tz.to_datetime(from).date().yesterday().expect("in range");
    let last = tz.to_datetime(to).date().tomorrow().expect("in range");
    let mut out = Vec::new();
    while d <= last {
        if !oracle_is_holiday(cal.holidays(), d) {
            let wd = d.weekday().to_monday_zero_offset() as usize;
            for &(s, e) in days[wd] {
                let start = oracle_resolve(tz, d.to_datetime(s));
                let end = if e == Time::midnight() {
                    oracle_resolve(tz, d.tomorrow().expect("in range").to_datetime(e))
                } else {
                    oracle_resolve(tz, d.to_datetime(e))
                };
                if start < end {
                    out.push((start, end));
                }
            }
        }
        d = d.tomorrow().expect("in range");
    }
    out
}

fn oracle_between(cal: &BusinessCalendar, a: Timestamp, b: Timestamp) -> SignedDuration {
    let mut sum = SignedDuration::ZERO;
    for (s, e) in oracle_intervals(cal, a, b) {
        let lo = s.max(a);
        let hi = e.min(b);
        if hi > lo {
            sum += hi.duration_since(lo);
        }
    }
    sum
}

fn sorted3(a: Timestamp, b: Timestamp, c: Timestamp) -> (Timestamp, Timestamp, Timestamp) {
    let mut v = [a, b, c];
    v.sort();
    (v[0], v[1], v[2])
}

const NS: SignedDuration = SignedDuration::from_nanos(1);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn between_matches_the_oracle(cal in calendar_strategy(), a in instant(), b in instant()) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        // Keep the oracle's day walk short enough for debug builds.
        let b = b.min(a.checked_add(SignedDuration::from_hours(24 * 120)).expect("in range"));
        prop_assert_eq!(cal.business_time_between(a, b), oracle_between(&cal, a, b));
    }

    #[test]
    fn is_business_time_matches_the_oracle(cal in calendar_strategy(), at in instant()) {
        let inside = oracle_intervals(&cal, at, at).iter().any(|&(s, e)| s <= at && at < e);
        prop_assert_eq!(cal.is_business_time(at), inside);
    }

    #[test]
    fn additivity(cal in calendar_strategy(), a in instant(), b in instant(), c in instant()) {
        let (a, b, c) = sorted3(a, b, c);
        prop_assert_eq!(
            cal.business_time_between(a, b) + cal.business_time_between(b, c),
            cal.business_time_between(a, c)
        );
    }

    #[test]
    fn between_is_zero_backwards(cal in calendar_strategy(), a in instant(), b in instant()) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        prop_assert_eq!(cal.business_time_between(b, a), SignedDuration::ZERO);
        prop_assert!(cal.business_time_between(a, b) <= b.duration_since(a));
    }

    #[test]
    fn inverse(cal in calendar_strategy(), a in instant(), d in duration()) {
        let due = cal.add_business_time(a, d);
        prop_assert!(due >= a);
        prop_assert_eq!(cal.business_time_between(a, due), d);
        // From a business instant, too.
        let open = cal.next_business_instant(a);
        prop_assert_eq!(cal.business_time_between(open, cal.add_business_time(open, d)), d);
    }

    #[test]
    fn monotone_in_duration(cal in calendar_strategy(), a in instant(), d1 in duration(), d2 in duration()) {
        let (d1, d2) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
        prop_assert!(cal.add_business_time(a, d1) <= cal.add_business_time(a, d2));
    }

    #[test]
    fn monotone_in_start(cal in calendar_strategy(), a1 in instant(), a2 in instant(), d in duration()) {
        let (a1, a2) = if a1 <= a2 { (a1, a2) } else { (a2, a1) };
        prop_assert!(cal.add_business_time(a1, d) <= cal.add_business_time(a2, d));
    }

    #[test]
    fn zero_duration_is_next_business_instant(cal in calendar_strategy(), a in instant()) {
        let next = cal.next_business_instant(a);
        prop_assert_eq!(cal.add_business_time(a, SignedDuration::ZERO), next);
        prop_assert!(next >= a);
        prop_assert!(cal.is_business_time(next));
        // Nothing between `a` and the next business instant is business time.
        prop_assert_eq!(cal.business_time_between(a, next), SignedDuration::ZERO);
    }

    #[test]
    fn due_is_business_time_or_an_interval_end(cal in calendar_strategy(), a in instant(), d in duration()) {
        let due = cal.add_business_time(a, d);
        if d.is_zero() {
            prop_assert!(cal.is_business_time(due));
        } else {
            // The last nanosecond consumed is business time; `due` itself is
            // either still inside the interval or exactly its end.
            prop_assert!(cal.is_business_time(due - NS));
            prop_assert_eq!(cal.business_time_between(due - NS, due), NS);
        }
    }
}
