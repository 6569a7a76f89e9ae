//! Numeric indexes on a declared scale: `index(numeric, scale = N)` on a
//! `Decimal` column (feature `decimal`) scores each value as the integer
//! value × 10^N.

use super::{ScoreBound, Value};

/// A type whose numeric index scores each value as the integer
/// value × 10^`scale`, the scale being declared on the column:
/// `#[rom(index(numeric, scale = 2))]`. Implemented for
/// `rust_decimal::Decimal` (feature `decimal`). `C` is the column, named in
/// the error when the type is not one of these.
///
/// The score is exact: a value with more decimal places than the scale, or
/// whose scaled value lies beyond ±2^53, is refused at save (a `Validation`
/// error, nothing written). As a query bound every value is accepted and
/// compared exactly (see [`ScoreBound::After`]).
///
/// ```
/// # #[cfg(feature = "decimal")] {
/// use rom_dsl::value::{Scaled, ScoreBound};
/// use rust_decimal::Decimal;
/// let price = Decimal::new(1999, 2); // 19.99
/// assert_eq!(Scaled::<()>::scaled_score(&price, 2), Ok(1999.0));
/// assert!(Scaled::<()>::scaled_score(&price, 1).is_err()); // two places, scale 1
/// assert_eq!(Scaled::<()>::scaled_bound(&price, 1), ScoreBound::After(199.0));
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`scale` on column `{C}`, of type `{Self}`: only `Decimal` columns have a declared scale",
    label = "`{C}` is not a `Decimal` column",
    note = "`index(numeric, scale = N)` is for `rust_decimal::Decimal` columns (feature `decimal`); other numeric types take `index(numeric)` without `scale`"
)]
pub trait Scaled<C>: Value {
    /// The score of a stored value: value × 10^`scale`, or why it cannot be
    /// one exactly.
    fn scaled_score(&self, scale: u32) -> Result<f64, String>;
    /// Where a query bound lies among the scores of the index.
    fn scaled_bound(&self, scale: u32) -> ScoreBound;
}
