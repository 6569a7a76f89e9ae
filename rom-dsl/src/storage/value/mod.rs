//! Column value types.
//! Public as `rom_dsl::value` (`src/value.rs`).

use std::borrow::Cow;
use std::cmp::Ordering;

/// A type that can be stored in a column: encoded to bytes for the row hash and
/// decoded back.
///
/// ```
/// use rom_dsl::value::Value;
/// assert_eq!(42i64.encode(), b"42");
/// assert_eq!(i64::decode(b"-7").unwrap(), -7);
/// assert!(i64::decode(b"seven").is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a rom column",
    label = "not a column type",
    note = "column types are `i32`, `i64`, `u32`, `u64`, `f64`, `bool`, `String`, `Vec<u8>`, `Json<T>` (any serde type, stored as JSON), `DateTime<Utc>`, `NaiveDate`, `NaiveTime` (feature `chrono`), `OffsetDateTime`, `Date`, `Time` (feature `time`), `Decimal` (feature `decimal`) and `Uuid` (feature `uuid`), each optionally in an `Option`",
    note = "store other serde types as JSON in a `rom::Json` column: `Json<{Self}>`"
)]
pub trait Value: Sized + Clone + PartialEq + Send + Sync + 'static {
    /// A short name of the type, used in error messages.
    const TYPE_NAME: &'static str;
    /// The bytes stored in the row hash.
    fn encode(&self) -> Vec<u8>;
    /// Parses stored bytes; the error string says what was wrong.
    fn decode(bytes: &[u8]) -> Result<Self, String>;
    /// For a value too large in magnitude for a numeric index (`i64::MIN`,
    /// `u64::MAX`, an infinity...): whether it lies below
    /// ([`Ordering::Less`]) or above ([`Ordering::Greater`]) every value an
    /// index can hold. `None` for every other value, NaN included. A query
    /// bound on such a value is an open end, or matches nothing.
    ///
    /// ```
    /// use rom_dsl::value::Value;
    /// use std::cmp::Ordering;
    /// assert_eq!(i64::MIN.beyond_scores(), Some(Ordering::Less));
    /// assert_eq!(f64::INFINITY.beyond_scores(), Some(Ordering::Greater));
    /// assert_eq!(5i64.beyond_scores(), None);
    /// assert_eq!(f64::NAN.beyond_scores(), None);
    /// ```
    fn beyond_scores(&self) -> Option<Ordering> {
        None
    }
}

/// A type that can be a sorted-set score, so that it can carry a numeric index
/// (equality, ranges and ordering).
///
/// Scores are IEEE doubles: NaN and infinities are refused, and integers must fit
/// in 53 bits to keep their exact value. (This is about stored values: as a
/// query bound, every value but NaN is accepted, see [`score_bound`].)
///
/// ```
/// use rom_dsl::value::Scored;
/// assert_eq!(3i32.score(), Ok(3.0));
/// assert!(f64::NAN.score().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a sorted-set score, so it cannot have a numeric index",
    label = "this type has no numeric index",
    note = "numeric indexes take `i32`, `i64`, `u32`, `u64` (with `checked_u53`), `f64`, `bool`, the chrono and `time` date and time types and `Decimal` (with `scale = N`); for text use `index(eq)` (exact matches) or `index(sort)` (ordering)"
)]
pub trait Scored: Value {
    /// The score stored in the sorted set, or why this value cannot be one.
    fn score(&self) -> Result<f64, String>;
}

/// A type whose values compare exactly, so that it can be the key of an equality
/// index or a unique constraint.
///
/// ```
/// use rom_dsl::value::EqKey;
/// assert_eq!("Ab".to_string().eq_bytes(), b"Ab");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an equality or unique key",
    label = "values of this type have no exact key",
    note = "for `f64`: a float column is indexed with `index(numeric)`, which also answers `eq`; it cannot be `unique` or have `index(eq)`",
    note = "for `Json<T>`: JSON text has no canonical form (one map can be written in many orders), so a `Json` column cannot be `unique` or have `index(eq)`; keep the field to match on in a column of its own"
)]
pub trait EqKey: Value {
    /// The bytes the index is keyed by (by default the stored bytes).
    fn eq_bytes(&self) -> Vec<u8> {
        self.encode()
    }
    /// The bytes of the case-insensitive key: for text, full Unicode case
    /// folding of the canonical form ([`crate::text::fold`]); the same bytes
    /// for every other type.
    fn folded_bytes(&self) -> Vec<u8> {
        self.eq_bytes()
    }
}

