//! `rust_decimal::Decimal` columns (feature `decimal`).
//!
//! Stored as the decimal's text (`Display`: `-12.50`, its scale kept, never
//! exponent notation), so that every value round-trips exactly; negative zero
//! is stored as zero (they are equal decimals). Equality and unique keys use
//! the normalized text (`12.5`), so that `12.50` and `12.5`, equal as
//! decimals, are one key.
//!
//! A numeric index needs a declared scale, `index(numeric, scale = N)`: the
//! score is the integer value × 10^N, exact up to ±2^53 (about ±9.007 × 10^15
//! at scale 0, ±90 071 992 547 409.91 at scale 2), so that equality, ranges
//! and ordering are exact. A value with more than N decimal places, or beyond
//! that bound, is refused at save. A query bound is compared exactly whatever
//! its places: at scale 2, `gt(1.005)` finds 1.01 and up, `eq(1.005)` nothing.

use super::{EqKey, MAX_EXACT_SCORE, Scaled, ScoreBound, Value, utf8};
use rust_decimal::Decimal;

impl Value for Decimal {
    const TYPE_NAME: &'static str = "Decimal";
    fn encode(&self) -> Vec<u8> {
        let mut d = *self;
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        d.to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let s = utf8(bytes)?;
        Decimal::from_str_exact(s).map_err(|e| format!("not an exact decimal: {s:?}: {e}"))
    }
}

#[diagnostic::do_not_recommend]
impl EqKey for Decimal {
    /// The normalized text: `1.50` and `1.5` are one key.
    fn eq_bytes(&self) -> Vec<u8> {
        self.normalize().encode()
    }
}

/// `d` × 10^`scale` rounded down, and whether that is exact; `None` when it
/// overflows an `i128` (far beyond what an index holds).
fn scaled(d: &Decimal, scale: u32) -> Option<(i128, bool)> {
    let (m, e) = (d.mantissa(), d.scale());
    if scale >= e {
        let n = m.checked_mul(10i128.checked_pow(scale - e)?)?;
        Some((n, true))
    } else {
        let p = 10i128.checked_pow(e - scale)?;
        Some((m.div_euclid(p), m.rem_euclid(p) == 0))
    }
}

#[diagnostic::do_not_recommend]
impl<C> Scaled<C> for Decimal {
    fn scaled_score(&self, scale: u32) -> Result<f64, String> {
        match scaled(self, scale) {
            Some((n, true)) if n.unsigned_abs() <= MAX_EXACT_SCORE as u128 => Ok(n as f64),
            Some((_, false)) => Err(format!(
                "{self} has more than {scale} decimal places, the scale of its numeric index"
            )),
            _ => Err(format!(
                "{self} is beyond ±2^53 × 10^-{scale} and cannot be stored exactly in a numeric index of scale {scale}"
            )),
        }
    }
    fn scaled_bound(&self, scale: u32) -> ScoreBound {
        let max = i128::from(MAX_EXACT_SCORE);
        match scaled(self, scale) {
            None if self.is_sign_negative() => ScoreBound::BelowAll,
            None => ScoreBound::AboveAll,
            Some((n, _)) if n < -max => ScoreBound::BelowAll,
            Some((n, exact)) if n > max || (n == max && !exact) => ScoreBound::AboveAll,
            Some((n, true)) => ScoreBound::At(n as f64),
            Some((n, false)) => ScoreBound::After(n as f64),
        }
    }
}
