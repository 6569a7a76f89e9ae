//! `chrono` date and time columns (feature `chrono`).

use super::{EqKey, Scored, Value, utf8};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};

impl Value for DateTime<Utc> {
    const TYPE_NAME: &'static str = "DateTime<Utc>";
    fn encode(&self) -> Vec<u8> {
        self.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            .into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(utf8(bytes)?)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| format!("not an RFC 3339 date-time: {e}"))
    }
    fn beyond_scores(&self) -> Option<std::cmp::Ordering> {
        super::beyond_exact(i128::from(self.timestamp_micros()))
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for DateTime<Utc> {}
/// Scored by microseconds since 1970 (exact within ±285 years).
#[diagnostic::do_not_recommend]
impl Scored for DateTime<Utc> {
    fn score(&self) -> Result<f64, String> {
        let us = self.timestamp_micros();
        if us.unsigned_abs() > super::MAX_EXACT_SCORE as u64 {
            return Err(format!("{self} is too far from 1970 for a numeric index"));
        }
        Ok(us as f64)
    }
}

impl Value for NaiveDate {
    const TYPE_NAME: &'static str = "NaiveDate";
    fn encode(&self) -> Vec<u8> {
        self.format("%Y-%m-%d").to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        NaiveDate::parse_from_str(utf8(bytes)?, "%Y-%m-%d")
            .map_err(|e| format!("not a YYYY-MM-DD date: {e}"))
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for NaiveDate {}
/// Scored by days since 1970-01-01.
#[diagnostic::do_not_recommend]
impl Scored for NaiveDate {
    fn score(&self) -> Result<f64, String> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("no epoch")?;
        Ok((*self - epoch).num_days() as f64)
    }
}

impl Value for NaiveTime {
    const TYPE_NAME: &'static str = "NaiveTime";
    fn encode(&self) -> Vec<u8> {
        self.format("%H:%M:%S%.f").to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        NaiveTime::parse_from_str(utf8(bytes)?, "%H:%M:%S%.f")
            .map_err(|e| format!("not an HH:MM:SS time: {e}"))
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for NaiveTime {}
/// Scored by nanoseconds since midnight.
#[diagnostic::do_not_recommend]
impl Scored for NaiveTime {
    fn score(&self) -> Result<f64, String> {
        Ok(f64::from(self.num_seconds_from_midnight()) * 1e9 + f64::from(self.nanosecond()))
    }
}
