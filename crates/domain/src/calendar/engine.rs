//! The arithmetic behind [`BusinessCalendar`]: fast and exact.
//!
//! Time is walked forward in *segments* of local dates:
//!
//! * a **run** of plain dates (no holiday, no time-zone transition): the UTC
//!   offset is constant across the run, so wall time maps to instants by one
//!   subtraction and business time can be summed arithmetically, whole weeks
//!   at a time, from per-weekday totals. No time-zone lookup per day.
//! * a **holiday** stretch: skipped whole.
//! * an **exact** date touched by a transition: each interval boundary is
//!   resolved through the time zone (gap → transition instant, fold →
//!   earlier instant).
//!
//! A one-year `add_business_time` with 30 holidays is then a few dozen
//! segments rather than 365 days of time-zone conversions.
//!
//! Internally instants are `i128` nanoseconds since the Unix epoch and local
//! dates are day numbers since 1970-01-01, which keeps the inner loops free
//! of jiff's checked arithmetic.

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, Offset};
use jiff::{SignedDuration, Timestamp};

use super::{BusinessCalendar, Holiday};

/// Nanoseconds in a wall-clock day.
pub(crate) const DAY: i64 = 86_400_000_000_000;
const DAY128: i128 = DAY as i128;
/// Larger than any UTC offset jiff accepts (±25:59:59), used to bound which
/// local dates can hold a given instant.
const MAX_OFFSET: i128 = 26 * 3_600 * 1_000_000_000;
/// Runs are capped so positions inside a run fit in `i64` nanoseconds
/// (about 292 years); 100 years keeps a wide margin.
const MAX_RUN_DAYS: i64 = 36_525;

/// Nanoseconds since local midnight.
pub(crate) fn time_nanos(t: Time) -> i64 {
    ((i64::from(t.hour()) * 60 + i64::from(t.minute())) * 60 + i64::from(t.second()))
        * 1_000_000_000
        + i64::from(t.subsec_nanosecond())
}

/// Like [`time_nanos`], but an end of 00:00 means 24:00.
pub(crate) fn end_nanos(t: Time) -> i64 {
    match time_nanos(t) {
        0 => DAY,
        n => n,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian), H. Hinnant's algorithm.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month, day).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn day_number(date: Date) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    )
}

/// Monday = 0. 1970-01-01 was a Thursday.
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn offset_nanos(o: Offset) -> i128 {
    i128::from(o.seconds()) * 1_000_000_000
}

