//! Units of work: a [`Transaction`] reads rows of the models of one
//! placement, holds the changes made to them, and writes every insert, update
//! and delete in one atomic call, after checking that every row it read is
//! still as read. [`retry`] runs one again after a conflict. The book's
//! "Units of work" chapter walks through them.

pub use crate::dsl::retry::retry;
#[cfg(feature = "tokio")]
pub use crate::dsl::retry::retry_async;
pub use crate::dsl::transaction::{Committed, Incremented, Inserted, Transaction};
pub use crate::error::{RowChange, RowConflict};
