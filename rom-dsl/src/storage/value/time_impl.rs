//! `time` date and time columns (feature `time`).
//!
//! Stored, scored and indexed exactly as the chrono columns are
//! (`chrono_impl.rs`), byte for byte, so that a row written through a chrono
//! model reads through a `time` model and the other way round, and their
//! unique, equality and numeric index entries are the same:
//!
//! | `time` | chrono | stored | score |
//! |---|---|---|---|
//! | `OffsetDateTime` | `DateTime<Utc>` | RFC 3339 in UTC, `2023-11-14T22:13:20.123456Z` | microseconds since 1970 |
//! | `Date` | `NaiveDate` | `2024-02-29` | days since 1970-01-01 |
//! | `Time` | `NaiveTime` | `23:59:59.999999999` | nanoseconds since midnight |
//!
//! Fractions of a second are written with 0, 3, 6 or 9 digits, the fewest
//! that hold the value; a year outside 0..=9999 has a sign and at least four
//! digits (`-0044-03-15`). chrono has no `PrimitiveDateTime` column (its
//! `NaiveDateTime` is not a column type), so neither does this feature.
//!
//! `time` has no leap seconds: a value chrono stored with second 60
//! (`23:59:60.5Z`) is a decode error here, never a silently moved instant.
//! An `OffsetDateTime` is stored as its instant in UTC, so the offset it had
//! is not kept (it compares equal: `OffsetDateTime`'s `==` compares instants);
//! it is read back at offset zero, except an instant whose UTC date lies past
//! year 9999 or before -9999 (possible from a local time near those ends),
//! which is read back at the widest offset (±23:59:59) that keeps it
//! representable.

use super::{EqKey, MAX_EXACT_SCORE, Scored, Value, beyond_exact, utf8};
use std::cmp::Ordering;
use std::fmt::Write as _;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// 1970-01-01 as a Julian day.
const EPOCH_JULIAN_DAY: i32 = 2_440_588;
const NANOS: i128 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u8, day as u8)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, as chrono's `%Y-%m-%d` writes it.
fn write_date(out: &mut String, year: i64, month: u8, day: u8) {
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        let _ = write!(out, "{year:+05}");
    }
    let _ = write!(out, "-{month:02}-{day:02}");
}

/// `HH:MM:SS` and the fraction with 0, 3, 6 or 9 digits, as chrono writes it.
fn write_time(out: &mut String, secs: u32, nano: u32) {
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if nano == 0 {
    } else if nano.is_multiple_of(1_000_000) {
        let _ = write!(out, ".{:03}", nano / 1_000_000);
    } else if nano.is_multiple_of(1_000) {
        let _ = write!(out, ".{:06}", nano / 1_000);
    } else {
        let _ = write!(out, ".{nano:09}");
    }
}

/// A reader of the stored text.
struct Text<'a> {
    s: &'a [u8],
    at: usize,
}

impl Text<'_> {
    fn eat(&mut self, set: &[u8]) -> Option<u8> {
        let b = *self.s.get(self.at)?;
        set.contains(&b).then(|| {
            self.at += 1;
            b
        })
    }
    /// `min..=max` ASCII digits, and how many there were.
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.at;
        let mut v: i64 = 0;
        while self.at - start < max {
            match self.s.get(self.at) {
                Some(b) if b.is_ascii_digit() => v = v * 10 + i64::from(b - b'0'),
                _ => break,
            }
            self.at += 1;
        }
        let n = self.at - start;
        (n >= min).then_some((v, n))
    }
    fn two(&mut self) -> Option<u8> {
        self.digits(2, 2).map(|(v, _)| v as u8)
    }
    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    /// `[+-]YYYY-MM-DD` (a valid date).
    fn date(&mut self) -> Option<(i64, u8, u8)> {
        let sign = self.eat(b"+-");
        // four digits, or a sign and four to six (chrono's years beyond 0..=9999)
        let (y, _) = self.digits(4, if sign.is_some() { 6 } else { 4 })?;
        let year = if sign == Some(b'-') { -y } else { y };
        self.eat(b"-")?;
        let month = self.two()?;
        self.eat(b"-")?;
        let day = self.two()?;
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some((year, month, day))
    }

    /// `HH:MM:SS[.f]`: seconds since midnight and nanoseconds. Second 60
    /// (a leap second) is an error of its own.
    fn time(&mut self) -> Option<Result<(u32, u32), String>> {
        let h = self.two()?;
        self.eat(b":")?;
        let m = self.two()?;
        self.eat(b":")?;
        let s = self.two()?;
        let mut nano = 0;
        if self.eat(b".").is_some() {
            let (f, n) = self.digits(1, 9)?;
            nano = (f * 10i64.pow(9 - n as u32)) as u32;
        }
        if h >= 24 || m >= 60 || s > 60 {
            return None;
        }
        if s == 60 {
            return Some(Err(LEAP.to_owned()));
        }
        Some(Ok((
            u32::from(h) * 3600 + u32::from(m) * 60 + u32::from(s),
            nano,
        )))
    }
}

const LEAP: &str = "a leap second (second 60), which the `time` crate cannot represent";