/// A text type: it can carry full-text, prefix, suffix and sort indexes.
///
/// ```
/// use rom_dsl::value::Text;
/// assert_eq!("abc".to_string().as_text(), "abc");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not text, so it cannot have a text, prefix, suffix or sort index",
    label = "not a text column",
    note = "full-text, prefix, suffix and sort indexes take `String` columns; numbers order with `index(numeric)`"
)]
pub trait Text: Value {
    /// The text.
    fn as_text(&self) -> &str;
}
#[diagnostic::do_not_recommend]
impl Text for String {
    fn as_text(&self) -> &str {
        self
    }
}

/// The words of a text as a full-text index holds them (kept here for
/// compatibility; the rule lives in [`crate::text`]).
pub use crate::text::words;

/// Escapes text for a lexicographic index member: every NUL becomes
/// `\0\xFE`, so that `\0\0` can end the value, the order of values is kept,
/// and no escaped byte can be taken for the start of a character (`\xFE`
/// never occurs in UTF-8).
///
/// ```
/// assert_eq!(rom_dsl::value::lex_escape("a\0b"), b"a\0\xFEb");
/// ```
pub fn lex_escape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text.as_bytes() {
        out.push(b);
        if b == 0 {
            out.push(0xFE);
        }
    }
    out
}

/// The characters of `text` in reverse order (a suffix index holds these).
///
/// ```
/// assert_eq!(rom_dsl::value::reversed("añb"), "bña");
/// ```
pub fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}

/// How a struct field maps onto a column: `T` is a required column, `Option<T>`
/// a nullable one (a null is an absent hash field).
///
/// ```
/// use rom_dsl::value::Field;
/// assert_eq!(Some(5i64).to_stored(), Some(b"5".to_vec()));
/// assert_eq!(None::<i64>.to_stored(), None);
/// ```
pub trait Field: Sized + Clone + Send + Sync + 'static {
    /// The value type of the column (`T` for both `T` and `Option<T>`).
    type Inner: Value;
    /// True for `Option<T>`.
    const NULLABLE: bool;
    /// The stored bytes, `None` for a null.
    fn to_stored(&self) -> Option<Vec<u8>>;
    /// The value, `None` for a null.
    fn inner(&self) -> Option<&Self::Inner>;
    /// Builds the field from its stored bytes (`None`: the hash field is absent).
    /// Returns `Ok(None)` when a required field is absent, so that the caller can
    /// apply the column's default or report the missing field.
    fn from_stored(bytes: Option<&[u8]>) -> Result<Option<Self>, String>;
}

impl<T: Value> Field for T {
    type Inner = T;
    const NULLABLE: bool = false;
    fn to_stored(&self) -> Option<Vec<u8>> {
        Some(self.encode())
    }
    fn inner(&self) -> Option<&T> {
        Some(self)
    }
    fn from_stored(bytes: Option<&[u8]>) -> Result<Option<Self>, String> {
        bytes.map(T::decode).transpose()
    }
}

impl<T: Value> Field for Option<T> {
    type Inner = T;
    const NULLABLE: bool = true;
    fn to_stored(&self) -> Option<Vec<u8>> {
        self.as_ref().map(Value::encode)
    }
    fn inner(&self) -> Option<&T> {
        self.as_ref()
    }
    fn from_stored(bytes: Option<&[u8]>) -> Result<Option<Self>, String> {
        match bytes {
            None => Ok(Some(None)),
            Some(b) => T::decode(b).map(|v| Some(Some(v))),
        }
    }
}

/// Converts a query argument into a column's value type: `&str` for a `String`
/// column, `i32` literals for an `i64` column, and so on.
///
/// ```
/// use rom_dsl::value::IntoValue;
/// let s: String = "x".into_value();
/// assert_eq!(s, "x");
/// ```
#[diagnostic::on_unimplemented(
    message = "expected a value of type `{T}` for this column, found `{Self}`",
    label = "wrong value type for this column",
    note = "the column holds `{T}` values: pass a value of that type or a reference to one (a `String` column also takes a `&str`)"
)]
pub trait IntoValue<T> {
    /// The converted value.
    fn into_value(self) -> T;
}

