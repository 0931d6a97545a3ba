//! `add_business_time` over a one-year span with 30 holidays must stay
//! under 5 µs (issue 4): SLA workers recompute due times for every open
//! ticket, so this is on a hot path.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::{date, time};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::calendar::{BusinessCalendar, Holiday, WeeklyHours};

/// Berlin office hours (two intervals a day), 30 holidays in 2026-2027:
/// 20 dated, 2 ranges, 8 yearly.
fn calendar() -> BusinessCalendar {
    let mut holidays = Vec::new();
    for (m, d) in [
        (1, 6),
        (2, 16),
        (3, 9),
        (4, 3),
        (4, 6),
        (5, 14),
        (5, 25),
        (6, 4),
        (7, 17),
        (8, 14),
    ] {
        holidays.push(Holiday::Date(date(2026, m, d)));
        holidays.push(Holiday::Date(date(2027, m, d + 1)));
    }
    holidays.push(Holiday::Range {
        start: date(2026, 12, 28),
        end: date(2026, 12, 31),
    });
    holidays.push(Holiday::Range {
        start: date(2026, 8, 3),
        end: date(2026, 8, 7),
    });
    for (month, day) in [
        (1, 1),
        (5, 1),
        (10, 3),
        (10, 31),
        (11, 1),
        (12, 24),
        (12, 25),
        (12, 26),
    ] {
        holidays.push(Holiday::Yearly { month, day });
    }
    assert_eq!(holidays.len(), 30);
    let mut week = WeeklyHours::office(time(8, 0, 0, 0), time(12, 0, 0, 0));
    for wd in 0..5 {
        week.day_mut(wd)
            .push((time(13, 0, 0, 0), time(17, 0, 0, 0)));
    }
    BusinessCalendar::new("Europe/Berlin", week, holidays).expect("valid calendar")
}

fn bench(c: &mut Criterion) {
    let cal = calendar();
    let start: Timestamp = "2026-01-02T10:17:00+01:00".parse().expect("valid");
    // About 250 working days of 8 h: a year of calendar time, both DST
    // changes and all the holidays inside the span.
    let year = SignedDuration::from_hours(2000);
    let due = cal.add_business_time(start, year);
    assert!(
        due > "2026-12-20T00:00:00Z".parse::<Timestamp>().expect("valid"),
        "{due}"
    );

    c.bench_function("add_business_time 1y 30 holidays", |b| {
        b.iter(|| cal.add_business_time(black_box(start), black_box(year)))
    });
    c.bench_function("business_time_between 1y 30 holidays", |b| {
        b.iter(|| cal.business_time_between(black_box(start), black_box(due)))
    });
    c.bench_function("add_business_time 4h", |b| {
        b.iter(|| cal.add_business_time(black_box(start), black_box(SignedDuration::from_hours(4))))
    });
    let always = BusinessCalendar::always();
    c.bench_function("add_business_time 24x7 1y", |b| {
        b.iter(|| {
            always.add_business_time(
                black_box(start),
                black_box(SignedDuration::from_hours(8760)),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
