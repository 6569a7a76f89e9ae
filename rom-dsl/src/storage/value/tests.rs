//! Unit tests of the value encodings.

use super::*;

#[test]
fn integers_round_trip_their_extremes() {
    for v in [i64::MIN, -1, 0, i64::MAX] {
        assert_eq!(i64::decode(&v.encode()), Ok(v));
    }
    assert_eq!(u64::decode(&u64::MAX.encode()), Ok(u64::MAX));
    assert_eq!(i32::decode(&i32::MIN.encode()), Ok(i32::MIN));
}

#[test]
fn floats_round_trip_exactly() {
    for v in [
        0.1,
        -0.0,
        741.55,
        1e300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        1.0 / 3.0,
    ] {
        assert_eq!(
            f64::decode(&v.encode()).map(f64::to_bits),
            Ok(v.to_bits()),
            "{v}"
        );
    }
}

#[test]
fn scores_refuse_what_a_double_cannot_hold() {
    assert!(f64::INFINITY.score().is_err());
    assert!(f64::NEG_INFINITY.score().is_err());
    assert!(((1i64 << 53) + 1).score().is_err());
    assert!((1i64 << 53).score().is_ok());
}

#[test]
fn bounds_beyond_the_exact_scores_are_open_ends() {
    let e = MAX_EXACT_SCORE;
    assert_eq!(e.beyond_scores(), None);
    assert_eq!((-e).beyond_scores(), None);
    assert_eq!((e + 1).beyond_scores(), Some(Ordering::Greater));
    assert_eq!((-e - 1).beyond_scores(), Some(Ordering::Less));
    assert_eq!((e as u64 + 1).beyond_scores(), Some(Ordering::Greater));
    assert_eq!(u64::MAX.beyond_scores(), Some(Ordering::Greater));
    assert_eq!(i32::MIN.beyond_scores(), None);
    assert_eq!(f64::MAX.beyond_scores(), None);
    assert_eq!(
        score_bound(&(e + 1), (e + 1).score()),
        Ok(ScoreBound::AboveAll)
    );
    assert_eq!(score_bound(&e, e.score()), Ok(ScoreBound::At(e as f64)));
    assert!(score_bound(&f64::NAN, f64::NAN.score()).is_err());
}

#[test]
fn strings_reject_invalid_utf8() {
    assert!(String::decode(&[0xff, 0xfe]).is_err());
    assert_eq!("ÉCOLE".to_string().folded_bytes(), "école".as_bytes());
}

#[cfg(all(feature = "chrono", feature = "time"))]
mod time_and_chrono {
    //! The `time` columns write the chrono columns' bytes and scores.
    use super::*;
    use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
    use time::{Date, OffsetDateTime, Time};