/// Instants outside jiff's range saturate rather than fail: they only arise
/// when a computation runs past year 9999.
fn to_timestamp(ns: i128) -> Timestamp {
    Timestamp::from_nanosecond(ns).unwrap_or(if ns < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Precomputed, query-ready form of the weekly hours and holidays.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    /// Per weekday, sorted `(start, end)` nanoseconds since local midnight.
    intervals: [Vec<(i64, i64)>; 7],
    day_total: [i64; 7],
    week_total: i64,
    /// `cum[w][k]`: business time of the `k` days starting on weekday `w`.
    cum: [[i64; 8]; 7],
    /// Dated holidays as merged, sorted, inclusive day-number ranges.
    fixed: Vec<(i64, i64)>,
    /// Yearly holidays as sorted, deduplicated (month, day).
    yearly: Vec<(i8, i8)>,
    /// Last local day handled; one day short of jiff's maximum so the end of
    /// the day (next midnight) is still representable.
    max_day: i64,
}

impl Tables {
    pub(crate) fn new(days: &[Vec<(Time, Time)>; 7], holidays: &[Holiday]) -> Self {
        let intervals: [Vec<(i64, i64)>; 7] = std::array::from_fn(|wd| {
            days[wd]
                .iter()
                .map(|&(s, e)| (time_nanos(s), end_nanos(e)))
                .filter(|(s, e)| s < e)
                .collect()
        });
        let day_total: [i64; 7] =
            std::array::from_fn(|wd| intervals[wd].iter().map(|(s, e)| e - s).sum());
        let week_total = day_total.iter().sum();
        let cum = std::array::from_fn(|w| {
            let mut row = [0i64; 8];
            for k in 1..8 {
                row[k] = row[k - 1] + day_total[(w + k - 1) % 7];
            }
            row
        });

        let mut ranges: Vec<(i64, i64)> = Vec::new();
        let mut yearly = Vec::new();
        for h in holidays {
            match *h {
                Holiday::Date(d) => {
                    let n = day_number(d);
                    ranges.push((n, n));
                }
                Holiday::Range { start, end } => {
                    ranges.push((day_number(start), day_number(end)));
                }
                Holiday::Yearly { month, day } => yearly.push((month, day)),
            }
        }
        ranges.sort_unstable();
        let mut fixed: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match fixed.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => fixed.push((s, e)),
            }
        }
        yearly.sort_unstable();
        yearly.dedup();

        Self {
            intervals,
            day_total,
            week_total,
            cum,
            fixed,
            yearly,
            max_day: day_number(Date::MAX) - 1,
        }
    }

    pub(crate) fn is_holiday(&self, day: i64) -> bool {
        let i = self.fixed.partition_point(|r| r.1 < day);
        if i < self.fixed.len() && self.fixed[i].0 <= day {
            return true;
        }
        if self.yearly.is_empty() {
            return false;
        }
        let (_, m, d) = civil_from_days(day);
        self.yearly.binary_search(&(m as i8, d as i8)).is_ok()
    }

    /// First day after the holiday stretch that starts at `day`.
    fn holiday_run_end(&self, mut day: i64) -> i64 {
        loop {
            let i = self.fixed.partition_point(|r| r.1 < day);
            if i < self.fixed.len() && self.fixed[i].0 <= day {
                day = self.fixed[i].1 + 1;
            } else if self.is_holiday(day) {
                day += 1;
            } else {
                return day;
            }
        }
    }

    /// First holiday on or after `day`, if any.
    fn next_holiday(&self, day: i64) -> Option<i64> {
        let i = self.fixed.partition_point(|r| r.1 < day);
        let fixed = self.fixed.get(i).map(|r| r.0.max(day));
        let yearly = self.next_yearly(day);
        match (fixed, yearly) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn next_yearly(&self, day: i64) -> Option<i64> {
        if self.yearly.is_empty() {
            return None;
        }
        let (y, m, d) = civil_from_days(day);
        // Eight years always reach a leap year, for a lone 29 February.
        for year in y..y + 9 {
            let from = if year == y {
                (m as i8, d as i8)
            } else {
                (1, 1)
            };
            let i = self.yearly.partition_point(|&md| md < from);
            for &(mm, dd) in &self.yearly[i..] {
                if mm == 2 && dd == 29 && !is_leap(year) {
                    continue;
                }
                return Some(days_from_civil(year, i64::from(mm), i64::from(dd)));
            }
        }
        None
    }

    fn day_prefix(&self, wd: usize, t: i64) -> i64 {
        let mut sum = 0;
        for &(s, e) in &self.intervals[wd] {
            if t <= s {
                break;
            }
            sum += e.min(t) - s;
        }
        sum
    }

    /// Business time from the start of a run (first weekday `wd0`) to the
    /// wall position `pos` nanoseconds later.
    fn run_g(&self, wd0: usize, pos: i64) -> i64 {
        let n = pos / DAY;
        let t = pos % DAY;
        let weeks = n / 7;
        let r = (n % 7) as usize;
        weeks * self.week_total + self.cum[wd0][r] + self.day_prefix((wd0 + r) % 7, t)
    }

    /// The smallest wall position (from the run start) where [`Self::run_g`]
    /// reaches `target` (> 0). Lands on an interval end when the target is
    /// reached exactly there.
    fn run_inverse(&self, wd0: usize, target: i64) -> i64 {
        let k = (target - 1) / self.week_total;
        let mut rem = target - k * self.week_total;
        for j in 0..7 {
            let wd = (wd0 + j) % 7;
            if rem <= self.day_total[wd] {
                for &(s, e) in &self.intervals[wd] {
                    if rem <= e - s {
                        return (7 * k + j as i64) * DAY + s + rem;
                    }
                    rem -= e - s;
                }
            }
            rem -= self.day_total[wd];
        }
        // Unreachable: `rem` is at most one week's total.
        (7 * k + 7) * DAY
    }
}

