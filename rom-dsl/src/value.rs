//! Column value types: how each Rust type is stored in a row hash, and which
//! index kinds it can take part in.
//!
//! Every column type implements [`Value`] (bytes in, bytes out). Types that can be
//! a sorted-set score implement [`Scored`]; types that can be an exact key (an
//! equality index or a unique constraint) implement [`EqKey`]. A column declared
//! with an index its type cannot support fails to compile with a message naming
//! the type and the fix.

pub use crate::storage::value::*;
