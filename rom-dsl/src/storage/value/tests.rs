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
