//! The store's wall clock: China time, a fixed UTC+8 (China has kept no daylight saving since
//! 1991, so no time-zone database is needed), as the platforms write it (`yyyy-MM-dd HH:mm:ss`)
//! and as the screens and the day's business use it (the date, the time of day).

use crate::model::Timestamp;

const OFFSET_SECS: i64 = 8 * 3600;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A moment as read on a wall clock in China.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Civil {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day of the month, 1-31.
    pub day: u32,
    /// Seconds since local midnight, 0-86399.
    pub secs_of_day: u32,
}

impl Civil {
    /// Hour of the day, 0-23.
    pub fn hour(&self) -> u32 {
        self.secs_of_day / 3600
    }
    /// Minute of the hour.
    pub fn minute(&self) -> u32 {
        self.secs_of_day % 3600 / 60
    }
    /// Second of the minute.
    pub fn second(&self) -> u32 {
        self.secs_of_day % 60
    }
}

/// The wall-clock reading of a moment in China.
pub fn civil_of(t: Timestamp) -> Civil {
    let secs = t.0.div_euclid(1000) + OFFSET_SECS;
    let (year, month, day) = civil(secs.div_euclid(86_400));
    Civil {
        year,
        month,
        day,
        secs_of_day: secs.rem_euclid(86_400) as u32,
    }
}

/// The business day of a moment as a number (days since 1970-01-01 in China time): day sequence
/// numbers restart when it changes, at midnight in China, as the platforms' do.
pub fn day_number(t: Timestamp) -> i64 {
    (t.0.div_euclid(1000) + OFFSET_SECS).div_euclid(86_400)
}

/// The first moment of a business day (midnight in China).
pub fn day_start(day: i64) -> Timestamp {
    Timestamp((day * 86_400 - OFFSET_SECS) * 1000)
}

/// Reads `yyyy-MM-dd` as a business day; `None` when it is not a real date.
pub fn parse_day(text: &str) -> Option<i64> {
    let t = parse(&format!("{} 00:00:00", text.trim()))?;
    let day = day_number(t);
    // `2026-02-31` parses as a moment in March: refuse it rather than report another day.
    (date(t) == text.trim()).then_some(day)
}

/// `2011-07-20 11:10:04` for a moment, in China time.
pub fn format(t: Timestamp) -> String {
    format!("{} {}", date(t), time_of_day(t))
}

/// `2011-07-20`: the business day of a moment, in China time.
pub fn date(t: Timestamp) -> String {
    let c = civil_of(t);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// `11:10:04`: the time of day of a moment, in China time.
pub fn time_of_day(t: Timestamp) -> String {
    let c = civil_of(t);
    format!("{:02}:{:02}:{:02}", c.hour(), c.minute(), c.second())
}

/// `20110720-111004` for a moment, in China time: for file names that sort by time.
pub fn compact(t: Timestamp) -> String {
    format(t)
        .chars()
        .filter_map(|c| match c {
            '-' | ':' => None,
            ' ' => Some('-'),
            c => Some(c),
        })
        .collect()
}

/// Reads `yyyy-MM-dd HH:mm:ss` (China time); `None` when it is not that.
pub fn parse(text: &str) -> Option<Timestamp> {
    let b = text.trim().as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(&b[r]).ok()?.parse().ok()
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, s) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + s - OFFSET_SECS;
    Some(Timestamp(secs * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_day_starts_at_midnight_in_china_which_is_16_utc() {
        let day = parse_day("2026-11-29").unwrap();
        let start = day_start(day);
        // 2026-11-28 16:00:00 UTC.
        assert_eq!(start.0, 1_795_881_600_000);
        assert_eq!(format(start), "2026-11-29 00:00:00");
        assert_eq!(day_number(Timestamp(start.0 - 1)), day - 1);
        assert_eq!(day_number(start), day);
        assert_eq!(parse_day("2026-02-31"), None);
        assert_eq!(parse_day("2026-2-3"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn china_time_round_trips_and_knows_the_offset() {
        // 2011-07-20 03:10:04 UTC is 11:10:04 in Beijing.
        let t = Timestamp(1_311_131_404_000);
        assert_eq!(format(t), "2011-07-20 11:10:04");
        assert_eq!(
            (date(t).as_str(), time_of_day(t).as_str()),
            ("2011-07-20", "11:10:04")
        );
        // A minute before midnight in Beijing is still that day; a minute after is the next.
        let late = Timestamp(1_311_177_540_000);
        assert_eq!(format(late), "2011-07-20 23:59:00");
        assert_eq!(date(Timestamp(late.0 + 120_000)), "2011-07-21");
        assert_eq!(civil_of(late).hour(), 23);
        assert_eq!(parse("2011-07-20 11:10:04"), Some(t));
        assert_eq!(format(Timestamp(0)), "1970-01-01 08:00:00");
        for ms in [0i64, 951_782_400_000, 1_709_164_800_000, 4_102_444_799_000] {
            assert_eq!(parse(&format(Timestamp(ms))), Some(Timestamp(ms)));
        }
        assert_eq!(parse("2024-02-30 10:00"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