    /// A few thousand instants spread over what both crates hold, with
    /// fractions of every length.
    fn instants() -> Vec<i128> {
        let mut out = vec![0, -1, 1, 999, 1_000, 1_000_000, -1_000_000_000];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // within years -5952..=9891: ±2.5e11 seconds
            let secs = (x % 500_000_000_000) as i128 - 250_000_000_000;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x >> 20) as i128 % 1000 * 1_000_000,
                2 => (x >> 20) as i128 % 1_000_000 * 1000,
                _ => (x >> 20) as i128 % 1_000_000_000,
            };
            out.push(secs * 1_000_000_000 + nanos);
        }
        out
    }

    #[test]
    fn date_times_are_stored_and_scored_as_chrono_does() {
        for n in instants() {
            let t = OffsetDateTime::from_unix_timestamp_nanos(n).expect("in range");
            let secs = n.div_euclid(1_000_000_000) as i64;
            let c = DateTime::<Utc>::from_timestamp(secs, n.rem_euclid(1_000_000_000) as u32)
                .expect("in range");
            assert_eq!(
                String::from_utf8_lossy(&t.encode()),
                String::from_utf8_lossy(&c.encode())
            );
            assert_eq!(OffsetDateTime::decode(&t.encode()), Ok(t));
            assert_eq!(t.score().ok(), c.score().ok(), "{c}");
            assert_eq!(t.beyond_scores(), c.beyond_scores());
            let (d, cd) = (t.date(), c.date_naive());
            assert_eq!(d.encode(), cd.encode());
            assert_eq!(Date::decode(&d.encode()), Ok(d));
            assert_eq!(d.score(), cd.score());
            let (tm, ct) = (t.time(), c.time());
            assert_eq!(tm.encode(), ct.encode());
            assert_eq!(Time::decode(&tm.encode()), Ok(tm));
            assert_eq!(tm.score(), ct.score());
        }
    }

    #[test]
    fn chrono_text_reads_as_time_and_offsets_become_utc() {
        let c = DateTime::parse_from_rfc3339("2024-02-29T23:30:00.5+05:30").expect("valid");
        let t = OffsetDateTime::decode(b"2024-02-29T23:30:00.5+05:30").expect("valid");
        assert_eq!(
            t.unix_timestamp_nanos(),
            i128::from(c.timestamp_nanos_opt().expect("in range"))
        );
        assert_eq!(t.encode(), b"2024-02-29T18:00:00.500Z");
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert!(NaiveDate::decode(&Date::MIN.encode()).is_ok());
        assert_eq!(Date::MIN.encode(), b"-9999-01-01");
        assert_eq!(
            Time::MAX.encode(),
            NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)
                .expect("valid")
                .encode()
        );
    }

    #[test]
    fn leap_seconds_and_bad_text_are_errors() {
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).expect("leap");
        assert_eq!(leap.encode(), b"23:59:60.500");
        assert!(Time::decode(&leap.encode()).is_err_and(|e| e.contains("leap second")));
        assert!(OffsetDateTime::decode(b"2016-12-31T23:59:60Z").is_err_and(|e| e.contains("leap")));
        for bad in [
            &b"2024-02-30T00:00:00Z"[..],
            b"2023-02-29",
            b"2024-01-01T24:00:00Z",
            b"2024-01-01T00:00:00",
            b"2024-01-01T00:00:00.Z",
            b"2024-01-01T00:00:00.1234567890Z",
            b"2024-01-01T00:00:00+24:00",
            b"2024-01-01T00:00:00Zx",
            b"10000-01-01T00:00:00Z",
        ] {
            assert!(
                OffsetDateTime::decode(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert!(Date::decode(bad).is_err());
        }
        assert!(Time::decode(b"12:00").is_err());
    }

    #[test]
    fn instants_past_the_last_utc_date_keep_their_instant() {
        let late = Date::MAX
            .with_hms(23, 0, 0)
            .expect("valid")
            .assume_offset(time::UtcOffset::from_hms(-5, 0, 0).expect("valid"));
        assert_eq!(late.encode(), b"+10000-01-01T04:00:00Z");
        let back = OffsetDateTime::decode(&late.encode()).expect("read back");
        assert_eq!(back, late);
        let early = Date::MIN
            .with_hms(1, 0, 0)
            .expect("valid")
            .assume_offset(time::UtcOffset::from_hms(5, 0, 0).expect("valid"));
        assert_eq!(early.encode(), b"-10000-12-31T20:00:00Z");
        assert_eq!(OffsetDateTime::decode(&early.encode()), Ok(early));
    }
}

#[cfg(feature = "decimal")]
mod decimal {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("a decimal")
    }

    #[test]
    fn decimals_are_stored_exactly_with_their_scale() {
        for s in [
            "0",
            "1.50",
            "-12.345",
            "79228162514264337593543950335",
            "-0.0000000000000000000000000001",
            "7922816251426433759354395033.5",
        ] {
            assert_eq!(Decimal::encode(&d(s)), s.as_bytes());
            let back = Decimal::decode(s.as_bytes()).expect("decodes");
            assert_eq!((back, back.scale()), (d(s), d(s).scale()));
        }
        let neg_zero = Decimal::from_str("-0.00").expect("valid");
        assert_eq!(neg_zero.encode(), b"0.00");
        assert_eq!(d("1.50").eq_bytes(), d("1.5").eq_bytes());
        assert_eq!(neg_zero.eq_bytes(), b"0");
        assert!(Decimal::decode(b"1e5").is_err());
        assert!(Decimal::decode(b"0.00000000000000000000000000001").is_err());
    }

    #[test]
    fn scaled_scores_are_exact_or_refused() {
        let score = |s: &str, k| Scaled::<()>::scaled_score(&d(s), k);
        let bound = |s: &str, k| Scaled::<()>::scaled_bound(&d(s), k);
        assert_eq!(score("12.34", 2), Ok(1234.0));
        assert_eq!(score("12.3400", 2), Ok(1234.0));
        assert_eq!(score("-0.01", 2), Ok(-1.0));
        assert!(score("12.345", 2).is_err());
        assert_eq!(score("90071992547409.92", 2), Ok(9_007_199_254_740_992.0));
        assert!(score("90071992547409.93", 2).is_err());
        assert!(score("-90071992547409.93", 2).is_err());
        assert!(score("79228162514264337593543950335", 28).is_err());
        assert_eq!(bound("1.005", 2), ScoreBound::After(100.0));
        assert_eq!(bound("-1.005", 2), ScoreBound::After(-101.0));
        assert_eq!(bound("90071992547409.925", 2), ScoreBound::AboveAll);
        assert_eq!(bound("-90071992547409.925", 2), ScoreBound::BelowAll);
        assert_eq!(
            bound("-90071992547409.915", 2),
            ScoreBound::After(-9_007_199_254_740_992.0)
        );
        assert_eq!(
            bound("79228162514264337593543950335", 28),
            ScoreBound::AboveAll
        );
        assert_eq!(
            bound("-79228162514264337593543950335", 28),
            ScoreBound::BelowAll
        );
    }
}