/// One stretch of local dates, in increasing time order.
enum Segment {
    /// Plain dates `[first, end)` with constant UTC offset `offset` (ns).
    Run { first: i64, end: i64, offset: i128 },
    /// Holidays from `first`; nothing to count.
    Skip { first: i64 },
    /// A transition date: resolve each boundary through the zone.
    Exact { day: i64 },
}

impl Segment {
    fn first_day(&self) -> i64 {
        match *self {
            Segment::Run { first, .. } | Segment::Skip { first } => first,
            Segment::Exact { day } => day,
        }
    }
}

#[derive(Clone, Copy)]
enum TrCache {
    Unknown,
    /// No transition from here on (fixed-offset zones, or past the data).
    None,
    /// The local dates `[lo, hi]` touched by the next transition.
    Next(i64, i64),
}

/// Walks segments forward from a local date, caching the next transition
/// and the current offset so a run costs no time-zone lookup.
struct Cursor<'c> {
    cal: &'c BusinessCalendar,
    day: i64,
    tr: TrCache,
    offset: Option<i128>,
    /// The first holiday on or after the last refresh day (`None`: none
    /// left), valid while it is not behind the cursor; `None` = unknown.
    next_holiday: Option<Option<i64>>,
}

impl<'c> Cursor<'c> {
    /// Starts at the local date of `at`: no earlier date can hold business
    /// time at or after `at`, because wall → instant mapping is monotone.
    fn at(cal: &'c BusinessCalendar, at: Timestamp) -> Self {
        let off = offset_nanos(cal.tz.to_offset(at));
        let day = (at.as_nanosecond() + off).div_euclid(DAY128) as i64;
        Self {
            cal,
            day,
            tr: TrCache::Unknown,
            offset: None,
            next_holiday: None,
        }
    }

    fn refresh_transition(&mut self, day: i64) {
        match self.tr {
            TrCache::None => {}
            TrCache::Next(_, hi) if hi >= day => {}
            _ => self.tr = next_transition_range(self.cal, day),
        }
    }

    /// The first holiday on or after `day`, recomputed only once the
    /// cursor has passed the cached one.
    fn next_holiday(&mut self, day: i64) -> Option<i64> {
        match self.next_holiday {
            Some(Some(h)) if h >= day => Some(h),
            Some(None) => None,
            _ => {
                let h = self.cal.tables.next_holiday(day);
                self.next_holiday = Some(h);
                h
            }
        }
    }

    fn next_segment(&mut self) -> Option<Segment> {
        let t = &self.cal.tables;
        let d = self.day;
        if d > t.max_day {
            return None;
        }
        self.refresh_transition(d);
        let next_holiday = self.next_holiday(d);
        if next_holiday == Some(d) {
            let end = t.holiday_run_end(d).min(t.max_day + 1);
            if let TrCache::Next(lo, _) = self.tr
                && lo < end
            {
                self.offset = None;
            }
            self.day = end;
            return Some(Segment::Skip { first: d });
        }
        let mut end = (d + MAX_RUN_DAYS).min(t.max_day + 1);
        if let TrCache::Next(lo, _) = self.tr {
            if lo <= d {
                self.offset = None;
                self.day = d + 1;
                return Some(Segment::Exact { day: d });
            }
            end = end.min(lo);
        }
        if let Some(h) = next_holiday {
            end = end.min(h);
        }
        let offset = match self.offset {
            Some(o) => o,
            None => {
                let o = plain_offset(self.cal, d);
                self.offset = Some(o);
                o
            }
        };
        self.day = end;
        Some(Segment::Run {
            first: d,
            end,
            offset,
        })
    }
}

