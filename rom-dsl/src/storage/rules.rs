//! Validation rules of columns (`#[rom(length(..))]`, `range(..)`,
//! `pattern = ".."`, `validate = path`): checked by the generated
//! `Model::validate`, which every write calls before it sends anything. The
//! one place where each rule is defined: what it measures, what passes, and
//! its message.

use crate::error::{Error, Result};
use crate::storage::model::Model;
use crate::value::{Text, Value};
use std::fmt::{Debug, Display};
use std::sync::OnceLock;

/// What a `length` rule measures: the characters (Unicode scalar values) of
/// text, the bytes of a byte string.
///
/// ```
/// use rom_dsl::__private::rules::HasLength;
/// assert_eq!("été".to_string().rule_length(), 3);
/// assert_eq!(vec![0u8, 1].rule_length(), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`length` does not apply to `{Self}`",
    label = "`length` counts the characters of text or the bytes of a `Vec<u8>`",
    note = "for numbers use `range(min = .., max = ..)`; for anything else `validate = your_function`"
)]
pub trait HasLength {
    /// The length the rule compares.
    fn rule_length(&self) -> usize;
    /// What is counted, for messages.
    const UNIT: &'static str;
}

impl HasLength for String {
    fn rule_length(&self) -> usize {
        self.chars().count()
    }
    const UNIT: &'static str = "characters";
}

impl HasLength for Vec<u8> {
    fn rule_length(&self) -> usize {
        self.len()
    }
    const UNIT: &'static str = "bytes";
}

fn broken<M: Model>(column: &str, rule: &str, what: String) -> Error {
    Error::Validation {
        model: M::SCHEMA.name,
        column: column.to_owned(),
        reason: format!("{what} (rule `{rule}`)"),
    }
}

/// `length(min, max)`: both inclusive.
pub fn length<M: Model, T: HasLength>(
    column: &str,
    rule: &str,
    v: &T,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<()> {
    let n = v.rule_length();
    if let Some(min) = min.filter(|&m| n < m) {
        return Err(broken::<M>(
            column,
            rule,
            format!("{n} {} is below the minimum {min}", T::UNIT),
        ));
    }
    if let Some(max) = max.filter(|&m| n > m) {
        return Err(broken::<M>(
            column,
            rule,
            format!("{n} {} is above the maximum {max}", T::UNIT),
        ));
    }
    Ok(())
}

/// `range(min, max)`: both inclusive; a value that compares with neither
/// (NaN) is outside.
pub fn range<M: Model, T: PartialOrd + Debug>(
    column: &str,
    rule: &str,
    v: &T,
    min: Option<T>,
    max: Option<T>,
) -> Result<()> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    // NaN compares with nothing: outside
    let below = min
        .as_ref()
        .is_some_and(|m| !matches!(v.partial_cmp(m), Some(Greater | Equal)));
    let above = max
        .as_ref()
        .is_some_and(|m| !matches!(v.partial_cmp(m), Some(Less | Equal)));
    if below || above {
        return Err(broken::<M>(
            column,
            rule,
            format!("{v:?} is outside the range"),
        ));
    }
    Ok(())
}

/// A compiled `pattern`, anchored at both ends: the whole value must match.
pub type Pattern = OnceLock<std::result::Result<regex::Regex, String>>;

/// `pattern = ".."`: the whole text must match the regular expression.
pub fn pattern<M: Model, T: Text>(
    column: &str,
    rule: &str,
    v: &T,
    cache: &Pattern,
    source: &str,
) -> Result<()> {
    let re = cache
        .get_or_init(|| regex::Regex::new(&format!("^(?:{source})$")).map_err(|e| e.to_string()));
    match re {
        Ok(re) if re.is_match(v.as_text()) => Ok(()),
        Ok(_) => Err(broken::<M>(
            column,
            rule,
            format!("{:?} does not match the pattern", v.as_text()),
        )),
        Err(e) => Err(broken::<M>(
            column,
            rule,
            format!("the pattern does not compile: {e}"),
        )),
    }
}

/// `validate = path`: the function's error, as the reason.
pub fn custom<M: Model, E: Display>(
    column: &str,
    rule: &str,
    outcome: std::result::Result<(), E>,
) -> Result<()> {
    outcome.map_err(|e| broken::<M>(column, rule, e.to_string()))
}

/// What an increment of a column must respect of its rules (see
/// `CounterMethods::add`): the bounds of a `range` rule, and a rule the
/// server cannot check (then increments are refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterRules {
    /// A `range` rule's minimum.
    pub min: Option<i64>,
    /// A `range` rule's maximum.
    pub max: Option<i64>,
    /// A rule other than `range`, as written.
    pub unchecked: Option<&'static str>,
}

/// A `range` bound as an integer, when the column's values are integers
/// (their stored form is decimal).
///
/// ```
/// use rom_dsl::__private::rules::as_i64;
/// assert_eq!(as_i64::<u32>(7), Some(7));
/// assert_eq!(as_i64::<f64>(0.5), None);
/// ```
pub fn as_i64<T: Value>(v: T) -> Option<i64> {
    std::str::from_utf8(&v.encode()).ok()?.parse().ok()
}
