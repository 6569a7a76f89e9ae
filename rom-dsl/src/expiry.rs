//! Rows that expire. A model declared `#[rom(expires)]` (or
//! `#[rom(expires(ttl = "30m"))]`, with a default time to live) has rows
//! with a deadline on the server's clock: from that moment the row is gone
//! for every read (get, queries, counts, pages, preloads), its key and its
//! unique values are free for new rows, and it is reclaimed (deleted with
//! its index entries, applying on_delete rules) by [`sweep`], by
//! [`spawn_sweeper`]'s task, and a few at a time by writes of the model.
//! The book's "Expiry" chapter walks through it.

pub use crate::dsl::expiry::{Expiring, ExpiryMethods};
pub use crate::dsl::sweep::{SWEEP_BATCH, Swept, sweep, sweep_plan};
#[cfg(feature = "tokio")]
pub use crate::dsl::sweep::{spawn_sweeper, sweep_async};