/// The next transition whose touched local dates reach `day` or later.
///
/// A transition at instant T from offset `ob` to `oa` touches the local
/// dates from `T + min(ob, oa)` to `T + max(ob, oa)`: every date whose
/// instants straddle T, or whose wall times fall in the gap or fold. Dates
/// outside those ranges have one offset for the whole day.
fn next_transition_range(cal: &BusinessCalendar, day: i64) -> TrCache {
    let from = to_timestamp(i128::from(day - 2) * DAY128);
    for tr in cal.tz.following(from).take(64) {
        let t = tr.timestamp().as_nanosecond();
        let oa = offset_nanos(tr.offset());
        let ob = offset_nanos(cal.tz.to_offset(to_timestamp(t - 1)));
        let lo = (t + oa.min(ob)).div_euclid(DAY128) as i64;
        let hi = (t + oa.max(ob)).div_euclid(DAY128) as i64;
        if hi >= day {
            return TrCache::Next(lo, hi);
        }
    }
    TrCache::None
}

fn civil_datetime(day: i64, t: i64) -> Option<jiff::civil::DateTime> {
    let (y, m, d) = civil_from_days(day);
    let date = Date::new(i16::try_from(y).ok()?, m as i8, d as i8).ok()?;
    let secs = t / 1_000_000_000;
    let time = Time::new(
        (secs / 3_600) as i8,
        (secs / 60 % 60) as i8,
        (secs % 60) as i8,
        (t % 1_000_000_000) as i32,
    )
    .ok()?;
    Some(date.to_datetime(time))
}

/// The offset of a plain date (no transition touches it, so noon is as good
/// as any wall time).
fn plain_offset(cal: &BusinessCalendar, day: i64) -> i128 {
    let Some(dt) = civil_datetime(day, DAY / 2) else {
        return 0;
    };
    match cal.tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset_nanos(offset),
        AmbiguousOffset::Gap { before, .. } | AmbiguousOffset::Fold { before, .. } => {
            offset_nanos(before)
        }
    }
}

/// The instant of wall time `t` (ns, may be 24:00) on local date `day`:
/// gap → the transition instant, fold → the earlier instant.
fn resolve(cal: &BusinessCalendar, day: i64, t: i64) -> i128 {
    let (day, t) = if t >= DAY {
        (day + 1, t - DAY)
    } else {
        (day, t)
    };
    let wall = i128::from(day) * DAY128 + i128::from(t);
    let Some(dt) = civil_datetime(day, t) else {
        return wall;
    };
    match cal.tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => wall - offset_nanos(offset),
        AmbiguousOffset::Gap { before, after } => {
            // `wall - after` lies before the transition, so the first
            // transition after it is the one that opened this gap.
            let early = to_timestamp(wall - offset_nanos(after));
            match cal.tz.following(early).next() {
                Some(tr) => tr.timestamp().as_nanosecond(),
                None => wall - offset_nanos(before),
            }
        }
        AmbiguousOffset::Fold { before, after } => {
            (wall - offset_nanos(before)).min(wall - offset_nanos(after))
        }
    }
}

/// The business intervals of an exact (transition) date as instants,
/// dropping any a gap swallowed whole.
fn exact_intervals(cal: &BusinessCalendar, day: i64) -> impl Iterator<Item = (i128, i128)> + '_ {
    cal.tables.intervals[weekday(day)]
        .iter()
        .map(move |&(s, e)| (resolve(cal, day, s), resolve(cal, day, e)))
        .filter(|(s, e)| s < e)
}

fn run_bounds(first: i64, end: i64, offset: i128) -> (i128, i128) {
    (
        i128::from(first) * DAY128 - offset,
        i128::from(end) * DAY128 - offset,
    )
}

pub(crate) fn next_business_instant(cal: &BusinessCalendar, at: Timestamp) -> Timestamp {
    let a = at.as_nanosecond();
    let mut cur = Cursor::at(cal, at);
    while let Some(seg) = cur.next_segment() {
        match seg {
            Segment::Run { first, end, offset } => {
                let (r0, r1) = run_bounds(first, end, offset);
                let p = a.max(r0);
                if p >= r1 {
                    continue;
                }
                let wd0 = weekday(first);
                let g = cal.tables.run_g(wd0, (p - r0) as i64);
                let total = cal.tables.run_g(wd0, (r1 - r0) as i64);
                if total > g {
                    // One nanosecond into business time, then step back.
                    let w = cal.tables.run_inverse(wd0, g + 1);
                    return to_timestamp(r0 + i128::from(w) - 1);
                }
            }
            Segment::Exact { day } => {
                for (s, e) in exact_intervals(cal, day) {
                    if e > a {
                        return to_timestamp(s.max(a));
                    }
                }
            }
            Segment::Skip { .. } => {}
        }
    }
    Timestamp::MAX
}

