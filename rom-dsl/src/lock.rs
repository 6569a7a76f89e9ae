//! Advisory row locks: a [`Lease`] on one row, with an expiry on the
//! server's clock and a fencing token that a transaction's commit checks
//! ([`Transaction::fence`](crate::transaction::Transaction::fence)). The book's
//! "Units of work" chapter has a worked example.

pub use crate::dsl::lock::{Lease, lease_millis};
