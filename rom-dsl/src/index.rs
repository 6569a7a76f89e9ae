//! Columns and the capabilities their indexes give them.
//!
//! `#[derive(Model)]` makes a unit struct per column (`users::email`) that
//! implements [`Column`], plus one marker trait per thing its index can answer.
//! Query methods require the marker, so asking a column for something its index
//! cannot do is a compile error that names the column and the attribute to add.

use crate::model::Model;
use crate::value::Value;

/// A column of a model, as a type: `users::email`.
pub trait Column: Copy + Send + Sync + 'static {
    /// The model the column belongs to.
    type Model: Model;
    /// The column's value type (`T` for a field of type `T` or `Option<T>`).
    type Value: Value;
    /// Position in the model's schema.
    const INDEX: usize;
    /// The field name.
    const NAME: &'static str;
    /// The declared field type (`T` or `Option<T>`).
    type Field: crate::value::Field<Inner = Self::Value>;
    /// The bytes an equality or unique index is keyed by (generated).
    #[doc(hidden)]
    fn eq_key(v: &Self::Value, fold: crate::model::Fold) -> Vec<u8>;
    /// The score of a value in the numeric index (generated).
    #[doc(hidden)]
    fn score(v: &Self::Value) -> Result<f64, String>;
}

/// The column can be filtered with `eq` and `eq_any`: it has an equality index,
/// a numeric index or a unique constraint.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no index that can answer an equality filter",
    label = "`{Self}` is not indexed for `eq`",
    note = "add `#[rom(index(eq))]` (or `unique`, or `index(numeric)` for numbers) to this field of the model"
)]
pub trait EqFilterable: Column {}

/// The column can be filtered by ranges (`gt`, `ge`, `lt`, `le`, `between`): it
/// has a numeric index.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no numeric index, so it cannot be filtered by a range",
    label = "`{Self}` is not indexed for ranges",
    note = "add `#[rom(index(numeric))]` to this field of the model (equality indexes answer only `eq`)"
)]
pub trait RangeFilterable: Column {}

/// The column can order a query: it has a numeric index.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` has no numeric index, so a query cannot be ordered by it",
    label = "`{Self}` cannot order a query",
    note = "add `#[rom(index(numeric))]` to this field of the model"
)]
pub trait Sortable: Column {}

/// A table marker: `users::table`, the starting point of every query.
pub trait Table: Copy + Send + Sync + 'static {
    /// The model the table holds.
    type Model: Model;
}