pub(crate) fn add_business_time(
    cal: &BusinessCalendar,
    start: Timestamp,
    duration: SignedDuration,
) -> Timestamp {
    let mut rem = duration.as_nanos();
    if rem <= 0 {
        return next_business_instant(cal, start);
    }
    let s = start.as_nanosecond();
    let mut cur = Cursor::at(cal, start);
    while let Some(seg) = cur.next_segment() {
        match seg {
            Segment::Run { first, end, offset } => {
                let (r0, r1) = run_bounds(first, end, offset);
                let p = s.max(r0);
                if p >= r1 {
                    continue;
                }
                let wd0 = weekday(first);
                let g = cal.tables.run_g(wd0, (p - r0) as i64);
                let total = cal.tables.run_g(wd0, (r1 - r0) as i64);
                let avail = i128::from(total - g);
                if rem <= avail {
                    // rem <= avail < 2^63, so the cast is lossless.
                    let w = cal.tables.run_inverse(wd0, g + rem as i64);
                    return to_timestamp(r0 + i128::from(w));
                }
                rem -= avail;
            }
            Segment::Exact { day } => {
                for (a, b) in exact_intervals(cal, day) {
                    let a = a.max(s);
                    if b > a {
                        if rem <= b - a {
                            return to_timestamp(a + rem);
                        }
                        rem -= b - a;
                    }
                }
            }
            Segment::Skip { .. } => {}
        }
    }
    Timestamp::MAX
}

pub(crate) fn business_time_between(
    cal: &BusinessCalendar,
    a: Timestamp,
    b: Timestamp,
) -> SignedDuration {
    if b <= a {
        return SignedDuration::ZERO;
    }
    let (an, bn) = (a.as_nanosecond(), b.as_nanosecond());
    let mut sum: i128 = 0;
    let mut cur = Cursor::at(cal, a);
    while let Some(seg) = cur.next_segment() {
        // No instant of a date can precede its midnight by more than the
        // largest offset; past that, nothing more can fall before `b`.
        if i128::from(seg.first_day()) * DAY128 - MAX_OFFSET >= bn {
            break;
        }
        match seg {
            Segment::Run { first, end, offset } => {
                let (r0, r1) = run_bounds(first, end, offset);
                let p = an.max(r0);
                let q = bn.min(r1);
                if q > p {
                    let wd0 = weekday(first);
                    sum += i128::from(
                        cal.tables.run_g(wd0, (q - r0) as i64)
                            - cal.tables.run_g(wd0, (p - r0) as i64),
                    );
                }
            }
            Segment::Exact { day } => {
                for (s, e) in exact_intervals(cal, day) {
                    let lo = s.max(an);
                    let hi = e.min(bn);
                    if hi > lo {
                        sum += hi - lo;
                    }
                }
            }
            Segment::Skip { .. } => {}
        }
    }
    SignedDuration::from_nanos_i128(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        for z in [-1_000_000, -719_468, -1, 0, 1, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2026, 3, 29),
            day_number(jiff::civil::date(2026, 3, 29))
        );
        // 2026-03-29 is a Sunday.
        assert_eq!(weekday(days_from_civil(2026, 3, 29)), 6);
    }

    #[test]
    fn next_yearly_skips_feb_29_outside_leap_years() {
        let t = Tables::new(
            &Default::default(),
            &[Holiday::Yearly { month: 2, day: 29 }],
        );
        assert_eq!(
            t.next_yearly(days_from_civil(2025, 3, 1)),
            Some(days_from_civil(2028, 2, 29))
        );
    }
}