impl Value for OffsetDateTime {
    const TYPE_NAME: &'static str = "OffsetDateTime";
    fn encode(&self) -> Vec<u8> {
        // from the instant, not `to_offset(UTC)`, which has no UTC date for
        // an instant just past year 9999 written at a negative offset
        let n = self.unix_timestamp_nanos();
        let secs = n.div_euclid(NANOS) as i64;
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let mut out = String::with_capacity(32);
        write_date(&mut out, year, month, day);
        out.push('T');
        write_time(
            &mut out,
            secs.rem_euclid(86_400) as u32,
            n.rem_euclid(NANOS) as u32,
        );
        out.push('Z');
        out.into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let bad = || {
            format!(
                "not an RFC 3339 date-time: {:?}",
                String::from_utf8_lossy(bytes)
            )
        };
        let mut t = Text { s: bytes, at: 0 };
        let (year, month, day) = t.date().ok_or_else(bad)?;
        t.eat(b"Tt ").ok_or_else(bad)?;
        let (secs, nano) = t.time().ok_or_else(bad)??;
        let offset = match t.eat(b"Zz+-").ok_or_else(bad)? {
            b'Z' | b'z' => 0,
            sign => {
                let h = t.two().ok_or_else(bad)?;
                t.eat(b":").ok_or_else(bad)?;
                let m = t.two().ok_or_else(bad)?;
                if h > 23 || m > 59 {
                    return Err(bad());
                }
                let o = i64::from(h) * 3600 + i64::from(m) * 60;
                if sign == b'-' { -o } else { o }
            }
        };
        if !t.done() {
            return Err(bad());
        }
        let utc = days_from_civil(year, month, day) * 86_400 + i64::from(secs) - offset;
        from_nanos(i128::from(utc) * NANOS + i128::from(nano))
    }
    fn beyond_scores(&self) -> Option<Ordering> {
        beyond_exact(self.unix_timestamp_nanos().div_euclid(1000))
    }
}

/// The instant `n` nanoseconds after 1970 at offset zero, or, for an instant
/// whose UTC date `time` cannot hold, at the widest offset that holds it.
fn from_nanos(n: i128) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(n) {
        return Ok(t);
    }
    let widest = 23 * 3600 + 59 * 60 + 59;
    let off_secs: i32 = if n > 0 { -widest } else { widest };
    let off = UtcOffset::from_whole_seconds(off_secs).map_err(|e| e.to_string())?;
    let local = OffsetDateTime::from_unix_timestamp_nanos(n + i128::from(off_secs) * NANOS)
        .map_err(|_| "a date-time beyond the years the `time` crate holds (±9999)".to_owned())?;
    Ok(local.replace_offset(off))
}

#[diagnostic::do_not_recommend]
impl EqKey for OffsetDateTime {}
/// Scored by microseconds since 1970 (exact within ±285 years), as chrono's
/// `DateTime<Utc>`.
#[diagnostic::do_not_recommend]
impl Scored for OffsetDateTime {
    fn score(&self) -> Result<f64, String> {
        let us = self.unix_timestamp_nanos().div_euclid(1000);
        if us.unsigned_abs() > MAX_EXACT_SCORE as u128 {
            return Err(format!("{self} is too far from 1970 for a numeric index"));
        }
        Ok(us as f64)
    }
}

impl Value for Date {
    const TYPE_NAME: &'static str = "Date";
    fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(11);
        write_date(
            &mut out,
            i64::from(self.year()),
            u8::from(self.month()),
            self.day(),
        );
        out.into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let s = utf8(bytes)?;
        let mut t = Text { s: bytes, at: 0 };
        let (year, month, day) = t
            .date()
            .filter(|_| t.done())
            .ok_or_else(|| format!("not a YYYY-MM-DD date: {s:?}"))?;
        let year = i32::try_from(year).map_err(|e| e.to_string())?;
        let month = Month::try_from(month).map_err(|e| e.to_string())?;
        Date::from_calendar_date(year, month, day).map_err(|e| format!("{s:?}: {e}"))
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for Date {}
/// Scored by days since 1970-01-01, as chrono's `NaiveDate`.
#[diagnostic::do_not_recommend]
impl Scored for Date {
    fn score(&self) -> Result<f64, String> {
        Ok(f64::from(self.to_julian_day() - EPOCH_JULIAN_DAY))
    }
}

impl Value for Time {
    const TYPE_NAME: &'static str = "Time";
    fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(18);
        write_time(&mut out, seconds(self), self.nanosecond());
        out.into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let s = utf8(bytes)?;
        let mut t = Text { s: bytes, at: 0 };
        let (secs, nano) = t
            .time()
            .filter(|_| t.done())
            .ok_or_else(|| format!("not an HH:MM:SS time: {s:?}"))??;
        Time::from_hms_nano(
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
            nano,
        )
        .map_err(|e| e.to_string())
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for Time {}
/// Scored by nanoseconds since midnight, as chrono's `NaiveTime`.
#[diagnostic::do_not_recommend]
impl Scored for Time {
    fn score(&self) -> Result<f64, String> {
        Ok(f64::from(seconds(self)) * 1e9 + f64::from(self.nanosecond()))
    }
}

fn seconds(t: &Time) -> u32 {
    u32::from(t.hour()) * 3600 + u32::from(t.minute()) * 60 + u32::from(t.second())
}