#[diagnostic::do_not_recommend]
impl<T: Value> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}
#[diagnostic::do_not_recommend]
impl<T: Value> IntoValue<T> for &T {
    fn into_value(self) -> T {
        self.clone()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<String> for Cow<'_, str> {
    fn into_value(self) -> String {
        self.into_owned()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<Vec<u8>> for &[u8] {
    fn into_value(self) -> Vec<u8> {
        self.to_vec()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<i64> for i32 {
    fn into_value(self) -> i64 {
        self.into()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<i64> for u32 {
    fn into_value(self) -> i64 {
        self.into()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<f64> for i32 {
    fn into_value(self) -> f64 {
        self.into()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<f64> for f32 {
    fn into_value(self) -> f64 {
        self.into()
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"))
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            fn encode(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
            fn decode(bytes: &[u8]) -> Result<Self, String> {
                utf8(bytes)?
                    .parse()
                    .map_err(|e| format!("not a valid {}: {e}", stringify!($t)))
            }
            fn beyond_scores(&self) -> Option<Ordering> {
                // i32 and u32 always fit; i64 and u64 beyond ±2^53 do not
                beyond_exact(i128::from(*self))
            }
        }
        #[diagnostic::do_not_recommend]
        impl EqKey for $t {}
    )*};
}
int_value!(i32, i64, u32, u64);

macro_rules! exact_score {
    ($($t:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl Scored for $t {
            fn score(&self) -> Result<f64, String> {
                Ok(*self as f64)
            }
        }
    )*};
}
exact_score!(i32, u32);

/// An integer column type that `increment` can add to on the server:
/// `i32`, `i64`, `u32`, `u64` (nullable too: a null counts as 0). An
/// increment's result must lie within the type's range and within
/// ±(2^53 − 1), where every integer is exact for the server's arithmetic.
///
/// ```
/// use rom_dsl::value::Counter;
/// assert_eq!(<u32 as Counter>::MIN, 0);
/// assert_eq!(<i32 as Counter>::MAX, i64::from(i32::MAX));
/// assert_eq!(<u64 as Counter>::MAX, (1 << 53) - 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an integer type, so its column cannot be incremented",
    label = "`add` needs an integer column",
    note = "increments add to `i32`, `i64`, `u32` and `u64` columns (or `Option`s of them); for other types, load the record, change the field and save it"
)]
pub trait Counter: Value {
    /// The smallest value an increment may produce.
    const MIN: i64;
    /// The largest value an increment may produce.
    const MAX: i64;
}

/// The largest magnitude an increment works with: 2^53 − 1.
pub(crate) const MAX_COUNTER: i64 = (1 << 53) - 1;

macro_rules! counter {
    ($($t:ty: $min:expr, $max:expr);*) => {$(
        #[diagnostic::do_not_recommend]
        impl Counter for $t {
            const MIN: i64 = $min;
            const MAX: i64 = $max;
        }
    )*};
}
counter!(
    i32: i32::MIN as i64, i32::MAX as i64;
    u32: 0, u32::MAX as i64;
    i64: -MAX_COUNTER, MAX_COUNTER;
    u64: 0, MAX_COUNTER
);

/// The largest integer a score holds exactly (2^53).
pub const MAX_EXACT_SCORE: i64 = 1 << 53;

#[diagnostic::do_not_recommend]
impl Scored for i64 {
    fn score(&self) -> Result<f64, String> {
        if self.unsigned_abs() > MAX_EXACT_SCORE as u64 {
            Err(format!(
                "{self} is outside ±2^53 and cannot be stored exactly in a numeric index"
            ))
        } else {
            Ok(*self as f64)
        }
    }
}

/// Where an integer lies relative to the scores a numeric index holds exactly
/// (±2^53): `None` inside, `Less` below, `Greater` above.
fn beyond_exact(v: i128) -> Option<Ordering> {
    let max = i128::from(MAX_EXACT_SCORE);
    if v > max {
        Some(Ordering::Greater)
    } else if v < -max {
        Some(Ordering::Less)
    } else {
        None
    }
}

/// A query bound on a numeric index, as the index sees it.
///
/// ```
/// use rom_dsl::value::{ScoreBound, Scored, score_bound};
/// assert_eq!(score_bound(&7i64, 7i64.score()), Ok(ScoreBound::At(7.0)));
/// assert_eq!(score_bound(&i64::MIN, i64::MIN.score()), Ok(ScoreBound::BelowAll));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreBound {
    /// A score an index can hold, exactly.
    At(f64),
    /// Below every value an index can hold: as a low bound, an open end; as a
    /// high bound or an equality, no row.
    BelowAll,
    /// Above every value an index can hold: as a high bound, an open end; as a
    /// low bound or an equality, no row.
    AboveAll,
    /// Strictly between this score and the next one a stored value can have
    /// (a bound of 1.005 on a `Decimal` index of scale 2, whose scores are
    /// the integers 100 and 101): as a low bound, above this score; as a high
    /// bound, up to it; as an equality, no row.
    After(f64),
}

/// Classifies a query bound `v` whose column scores it as `score`: an exact
/// score, or, for a value the index cannot hold because of its magnitude
/// (see [`Value::beyond_scores`]), below or above every stored value. Any
/// other refused value (NaN) keeps its error.
///
/// ```
/// use rom_dsl::value::{ScoreBound, score_bound};
/// assert_eq!(score_bound(&2.5f64, Ok(2.5)), Ok(ScoreBound::At(2.5)));
/// assert_eq!(score_bound(&f64::NEG_INFINITY, Err("inf".into())), Ok(ScoreBound::BelowAll));
/// assert_eq!(score_bound(&u64::MAX, Err("too large".into())), Ok(ScoreBound::AboveAll));
/// assert!(score_bound(&f64::NAN, Err("NaN".into())).is_err());
/// ```
pub fn score_bound<V: Value>(v: &V, score: Result<f64, String>) -> Result<ScoreBound, String> {
    match (score, v.beyond_scores()) {
        (Ok(s), _) => Ok(ScoreBound::At(s)),
        (Err(_), Some(Ordering::Less)) => Ok(ScoreBound::BelowAll),
        (Err(_), Some(Ordering::Greater)) => Ok(ScoreBound::AboveAll),
        (Err(e), _) => Err(e),
    }
}

/// The score of a `u64` in a column declared `index(numeric, checked_u53)`:
/// values above 2^53 are refused rather than rounded.
///
/// ```
/// assert_eq!(rom_dsl::value::score_u53(&7), Ok(7.0));
/// assert!(rom_dsl::value::score_u53(&u64::MAX).is_err());
/// ```
pub fn score_u53(v: &u64) -> Result<f64, String> {
    if *v > MAX_EXACT_SCORE as u64 {
        Err(format!(
            "{v} is above 2^53 and cannot be stored exactly in a numeric index"
        ))
    } else {
        Ok(*v as f64)
    }
}

impl Value for f64 {
    const TYPE_NAME: &'static str = "f64";
    fn encode(&self) -> Vec<u8> {
        float_repr(*self).into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let s = utf8(bytes)?;
        match s {
            "inf" | "+inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => s.parse().map_err(|e| format!("not a valid f64: {e}")),
        }
    }
    fn beyond_scores(&self) -> Option<Ordering> {
        // an index holds finite doubles: the infinities lie beyond them all
        match *self {
            f64::INFINITY => Some(Ordering::Greater),
            f64::NEG_INFINITY => Some(Ordering::Less),
            _ => None,
        }
    }
}

#[diagnostic::do_not_recommend]
impl Scored for f64 {
    fn score(&self) -> Result<f64, String> {
        if self.is_finite() {
            Ok(*self)
        } else {
            Err(format!("{self} cannot be stored in a numeric index"))
        }
    }
}

/// The shortest text that parses back to exactly `x` (Rust's and Redis's parsers
/// agree on it), in plain notation for ordinary magnitudes.
///
/// ```
/// assert_eq!(rom_dsl::value::float_repr(741.55), "741.55");
/// assert_eq!(rom_dsl::value::float_repr(1e300), "1e300");
/// assert_eq!(rom_dsl::value::float_repr(f64::NEG_INFINITY), "-inf");
/// ```
pub fn float_repr(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 {
            "+inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = x.abs();
    if a == 0.0 || (1e-5..1e15).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

impl Value for bool {
    const TYPE_NAME: &'static str = "bool";
    fn encode(&self) -> Vec<u8> {
        if *self { b"1".to_vec() } else { b"0".to_vec() }
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        match bytes {
            b"1" => Ok(true),
            b"0" => Ok(false),
            _ => Err(format!(
                "not a bool (expected 1 or 0): {:?}",
                String::from_utf8_lossy(bytes)
            )),
        }
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for bool {}
#[diagnostic::do_not_recommend]
impl Scored for bool {
    fn score(&self) -> Result<f64, String> {
        Ok(if *self { 1.0 } else { 0.0 })
    }
}

impl Value for String {
    const TYPE_NAME: &'static str = "String";
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        utf8(bytes).map(str::to_owned)
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for String {
    /// Canonically equivalent texts are one key ([`crate::text::exact`]).
    fn eq_bytes(&self) -> Vec<u8> {
        crate::text::exact(self).into_owned().into_bytes()
    }
    fn folded_bytes(&self) -> Vec<u8> {
        crate::text::fold(self).into_bytes()
    }
}

impl Value for Vec<u8> {
    const TYPE_NAME: &'static str = "Vec<u8>";
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        Ok(bytes.to_vec())
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for Vec<u8> {}

/// A column holding any serde type as JSON.
///
/// ```
/// use rom_dsl::value::{Json, Value};
/// let v = Json(vec![1, 2, 3]);
/// assert_eq!(v.encode(), b"[1,2,3]");
/// assert_eq!(Json::<Vec<i32>>::decode(b"[4]").unwrap(), Json(vec![4]));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Json<T>(pub T);

impl<T> Value for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + PartialEq + Send + Sync + 'static,
{
    const TYPE_NAME: &'static str = "Json";
    fn encode(&self) -> Vec<u8> {
        // Serialising plain data to a Vec cannot fail except for maps with
        // non-string keys; those are written as null rather than panicking.
        serde_json::to_vec(&self.0).unwrap_or_else(|_| b"null".to_vec())
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes)
            .map(Json)
            .map_err(|e| format!("invalid JSON: {e}"))
    }
}

#[cfg(feature = "uuid")]
mod uuid_impl;

#[cfg(feature = "chrono")]
mod chrono_impl;

#[cfg(feature = "time")]
mod time_impl;

#[cfg(feature = "decimal")]
mod decimal_impl;

mod scaled;
pub use scaled::Scaled;

/// A type whose equality and unique keys can ignore case: text. The derive
/// requires it of a column marked `index(eq, case_insensitive)` or
/// `unique(case_insensitive)`, so that the option is refused, not ignored, on
/// a type with no case (`Vec<u8>`, numbers, `bool`, `Uuid`...). `C` is the
/// column, named in the error.
///
/// ```
/// use rom_dsl::text::Fold;
/// use rom_dsl::value::FoldsCase;
/// let v = "Ann".to_string();
/// assert_eq!(FoldsCase::<()>::fold_key(&v, Fold::CaseInsensitive), b"ann");
/// assert_eq!(FoldsCase::<()>::fold_key(&v, Fold::Exact), b"Ann");
/// ```
#[diagnostic::on_unimplemented(
    message = "`case_insensitive` on column `{C}`, of type `{Self}`: only text has a case to ignore",
    label = "`{C}` is not a text column",
    note = "`case_insensitive` is for `String` columns; remove it from the field `{C}`, whose index then compares values exactly"
)]
pub trait FoldsCase<C>: EqKey {
    /// The key under `fold`: exact bytes, or case-folded ones.
    fn fold_key(&self, fold: crate::storage::model::Fold) -> Vec<u8> {
        match fold {
            crate::storage::model::Fold::Exact => self.eq_bytes(),
            crate::storage::model::Fold::CaseInsensitive => self.folded_bytes(),
        }
    }
}
#[diagnostic::do_not_recommend]
impl<C> FoldsCase<C> for String {}

#[cfg(test)]
mod tests;
