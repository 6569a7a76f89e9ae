//! Columns and the capabilities their indexes give them.
//!
//! `#[derive(Model)]` makes a unit struct per column (`users::email`) that
//! implements [`Column`], plus one marker trait per thing its index can answer.
//! Query methods require the marker, so asking a column for something its index
//! cannot do is a compile error that names the column and the attribute to add.

pub use crate::dsl::columns::*;
